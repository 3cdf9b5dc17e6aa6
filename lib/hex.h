/* hex.h -- lowercase hex of ids (trace and span ids): the one encoder of the shim and the collector */
#ifndef OBSPROBE_HEX_H
#define OBSPROBE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* 2*@n lowercase hex digits of @id at @p, no NUL; returns the end (pure: the shim's injection uses it) */
static inline char *hex__put(char *p, const uint8_t *id, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*p++ = d[id[i] >> 4];
		*p++ = d[id[i] & 15];
	}
	return p;
}

/* the same into @out, NUL-terminated (2*@n + 1 bytes) */
static inline void hex__encode(char *out, const uint8_t *id, size_t n)
{
	*hex__put(out, id, n) = '\0';
}

#endif
