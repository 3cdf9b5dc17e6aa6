/* tracestate.h -- W3C tracestate's grammar (Trace Context §3.3.1): keys, values, the hash that finds a key twice.
 * Private to lib/tracectx.c: inline, pure. */
#ifndef OBSPROBE_TRACESTATE_H
#define OBSPROBE_TRACESTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool lcalpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static inline bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool keychar(char c)
{
	return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* @s[0..n) is a first character that @first accepts, then at most @max - 1 keychars */
static inline bool key_part(const char *s, size_t n, size_t max, bool first_digit)
{
	if (!n || n > max || !(lcalpha(s[0]) || (first_digit && digit(s[0]))))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!keychar(s[i]))
			return false;
	return true;
}

/* key = simple-key / multi-tenant-key */
static inline bool state_key(const char *k, size_t n)
{
	const char *at = memchr(k, '@', n);

	if (!at)
		return key_part(k, n, 256, false);
	return key_part(k, at - k, 241, true) && key_part(at + 1, n - (at - k) - 1, 14, false);
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static inline bool state_value(const char *v, size_t n)
{
	if (!n || n > 256 || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
			return false;
	return true;
}

static inline uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
	return h;
}

#endif
