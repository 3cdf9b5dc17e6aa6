/* texthash.h -- hashing short texts for the collector's tables (metric series, RED series, the redactor's and the
 * route memos): eight bytes a step, the length mixed into the last one, so ("ab", "c") and ("a", "bc") differ when
 * chained.  Not for anything an attacker must not steer: the tables it serves bound their chains or are direct-mapped. */
#ifndef OBSPROBE_TEXTHASH_H
#define OBSPROBE_TEXTHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TEXTHASH_SEED 0x9e3779b97f4a7c15ull

/* @h with the @n bytes at @s mixed in */
static inline uint64_t texthash__step(uint64_t h, const void *s, size_t n)
{
	const char *p = s;
	uint64_t w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	w = (uint64_t)n << 56;
	memcpy(&w, p + i, n - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

/* the low bits depend on every byte: for a table indexed by h % size */
static inline uint64_t texthash__final(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

#endif
