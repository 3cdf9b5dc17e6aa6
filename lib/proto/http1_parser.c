/* http1_parser.c -- incremental HTTP/1.x message parser: bytes in, heads/headers/ends out, no I/O, survives garbage */
#include <stddef.h>
#include <string.h>

#include "lib/proto/http1_fields.h"
#include "lib/proto/http1_parser.h"

enum {
	ST_IDLE,       /* between messages: CR/LF skipped, the next byte starts a start line */
	ST_START,      /* collecting the start line */
	ST_HEADERS,    /* collecting header lines */
	ST_BODY,       /* @remaining body bytes */
	ST_BODY_EOF,   /* a response body that ends when the connection closes */
	ST_CHUNK_SIZE, /* collecting a chunk-size line */
	ST_CHUNK_DATA, /* @remaining chunk bytes */
	ST_CHUNK_CRLF, /* the CRLF after a chunk's data: collected as an (empty) line */
	ST_TRAILERS,   /* trailer lines after the last chunk */
	ST_UPGRADED,   /* 101 / CONNECT: the bytes are another protocol now */
	ST_ERROR,      /* garbage or lost framing: wait for a chunk start */
};

/* Could @line (so far) begin a message of @mode?  Checked as bytes arrive, so garbage is refused
 * after a few bytes instead of after a 1 KiB line. */
static bool prefix_plausible(const char *line, size_t n, uint8_t mode)
{
	static const char http[] = "HTTP/1.";
	size_t k = n < 7 ? n : 7, i = 0;

	if (mode != HTTP_REQUESTS) {
		while (i < k && line[i] == http[i])
			i++;
		if (i == k)
			return true;
	}
	if (mode == HTTP_RESPONSES)
		return false;
	for (i = 0; i < n; i++) {
		if (line[i] == ' ')
			return i > 0;
		if (i >= HTTP_METHOD_MAX - 1 || line[i] < 'A' || line[i] > 'Z')
			return false;
	}
	return true;
}

/* a new message: its fields cleared, its strings emptied (not their whole arrays: they are read as strings) */
static void begin(struct http_parser *p)
{
	struct http_msg *m = &p->msg;

	memset(m, 0, offsetof(struct http_msg, method));
	m->content_length = -1;
	m->method[0] = m->target[0] = m->host[0] = m->user_agent[0] = '\0';
	p->in_msg = true;
}

static void fail(struct http_parser *p)
{
	p->errors++;
	p->state = ST_ERROR;
	p->resync = true;
	p->in_msg = false;
	p->linelen = 0;
}

static void end(struct http_parser *p, const struct http_parser_cb *cb, void *ctx, bool incomplete)
{
	p->msg.incomplete = incomplete;
	p->messages++;
	p->in_msg = false;
	p->linelen = 0;
	p->state = ST_IDLE;
	if (cb && cb->on_end)
		cb->on_end(ctx, &p->msg);
	if (incomplete) {
		p->state = ST_ERROR;
		p->resync = true;
	}
}

