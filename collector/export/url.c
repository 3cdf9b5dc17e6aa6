/* url.c -- the one syntax of an OTLP/HTTP endpoint URL, and of the host names, addresses and ports in it (pure) */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "export/url.h"

_Static_assert(URL_MAX_LEN == 900, "url__check's message says 900");

int url__port(const char *s, size_t len)
{
	long v = 0;

	if (!len || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

bool url__is_hostname(const char *h, size_t len)
{
	if (!len || len > 253)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return false;
	return true;
}

bool url__is_ip(int af, const char *h, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char a[sizeof(struct in6_addr)];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, h, len);
	buf[len] = '\0';
	buf[strcspn(buf, "%")] = '\0';
	return inet_pton(af, buf, a) == 1;
}

const char *url__check(const char *s)
{
	const char *a, *end, *h, *at, *colon;

	if (!strncasecmp(s, "http://", 7))
		a = s + 7;
	else if (!strncasecmp(s, "https://", 8))
		a = s + 8;
	else
		return "is not a URL (expected http://host:port)";
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
			return "is not a URL: it has a space or control character (expected http://host:port)";
	if (strpbrk(s, "?#"))
		return "has a query or fragment (give the base URL; /v1/traces and /v1/logs are appended)";
	if (strlen(s) > URL_MAX_LEN)
		return "is too long (at most 900 characters)";
	end = a + strcspn(a, "/");
	at = memchr(a, '@', (size_t)(end - a)); /* user:password@host */
	h = at ? at + 1 : a;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || !url__is_ip(AF_INET6, h + 1, (size_t)(rb - h - 1)))
			return "is not a URL: bad [IPv6] host (expected http://[::1]:4318)";
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return "is not a URL (expected http://host:port)";
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if (!url__is_hostname(h, (size_t)((colon ? colon : end) - h)))
			return "is not a URL: it has no host (expected http://host:port)";
	}
	if (colon && url__port(colon + 1, (size_t)(end - colon - 1)) < 0)
		return "is not a URL: the port is not 1 to 65535 (expected http://host:port)";
	return NULL;
}

size_t url__origin(const char *s, bool *has_port)
{
	const char *a = strstr(s, "://"), *end, *h, *at;

	a = a ? a + 3 : s;
	end = a + strcspn(a, "/");
	at = memchr(a, '@', (size_t)(end - a));
	h = at ? at + 1 : a;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		*has_port = rb && rb + 1 < end && rb[1] == ':';
	} else {
		*has_port = memchr(h, ':', (size_t)(end - h)) != NULL;
	}
	return (size_t)(end - s);
}
