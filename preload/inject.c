/* inject.c -- the shim's pure byte logic: traceparent put into an outgoing HTTP/1.x request, a log line tagged */
#include <string.h>
#include <strings.h>

#include "lib/hex.h"
#include "lib/tracectx.h"
#include "preload/inject.h"

#define METHOD_MAX 15 /* http.h's HTTP_METHOD_MAX - 1 */

size_t inject__request_line(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n), *sp1, *sp2;
	size_t len, m;

	if (!nl || nl == s || nl[-1] != '\r')
		return 0;
	len = nl - s - 1; /* without CRLF */
	for (m = 0; m < len && s[m] >= 'A' && s[m] <= 'Z'; m++)
		;
	if (m == 0 || m > METHOD_MAX || m == len || s[m] != ' ')
		return 0;
	sp1 = s + m;
	for (sp2 = sp1 + 1; sp2<s + len && * sp2> ' ' && *sp2 < 0x7f; sp2++)
		;
	if (sp2 == sp1 + 1 || sp2 + 9 != s + len || *sp2 != ' ')
		return 0;
	if (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8))
		return 0;
	return len + 2;
}

/* @line (@n bytes, no line end) is the field @name: "name" OWS ":" */
static bool is_field(const char *line, size_t n, const char *name)
{
	size_t m = strlen(name);

	if (n <= m || strncasecmp(line, name, m))
		return false;
	while (m < n && (line[m] == ' ' || line[m] == '\t'))
		m++;
	return m < n && line[m] == ':';
}

/* "name:" with a token name, then no CR or NUL: a field line an HTTP/1.1 parser takes */
static bool field_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
			 (s[i] && strchr("!#$%&'*+-.^_`|~", s[i]))))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return false;
	for (; i < n; i++)
		if (s[i] == '\r' || s[i] == '\0')
			return false;
	return true;
}

/* a header value we may write: visible bytes, spaces and tabs, nothing else */
static size_t value_len(const char *v)
{
	size_t n = 0;

	if (!v)
		return 0;
	for (; v[n]; n++)
		if ((unsigned char)v[n] < ' ' && v[n] != '\t')
			return 0;
		else if (v[n] == 0x7f || n >= INJECT_HDR_MAX)
			return 0;
	return n;
}

static char *put_field(char *p, const char *name, size_t nlen, const char *v, size_t vlen)
{
	memcpy(p, name, nlen);
	memcpy(p + nlen, v, vlen);
	memcpy(p + nlen + vlen, "\r\n", 2);
	return p + nlen + vlen + 2;
}

bool inject__plan(struct inject_plan *p, const struct iovec *iov, int iovcnt, const char *head, size_t headlen,
		  const struct inject_ids *ids)
{
	bool has_state = false, has_baggage = false, ended = false;
	size_t line, off, total = 0, slen, blen;
	char *o;
	int k = 0;

	p->iovcnt = 0;
	p->line = p->need = p->hdrlen = 0;
	if (iovcnt < 1 || iovcnt > INJECT_IOV_MAX - 2 || !(line = inject__request_line(head, headlen)))
		return false;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return false;
		total += iov[i].iov_len;
	}
	if (headlen > total)
		return false;
	/* the header lines up to the empty line that ends the head, all in @head */
	for (off = line; off < headlen;) {
		const char *s = head + off, *nl = memchr(s, '\n', headlen - off);
		size_t n;

		if (!nl)
			break;
		n = nl - s;
		if (!n || s[n - 1] != '\r')
			return false; /* a bare LF: not a head we change */
		n--;
		off = nl - head + 1;
		if (n == 0) {
			ended = true;
			break;
		}
		if (!field_ok(s, n))
			return false; /* not a field line the parser takes: the head is left as it is */
		if (is_field(s, n, "traceparent"))
			return false;
		has_state |= is_field(s, n, "tracestate");
		has_baggage |= is_field(s, n, "baggage");
	}
	if (!ended)
		return false; /* the head does not end in this write: it would go out in pieces */
	slen = has_state ? 0 : value_len(ids->tracestate);
	blen = has_baggage ? 0 : value_len(ids->baggage);
	if (70 + (slen ? 14 + slen : 0) + (blen ? 11 + blen : 0) > sizeof(p->hdr))
		slen = blen = 0; /* too long to pass on: traceparent alone */
	off = 0;
	o = p->hdr;
	memcpy(o, "traceparent: ", 13);
	o += 13;
	o += tracectx__format_traceparent(o, sizeof(p->hdr) - 13, ids->trace_id, ids->span_id, ids->sampled);
	memcpy(o, "\r\n", 2); /* over its NUL */
	o += 2;
	if (slen)
		o = put_field(o, "tracestate: ", 12, ids->tracestate, slen);
	if (blen)
		o = put_field(o, "baggage: ", 9, ids->baggage, blen);
	p->hdrlen = o - p->hdr;
	p->line = line;
	p->need = line + p->hdrlen;
	/* the program's iovecs, the one holding the end of the request line split there */
	for (int i = 0; i < iovcnt; i++) {
		size_t len = iov[i].iov_len, first = line - off;

		if (off <= line && len >= first) {
			if (first) {
				p->iov[k].iov_base = iov[i].iov_base;
				p->iov[k++].iov_len = first;
			}
			p->iov[k].iov_base = p->hdr;
			p->iov[k++].iov_len = p->hdrlen;
			if (len > first) {
				p->iov[k].iov_base = (char *)iov[i].iov_base + first;
				p->iov[k++].iov_len = len - first;
			}
			off = SIZE_MAX; /* done: the rest as they are */
			continue;
		}
		p->iov[k++] = iov[i];
		if (off <= line)
			off += len;
	}
	p->iovcnt = k;
	return true;
}

ssize_t inject__count(const struct inject_plan *p, ssize_t r, bool *cut)
{
	*cut = false;
	if (r < 0 || (size_t)r <= p->line)
		return r;
	if ((size_t)r >= p->need)
		return r - (ssize_t)p->hdrlen;
	*cut = true;
	return (ssize_t)p->line;
}

size_t logtag__build(char *out, size_t size, const char *line, size_t n, const uint8_t trace_id[16],
		     const uint8_t span_id[8])
{
	char *p;

	if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1) || n > SIZE_MAX - LOGTAG_LEN ||
	    n + LOGTAG_LEN > size)
		return 0;
	memmove(out, line, n - 1);
	p = out + n - 1;
	memcpy(p, " trace_id=", 10);
	p = hex__put(p + 10, trace_id, 16);
	memcpy(p, " span_id=", 9);
	p = hex__put(p + 9, span_id, 8);
	*p++ = '\n';
	return p - out;
}
