/* optval.c -- the syntax of option values: numbers, ADDR:PORT, [OBJ:]GLOB, HTTP headers (pure; OTLP URLs: export/url.c) */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/optval.h"
#include "export/url.h"

int optval_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *end || isspace((unsigned char)*s)) ? -1 : 0;
}

int optval_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return (errno || end == s || *end || isspace((unsigned char)*s) || !isfinite(*out)) ? -1 : 0;
}

/* --listen: ADDR:PORT, [IPV6]:PORT, :PORT and PORT (both 127.0.0.1).
 * Returns NULL, or why @s is wrong. */
const char *optval_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *h = s, *p;
	size_t hl;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return "is not [IPV6]:PORT (e.g. [::1]:9464)";
		h = s + 1;
		hl = (size_t)(rb - h);
		p = rb + 2;
		if (!url__is_ip(AF_INET6, h, hl))
			return "has no IPv6 address between the brackets (e.g. [::1]:9464)";
	} else if (!strchr(s, ':')) { /* PORT alone */
		if (!*s || s[strspn(s, "0123456789")])
			return "is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)";
		h = "127.0.0.1";
		hl = strlen(h);
		p = s;
	} else {
		p = strrchr(s, ':') + 1;
		hl = (size_t)(p - 1 - s);
		if (memchr(s, ':', hl))
			return "is ambiguous: IPv6 addresses go in brackets (e.g. [::1]:9464)";
		if (!hl) {
			h = "127.0.0.1";
			hl = strlen(h);
		} else if (strspn(h, "0123456789.") >= hl ? !url__is_ip(AF_INET, h, hl) : !url__is_hostname(h, hl)) {
			return "is not ADDR:PORT with an IPv4 address or host name (e.g. 127.0.0.1:9464)";
		}
	}
	if ((*port = url__port(p, strlen(p))) < 0)
		return *p ? "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)"
			  : "is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)";
	if (hl >= hostlen)
		return "has a host name that is too long";
	memcpy(host, h, hl);
	host[hl] = '\0';
	return NULL;
}

/* "[OBJ:]GLOB" as funclat splits it: at the first ':' unless it starts "::" or is part of "::" */
const char *optval_func(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!*s)
		return "is empty (expected [OBJ:]GLOB, e.g. 'handle_*' or 'libc.so.6:malloc')";
	if (colon == s && s[1] != ':')
		return "has no OBJ before the ':' (e.g. 'libc.so.6:malloc')";
	if (s[strlen(s) - 1] == ':' && (strlen(s) < 2 || s[strlen(s) - 2] != ':'))
		return "has no GLOB after the ':' (e.g. 'libc.so.6:malloc' or 'libssl.so.3:SSL_*')";
	for (const char *c = s; *c; c++)
		if (iscntrl((unsigned char)*c))
			return "has a control character";
	return NULL;
}

/* an HTTP header for --otlp-header: token "=" value without line breaks */
const char *optval_header(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq)
		return "expected KEY=VALUE (e.g. Authorization=Bearer TOKEN)";
	if (eq == s)
		return "has an empty KEY (expected KEY=VALUE)";
	for (const char *c = s; c < eq; c++)
		if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c))
			return "has a KEY that is not an HTTP header name (expected KEY=VALUE)";
	for (const char *c = eq + 1; *c; c++)
		if (*c == '\r' || *c == '\n')
			return "has a line break in its VALUE";
	return NULL;
}

/* one "k1=v1,k2=v2" entry of $OTEL_EXPORTER_OTLP_HEADERS: trimmed, %XX decoded, as K=V */
void optval_otel_header(const char *p, size_t n, char *out, size_t outlen)
{
	char *o = out;

	while (n && isspace((unsigned char)*p))
		p++, n--;
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	for (size_t i = 0; i < n && o < out + outlen - 1; i++) {
		if (isspace((unsigned char)p[i]) && ((i + 1 < n && p[i + 1] == '=') || (o > out && o[-1] == '=')))
			continue; /* "k = v" */
		if (p[i] == '%' && i + 2 < n && isxdigit((unsigned char)p[i + 1]) &&
		    isxdigit((unsigned char)p[i + 2])) {
			char hex[3] = { p[i + 1], p[i + 2], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
}
