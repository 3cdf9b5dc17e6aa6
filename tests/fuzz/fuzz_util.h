/* fuzz_util.h -- what the libFuzzer harnesses share: a reader of control bytes, a PRNG, checks that trap */
#ifndef OBSPROBE_FUZZ_UTIL_H
#define OBSPROBE_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A property the code under test broke: say which (on fd 2, even when a harness silenced stdio's
 * stderr), and crash so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			dprintf(2, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			__builtin_trap();                                                         \
		}                                                                                 \
	} while (0)

/* Consumes an input from the front; past the end every read gives zeros. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz__u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz__u16(struct fz *f)
{
	uint16_t lo = fz__u8(f);

	return (uint16_t)(lo | fz__u8(f) << 8);
}

static inline uint64_t fz__u64(struct fz *f)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)fz__u8(f) << (8 * i);
	return v;
}

/* up to @want bytes: a pointer into the input and their number in *@got */
static inline const uint8_t *fz__bytes(struct fz *f, size_t want, size_t *got)
{
	const uint8_t *p = f->p;

	*got = want < f->n ? want : f->n;
	f->p += *got;
	f->n -= *got;
	return p;
}

/* Deterministic choices for a harness whose input is raw bytes (an HTTP stream, a text): a
 * splitmix64 seeded with a hash of the input, so that the input file alone reproduces a run. */
struct fz_rng {
	uint64_t s;
};

static inline void fz_rng__seed(struct fz_rng *r, const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	r->s = h;
}

static inline uint64_t fz_rng__next(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 0 .. @n-1 (@n > 0) */
static inline size_t fz_rng__below(struct fz_rng *r, size_t n)
{
	return (size_t)(fz_rng__next(r) % n);
}

/* a fixed-size char array holds a NUL-terminated string */
static inline bool fz__terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#endif
