/* randid.c -- random non-zero trace and span ids (xorshift128+ per thread, seeded by getrandom): one generator for
 * the shim and the collector (pure: a raw syscall, no malloc, stdio or locks) */
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/randid.h"

static bool all_zero(const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (id[i])
			return false;
	return true;
}

void randid__fill(uint8_t *id, size_t len)
{
	static __thread uint64_t s[2];

	if (!s[0] && !s[1]) {
		if (syscall(SYS_getrandom, s, sizeof(s), 0) != (long)sizeof(s)) {
			s[0] = mono_ns() ^ 0x9e3779b97f4a7c15ull;
			s[1] = (uint64_t)(uintptr_t)&s;
		}
		s[1] |= 1;
	}
	do {
		for (size_t i = 0; i < len; i += 8) {
			uint64_t x = s[0], y = s[1], r;

			s[0] = y;
			x ^= x << 23;
			s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
			r = s[1] + y;
			memcpy(id + i, &r, len - i < 8 ? len - i : 8);
		}
	} while (all_zero(id, len));
}
