/* tsc.h -- the shim's clock: CLOCK_MONOTONIC nanoseconds from the TSC once calibrated, clock_gettime until then
 *
 * Invariant TSC only (CPUID): ns = base_ns + (tsc - base_tsc) * mult >> 32, once calibrated from two
 * (TSC, CLOCK_MONOTONIC) pairs TSC_CALIB_NS apart; until then clock_gettime.  Nothing waits for it, and CPUID
 * (a VM exit: ~20 us under KVM) runs only then, never in the constructor.  The hot path (tsc__now) is inline:
 * every wrapper stamps its call twice. */
#ifndef OBSPROBE_PRELOAD_TSC_H
#define OBSPROBE_PRELOAD_TSC_H

#include <stdint.h>

#define TSC_CALIB_NS 50000000ull

/* set by tsc.c; tsc_mult is published last (release): the bases are set when it is non-zero */
extern uint64_t tsc_base_tsc, tsc_base_ns, tsc_mult;

/* the first (TSC, CLOCK_MONOTONIC) pair; the second, and the CPUID check, come later (tsc__now_slow) */
void tsc__init(void);
/* clock_gettime until the TSC is calibrated; the first caller past TSC_CALIB_NS takes the second pair */
uint64_t tsc__now_slow(void);

static inline uint64_t tsc__rdtsc(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#else
	return 0;
#endif
}

/* now, in CLOCK_MONOTONIC ns: from the TSC once calibrated (a multiply), else clock_gettime */
static inline uint64_t tsc__now(void)
{
	uint64_t m = __atomic_load_n(&tsc_mult, __ATOMIC_ACQUIRE);
	int64_t d;

	if (__builtin_expect(!m, 0))
		return tsc__now_slow();
	d = (int64_t)(tsc__rdtsc() - tsc_base_tsc);
	return d <= 0 ? tsc_base_ns : tsc_base_ns + (uint64_t)(((unsigned __int128)d * m) >> 32);
}

/* a duration between two stamps (a call that spans the switch to the TSC may come out slightly negative) */
static inline uint64_t tsc__ns(uint64_t d)
{
	return (int64_t)d < 0 ? 0 : d;
}

#endif
