/* http1_route.c -- http_route: a request path with its variable segments folded, so routes stay few */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/proto/http1_route.h"
#include "lib/texthash.h"

#define ROUTE_MAX_SEGMENTS 8

enum { C_PLAIN = 1, C_DIGIT = 2, C_LETTER = 4, C_HEX = 8 };

/* what route folding asks of a byte: plain is RFC 3986's pchar without the %-escape (letters, digits and
 * "._~!$&'()*+,;=:@-") */
static const uint8_t char_class[256] = {
	['0' ... '9'] = C_PLAIN | C_DIGIT | C_HEX,
	['a' ... 'f'] = C_PLAIN | C_LETTER | C_HEX,
	['g' ... 'z'] = C_PLAIN | C_LETTER,
	['A' ... 'F'] = C_PLAIN | C_LETTER | C_HEX,
	['G' ... 'Z'] = C_PLAIN | C_LETTER,
	['.'] = C_PLAIN,
	['_'] = C_PLAIN,
	['~'] = C_PLAIN,
	['!'] = C_PLAIN,
	['$'] = C_PLAIN,
	['&'] = C_PLAIN,
	['\''] = C_PLAIN,
	['('] = C_PLAIN,
	[')'] = C_PLAIN,
	['*'] = C_PLAIN,
	['+'] = C_PLAIN,
	[','] = C_PLAIN,
	[';'] = C_PLAIN,
	['='] = C_PLAIN,
	[':'] = C_PLAIN,
	['@'] = C_PLAIN,
	['-'] = C_PLAIN,
};

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!(char_class[(unsigned char)s[i]] & C_HEX)) {
			return false;
		}
	}
	return true;
}

/* does segment @s look like a value rather than a name? */
static bool variable(const char *s, size_t n)
{
	size_t digits = 0, letters = 0, hex = 0;
	bool at = false;

	if (n > 64 || is_uuid(s, n))
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned c = char_class[(unsigned char)s[i]];

		if (!(c & C_PLAIN))
			return true; /* %-escapes, e-mails' '@' is plain but see below */
		digits += (c & C_DIGIT) != 0;
		letters += (c & C_LETTER) != 0;
		hex += (c & C_HEX) != 0;
		at |= s[i] == '@';
	}
	if (at)
		return true;
	if (digits && digits == n)
		return true;
	if (n >= 8 && hex == n && digits)
		return true;
	if (n >= 16 && digits && letters)
		return true;
	if (n > 24 && digits)
		return true;
	return false;
}

int route__fold(const char *target, size_t len, char *out, size_t outsize)
{
	const char *p = target, *end;
	size_t o = 0;
	int nseg = 0;

	if (outsize < 2)
		return -1;
	end = p;
	while ((size_t)(end - target) < len && *end != '?' && *end != '#')
		end++;
	/* absolute form: skip scheme://authority */
	if (end - p > 7 && p[0] == 'h' && (!strncmp(p, "http://", 7) || !strncmp(p, "https://", 8))) {
		const char *host = p + (p[4] == ':' ? 7 : 8);

		p = host < end ? memchr(host, '/', end - host) : NULL;
		if (!p)
			p = end;
	}
	while (p < end) {
		const char *seg, *next;
		const char *text;
		size_t n, tn;

		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		seg = p;
		next = memchr(seg, '/', end - seg);
		if (!next)
			next = end;
		n = next - seg;
		if (nseg == ROUTE_MAX_SEGMENTS) {
			text = "{rest}";
			tn = 6;
			next = end;
		} else if (variable(seg, n)) {
			text = "{id}";
			tn = 4;
		} else {
			text = seg;
			tn = n;
		}
		if (o + 1 + tn + 1 > outsize)
			goto toolong;
		out[o++] = '/';
		memcpy(out + o, text, tn);
		o += tn;
		nseg++;
		p = next;
	}
	/* keep a trailing slash ("/api/" stays "/api/"), and "/" for an empty path */
	if (o == 0 || (p == end && end > target && end[-1] == '/' && nseg)) {
		if (o + 2 > outsize)
			goto toolong;
		out[o++] = '/';
	}
	out[o] = '\0';
	return (int)o;
toolong:
	out[0] = '/';
	out[1] = '\0';
	return -1;
}

int route__fold_memo(struct route_memo *m, const char *target, size_t len, char *out, size_t outsize)
{
	struct route_memo_entry *e;
	size_t n;
	uint64_t h;
	int rc;

	if (!m || len > ROUTE_MEMO_PATH_MAX || outsize < 2 || outsize > UINT32_MAX)
		return route__fold(target, len, out, outsize);
	h = texthash__final(texthash__step(TEXTHASH_SEED ^ outsize, target, len));
	e = &m->e[h % ROUTE_MEMO_SLOTS];
	if (e->hash == h && e->len == len && e->outsize == outsize && !memcmp(e->path, target, len)) {
		m->hits++;
		memcpy(out, e->route, strlen(e->route) + 1);
		return e->rc;
	}
	m->misses++;
	rc = route__fold(target, len, out, outsize);
	n = strlen(out);
	if (n < ROUTE_MEMO_ROUTE_MAX) {
		e->hash = h;
		e->len = len;
		e->outsize = outsize;
		e->rc = rc;
		memcpy(e->path, target, len);
		memcpy(e->route, out, n + 1);
	}
	return rc;
}
