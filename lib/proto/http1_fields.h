/* http1_fields.h -- the field values and header names http1_parser.c reads (RFC 9110 §5.6, RFC 9112 §6, §9.3):
 * tokens, lists, the few names the parser needs told apart by length.  Private to http1_parser.c: inline, pure. */
#ifndef OBSPROBE_HTTP1_FIELDS_H
#define OBSPROBE_HTTP1_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/proto/http1_parser.h"

/* RFC 9110 §5.6.2 tchar, a header name's and a list token's characters: 1 for each (bytes past ASCII: 0) */
static const uint8_t tchar[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* control characters */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* control characters */
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* space ! " # $ % & ' ( ) * + , - . slash */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0 1 2 3 4 5 6 7 8 9 : ; < = > ? */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* @ A B C D E F G H I J K L M N O */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, /* P Q R S T U V W X Y Z [ \ ] ^ _ */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* ` a b c d e f g h i j k l m n o */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* p q r s t u v w x y z { | } ~ */
};

static inline bool is_tchar(unsigned char c)
{
	return tchar[c];
}

static inline unsigned char lower(unsigned char c)
{
	return (unsigned)(c - 'A') < 26u ? c + 32 : c;
}

/* @s (@n bytes) is @lit (lower case, @n long: the caller checked the length), ignoring case.  For a header name
 * (tchars, checked before) against a literal of letters and '-', setting bit 5 of every byte is exact: it maps
 * only 'A'-'Z' to 'a'-'z' and '\r' to '-', and '\r' is no tchar; eight bytes at a time. */
static inline bool name_same(const char *s, const char *lit, size_t n)
{
	uint64_t a, b;

	for (; n >= 8; n -= 8, s += 8, lit += 8) {
		memcpy(&a, s, 8);
		memcpy(&b, lit, 8);
		if ((a | 0x2020202020202020ull) != b)
			return false;
	}
	for (; n; n--, s++, lit++)
		if ((*s | 0x20) != *lit)
			return false;
	return true;
}

/* the same for any bytes (list tokens) */
static inline bool ci_same(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

#define CI_EQ(s, n, lit) ((n) == sizeof(lit) - 1 && ci_same((s), (lit), sizeof(lit) - 1))

static inline void copy_field(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The next non-empty element of a comma-separated field value (RFC 9110 §5.6.1) at *@s: its token, OWS
 * trimmed, parameters after ';' left out.  *@tok = NULL with a length when the element is not a token
 * ("chunked x", "gzip\"").  False at the end of the list. */
static inline bool list_next(const char **s, const char *e, const char **tok, size_t *len)
{
	while (*s < e) {
		const char *comma = memchr(*s, ',', e - *s), *end = comma ? comma : e, *t = *s, *te;

		*s = comma ? comma + 1 : e;
		while (t < end && (*t == ' ' || *t == '\t'))
			t++;
		for (te = t; te < end && *te != ';'; te++)
			;
		while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if (te == t && te == end)
			continue; /* an empty element: allowed, ignored */
		*tok = t;
		*len = te - t;
		for (const char *c = t; c < te; c++)
			if (!is_tchar(*c)) {
				*tok = NULL;
				break;
			}
		if (te == t)
			*tok = NULL; /* parameters without a coding */
		return true;
	}
	return false;
}

/* Connection (RFC 9112 §9.3): "close" anywhere closes; else "keep-alive" keeps an HTTP/1.0 connection open */
static inline void connection_options(struct http_msg *m, const char *v, size_t n)
{
	const char *s = v, *t;
	bool keep = false;
	size_t len;

	while (list_next(&s, v + n, &t, &len)) {
		if (t && CI_EQ(t, len, "close")) {
			m->conn_close = true;
			return;
		}
		keep |= t && CI_EQ(t, len, "keep-alive");
	}
	if (keep)
		m->conn_close = false;
}

/* Expect: 100-continue among its expectations */
static inline bool expects_continue(const char *v, size_t n)
{
	const char *s = v, *t;
	size_t len;

	while (list_next(&s, v + n, &t, &len))
		if (t && CI_EQ(t, len, "100-continue"))
			return true;
	return false;
}

/* One Transfer-Encoding field line: the codings join those of earlier lines (RFC 9112 §6.1). */
static inline void transfer_codings(struct http_msg *m, const char *v, size_t n, bool cut)
{
	const char *s = v, *t;
	size_t len;

	m->te = true;
	if (cut)
		m->te_bad = true; /* we cannot see its final coding */
	while (list_next(&s, v + n, &t, &len)) {
		bool chunked = t && CI_EQ(t, len, "chunked");

		if (!t)
			m->te_bad = true;
		if (chunked && m->chunked)
			m->te_bad = true; /* chunked applied twice */
		if (m->chunked && !chunked)
			m->te_bad = true; /* chunked, then another coding: chunked is not final */
		m->chunked = chunked;
	}
}

static inline bool parse_u64(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

/* The header fields the parser itself needs, told apart by length, then one comparison */
enum field { H_OTHER, H_CONTENT_LENGTH, H_TRANSFER_ENCODING, H_HOST, H_USER_AGENT, H_CONNECTION, H_EXPECT };

static inline enum field field_of(const char *name, size_t n)
{
	switch (n) {
	case 4:
		return name_same(name, "host", 4) ? H_HOST : H_OTHER;
	case 6:
		return name_same(name, "expect", 6) ? H_EXPECT : H_OTHER;
	case 10:
		if (lower(name[0]) == 'c')
			return name_same(name, "connection", 10) ? H_CONNECTION : H_OTHER;
		return name_same(name, "user-agent", 10) ? H_USER_AGENT : H_OTHER;
	case 14:
		return name_same(name, "content-length", 14) ? H_CONTENT_LENGTH : H_OTHER;
	case 17:
		return name_same(name, "transfer-encoding", 17) ? H_TRANSFER_ENCODING : H_OTHER;
	default:
		return H_OTHER;
	}
}

#endif
