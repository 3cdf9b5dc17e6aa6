/* http1_route.c -- http_route: a request path with its variable segments folded, so routes stay few */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/proto/http1_route.h"

#define ROUTE_MAX_SEGMENTS 8

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			return false;
		}
	}
	return true;
}

/* letters, digits and "._~!$&'()*+,;=:@-" (RFC 3986 pchar without the %-escape) */
static bool plain_char(char c)
{
	static const uint64_t mark[2] = {
		/* 0x20-0x3f: ! $ & ' ( ) * + , - . 0-9 : ; = */
		(1ull << '!') | (1ull << '$') | (1ull << '&') | (1ull << '\'') | (1ull << '(') | (1ull << ')') |
			(1ull << '*') | (1ull << '+') | (1ull << ',') | (1ull << '-') | (1ull << '.') |
			(0x3ffull << '0') | (1ull << ':') | (1ull << ';') | (1ull << '='),
		/* 0x40-0x7f: @ A-Z _ a-z ~ */
		(1ull << ('@' - 64)) | (0x3ffffffull << ('A' - 64)) | (1ull << ('_' - 64)) |
			(0x3ffffffull << ('a' - 64)) | (1ull << ('~' - 64)),
	};
	unsigned char u = (unsigned char)c;

	return u < 128 && (mark[u >> 6] >> (u & 63) & 1);
}

/* does segment @s look like a value rather than a name? */
static bool variable(const char *s, size_t n)
{
	size_t digits = 0, letters = 0, hex = 0;

	if (n > 64 || is_uuid(s, n))
		return true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!plain_char(c))
			return true; /* %-escapes, e-mails' '@' is plain but see below */
		if (c >= '0' && c <= '9')
			digits++;
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letters++;
		hex += is_hex(c);
	}
	if (memchr(s, '@', n))
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
	if (end - p > 7 && (!strncmp(p, "http://", 7) || !strncmp(p, "https://", 8))) {
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