/* "HTTP/1.x" at @s: the minor version digit, or -1 */
static int parse_version(const char *s, size_t n)
{
	if (n != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9')
		return -1;
	return s[7] - '0';
}

/* The start line @line (@n bytes, @cut: longer than HTTP_LINE_MAX) of a message on a direction in @mode.
 * With @m and @mode_out it is recorded; with NULL ones it is only checked (detection). */
static bool start_line(const char *line, size_t n, bool cut, uint8_t mode, struct http_msg *m, uint8_t *mode_out)
{
	const char *sp1, *sp2;
	int v;

	if (m)
		m->truncated |= cut;
	if (mode != HTTP_REQUESTS && n >= 12 && memcmp(line, "HTTP/1.", 7) == 0) {
		uint16_t status;

		if ((v = parse_version(line, 8)) < 0 || line[8] != ' ')
			return false;
		for (int i = 9; i < 12; i++)
			if (line[i] < '0' || line[i] > '9')
				return false;
		if (n > 12 && line[12] != ' ')
			return false;
		status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
		if (status < 100)
			return false;
		if (m) {
			m->status = status;
			m->version_minor = v;
			m->is_request = false;
			*mode_out = HTTP_RESPONSES;
		}
		return true;
	}
	if (mode == HTTP_RESPONSES)
		return false;
	sp1 = memchr(line, ' ', n);
	if (!sp1 || sp1 == line || sp1 - line >= HTTP_METHOD_MAX)
		return false;
	for (const char *c = line; c < sp1; c++)
		if (*c < 'A' || *c > 'Z')
			return false;
	sp2 = memchr(sp1 + 1, ' ', n - (sp1 + 1 - line));
	if (!sp2) {
		if (!cut) /* HTTP/0.9 or garbage */
			return false;
		sp2 = line + n; /* the version was cut off with the end of a long target */
		v = 1;
	} else if ((v = parse_version(sp2 + 1, n - (sp2 + 1 - line))) < 0) {
		return false;
	}
	if (sp2 == sp1 + 1)
		return false;
	for (const char *c = sp1 + 1; c < sp2; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	if (!m)
		return true;
	copy_field(m->method, sizeof(m->method), line, sp1 - line);
	copy_field(m->target, sizeof(m->target), sp1 + 1, sp2 - sp1 - 1);
	m->truncated |= (size_t)(sp2 - sp1 - 1) >= sizeof(m->target);
	m->version_minor = v;
	m->is_request = true;
	m->conn_close = v == 0;
	*mode_out = HTTP_REQUESTS;
	return true;
}

static bool parse_start(struct http_parser *p, const char *line, size_t n, bool cut)
{
	return start_line(line, n, cut, p->mode, &p->msg, &p->mode);
}

enum http_guess http__detect(const void *buf, size_t len)
{
	const char *s = buf, *e = s + len, *nl;
	size_t n, keep;

	while (s < e && (*s == '\r' || *s == '\n'))
		s++;
	if (s == e)
		return HTTP_GUESS_MAYBE; /* nothing yet (a parser skips these between messages) */
	nl = memchr(s, '\n', e - s);
	n = (nl ? nl : e) - s;
	keep = n < HTTP_LINE_MAX ? n : HTTP_LINE_MAX;
	if (!prefix_plausible(s, keep, HTTP_ANY))
		return HTTP_GUESS_NO;
	if (!nl)
		return HTTP_GUESS_MAYBE; /* a start line so far */
	if (keep && s[keep - 1] == '\r')
		keep--;
	return start_line(s, keep, keep >= HTTP_LINE_MAX - 1, HTTP_ANY, NULL, NULL) ? HTTP_GUESS_YES : HTTP_GUESS_NO;
}

static bool parse_header(struct http_parser *p, const char *line, size_t n, bool cut, const struct http_parser_cb *cb,
			 void *ctx)
{
	struct http_msg *m = &p->msg;
	const char *v, *e = line + n;
	size_t nlen = 0;
	enum field f;

	m->truncated |= cut;
	if (line[0] == ' ' || line[0] == '\t')
		return true; /* obsolete line folding: a continuation, ignored */
	/* the name: tchars up to the colon, four at a time while they last (one branch for four) */
	while (nlen + 4 <= n && (tchar[(unsigned char)line[nlen]] & tchar[(unsigned char)line[nlen + 1]] &
				 tchar[(unsigned char)line[nlen + 2]] & tchar[(unsigned char)line[nlen + 3]]))
		nlen += 4;
	while (nlen < n && is_tchar(line[nlen]))
		nlen++;
	if (!nlen || nlen == n || line[nlen] != ':')
		return false;
	f = field_of(line, nlen);
	if (f == H_OTHER && !(cb && cb->on_header))
		return true; /* a field nobody reads: its value is not looked at */
	v = line + nlen + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;

	switch (f) {
	case H_CONTENT_LENGTH: {
		uint64_t cl;

		if (!parse_u64(v, e - v, 10, &cl) || cl > INT64_MAX)
			return false;
		if (m->content_length >= 0 && (uint64_t)m->content_length != cl)
			return false; /* conflicting lengths: a smuggling attempt or garbage */
		m->content_length = cl;
		break;
	}
	case H_TRANSFER_ENCODING:
		transfer_codings(m, v, e - v, cut);
		break;
	case H_HOST:
		copy_field(m->host, sizeof(m->host), v, e - v);
		break;
	case H_USER_AGENT:
		copy_field(m->user_agent, sizeof(m->user_agent), v, e - v);
		break;
	case H_CONNECTION:
		connection_options(m, v, e - v);
		break;
	case H_EXPECT:
		m->expect_continue = expects_continue(v, e - v);
		break;
	case H_OTHER:
		break;
	}
	if (cb && cb->on_header) /* a cut value is no value: a prefix must not be passed on as if whole */
		cb->on_header(ctx, line, nlen, v, cut ? 0 : e - v);
	return true;
}

/* The head is complete: report it and frame the body. */
static void head_done(struct http_parser *p, const struct http_parser_cb *cb, void *ctx)
{
	struct http_msg *m = &p->msg;

	if (cb && cb->on_head)
		cb->on_head(ctx, m);
	p->linelen = 0;
	if (m->is_request) {
		if (strcmp(m->method, "CONNECT") == 0) {
			end(p, cb, ctx, false);
			p->state = ST_UPGRADED;
			return;
		}
		if (m->te && (!m->chunked || m->te_bad || m->version_minor == 0)) {
			/* RFC 9112 §6.3: the body length cannot be determined (the server answers 400 and
			 * closes); an HTTP/1.0 message with Transfer-Encoding has faulty framing (§6.1) */
			p->errors++;
			return end(p, cb, ctx, true);
		}
		if (m->te) {
			if (m->content_length >= 0)
				m->conn_close = true; /* TE overrides CL, and the server closes after it (§6.1) */
			p->state = ST_CHUNK_SIZE;
		} else if (m->content_length > 0) {
			p->state = ST_BODY;
			p->remaining = m->content_length;
		} else {
			end(p, cb, ctx, false);
		}
		return;
	}
	if (m->status == 101) {
		end(p, cb, ctx, false);
		p->state = ST_UPGRADED;
	} else if (m->status < 200 || m->no_body || m->status == 204 || m->status == 304) {
		end(p, cb, ctx, false);
	} else if (m->te) {
		/* chunked only as the final coding of an HTTP/1.1 response; else the body runs to close */
		p->state = m->chunked && !m->te_bad && m->version_minor ? ST_CHUNK_SIZE : ST_BODY_EOF;
	} else if (m->content_length >= 0) {
		if (m->content_length == 0) {
			end(p, cb, ctx, false);
		} else {
			p->state = ST_BODY;
			p->remaining = m->content_length;
		}
	} else {
		p->state = ST_BODY_EOF;
	}
}

/* A complete line (without CRLF) in the current line state. */
static void line_done(struct http_parser *p, const char *line, size_t n, bool cut, const struct http_parser_cb *cb,
		      void *ctx)
{
	uint64_t size;
	size_t k;

	switch (p->state) {
	case ST_START:
		if (!parse_start(p, line, n, cut))
			return fail(p);
		p->state = ST_HEADERS;
		break;
	case ST_HEADERS:
		if (n == 0)
			return head_done(p, cb, ctx);
		if (!parse_header(p, line, n, cut, cb, ctx))
			return fail(p);
		break;
	case ST_CHUNK_SIZE:
		for (k = 0; k < n && line[k] != ';' && line[k] != ' ' && line[k] != '\t'; k++)
			;
		if (!parse_u64(line, k, 16, &size) || size > (1ull << 40))
			return end(p, cb, ctx, true);
		if (size == 0) {
			p->state = ST_TRAILERS;
		} else {
			p->state = ST_CHUNK_DATA;
			p->remaining = size;
		}
		break;
	case ST_CHUNK_CRLF:
		if (n != 0)
			return end(p, cb, ctx, true);
		p->state = ST_CHUNK_SIZE;
		break;
	case ST_TRAILERS:
		if (n == 0)
			return end(p, cb, ctx, false);
		break;
	}
}

static bool line_state(uint8_t st)
{
	return st == ST_START || st == ST_HEADERS || st == ST_CHUNK_SIZE || st == ST_CHUNK_CRLF || st == ST_TRAILERS;
}

int http_parser__feed(struct http_parser *p, const void *buf, size_t len, bool chunk_start,
		      const struct http_parser_cb *cb, void *ctx)
{
	const char *s = buf, *e = s + len;
	uint64_t before = p->messages;

	if (p->state == ST_UPGRADED)
		return 0;
	if (p->state == ST_ERROR) {
		if (!chunk_start)
			return 0;
		p->state = ST_IDLE;
		p->resync = false;
	}
	while (s < e) {
		if (p->state == ST_IDLE) {
			while (s < e && (*s == '\r' || *s == '\n'))
				s++;
			if (s == e)
				break;
			begin(p);
			p->state = ST_START;
			if (cb && cb->on_begin)
				cb->on_begin(ctx);
			p->linelen = 0;
		}
		if (p->state == ST_BODY || p->state == ST_CHUNK_DATA) {
			uint64_t take = (uint64_t)(e - s) < p->remaining ? (uint64_t)(e - s) : p->remaining;

			s += take;
			p->remaining -= take;
			p->msg.body_bytes += take;
			if (p->remaining)
				break;
			if (p->state == ST_BODY)
				end(p, cb, ctx, false);
			else
				p->state = ST_CHUNK_CRLF;
			continue;
		}
		if (p->state == ST_BODY_EOF) {
			p->msg.body_bytes += e - s;
			s = e;
			break;
		}
		if (p->state == ST_UPGRADED || p->state == ST_ERROR)
			break;
		if (line_state(p->state)) {
			const char *nl = memchr(s, '\n', e - s), *line = p->line;
			const char *stop = nl ? nl : e;
			size_t n = stop - s, room = HTTP_LINE_MAX - p->linelen, keep = n < room ? n : room;
			bool cut;
			size_t ln;

			if (!p->linelen && nl) {
				/* the whole line is in this chunk: read where it lies, never copied */
				line = s;
				if (p->state == ST_START && !prefix_plausible(line, keep, p->mode)) {
					fail(p);
					break;
				}
				ln = keep;
			} else {
				memcpy(p->line + p->linelen, s, keep);
				if (p->state == ST_START && !prefix_plausible(p->line, p->linelen + keep, p->mode)) {
					fail(p);
					break;
				}
				cut = keep < n || (p->linelen + keep == HTTP_LINE_MAX && !nl);
				p->linelen += keep;
				if (!nl) {
					if (cut)
						p->linelen =
							HTTP_LINE_MAX; /* keep the prefix, drop the rest of the line */
					break;
				}
				ln = p->linelen;
			}
			s = nl + 1;
			if (ln && line[ln - 1] == '\r')
				ln--;
			cut = ln >= HTTP_LINE_MAX - 1;
			p->linelen = 0;
			line_done(p, line, ln, cut, cb, ctx);
		}
	}
	return (int)(p->messages - before);
}

void http_parser__gap(struct http_parser *p, uint64_t n, const struct http_parser_cb *cb, void *ctx)
{
	if (!n)
		return;
	switch (p->state) {
	case ST_BODY:
	case ST_CHUNK_DATA:
		if (n <= p->remaining) {
			p->remaining -= n;
			p->msg.body_bytes += n;
			if (!p->remaining) {
				if (p->state == ST_BODY)
					end(p, cb, ctx, false);
				else
					p->state = ST_CHUNK_CRLF;
			}
			return;
		}
		return end(p, cb, ctx, true);
	case ST_BODY_EOF:
		p->msg.body_bytes += n;
		return;
	case ST_CHUNK_SIZE:
	case ST_CHUNK_CRLF:
	case ST_TRAILERS:
		return end(p, cb, ctx, true);
	case ST_UPGRADED:
	case ST_ERROR:
		return;
	default: /* a head we cannot see */
		fail(p);
	}
}

void http_parser__close(struct http_parser *p, const struct http_parser_cb *cb, void *ctx)
{
	switch (p->state) {
	case ST_BODY_EOF:
		end(p, cb, ctx, false);
		break;
	case ST_BODY:
	case ST_CHUNK_SIZE:
	case ST_CHUNK_DATA:
	case ST_CHUNK_CRLF:
	case ST_TRAILERS:
		end(p, cb, ctx, true);
		break;
	default:
		break;
	}
	p->state = ST_IDLE;
	p->resync = false;
	p->in_msg = false;
	p->linelen = 0;
}

void http_parser__init(struct http_parser *p, enum http_mode mode)
{
	memset(p, 0, sizeof(*p) - sizeof(p->line));
	p->mode = mode;
	p->state = ST_IDLE;
	p->msg.content_length = -1;
}
