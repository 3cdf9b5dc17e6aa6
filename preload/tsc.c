/* tsc.c -- the shim's clock: CLOCK_MONOTONIC nanoseconds from the TSC once calibrated, clock_gettime until then */
#include <cpuid.h>
#include <stdbool.h>

#include "lib/clock.h"
#include "preload/tsc.h"

uint64_t tsc_base_tsc, tsc_base_ns, tsc_mult;
static bool tsc_ok; /* the first pair was taken */
static int tsc_calibrating;
static uint64_t tsc_first_tsc, tsc_first_ns;

/* CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant rate in every C-/P-state */
static bool tsc_invariant(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;

	__cpuid(0x80000000, a, b, c, d);
	if (a < 0x80000007)
		return false;
	__cpuid(0x80000007, a, b, c, d);
	return d & (1u << 8);
#else
	return false;
#endif
}

__attribute__((noinline)) uint64_t tsc__now_slow(void)
{
	uint64_t t = mono_ns(), c;
	int zero = 0;

	if (!tsc_ok || t - tsc_first_ns < TSC_CALIB_NS ||
	    !__atomic_compare_exchange_n(&tsc_calibrating, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return t;
	if (!tsc_invariant())
		return t; /* tsc_calibrating stays set: clock_gettime for good */
	t = mono_ns();
	c = tsc__rdtsc();
	if (c > tsc_first_tsc) {
		tsc_base_tsc = c;
		tsc_base_ns = t;
		__atomic_store_n(&tsc_mult,
				 (uint64_t)((((unsigned __int128)(t - tsc_first_ns)) << 32) / (c - tsc_first_tsc)),
				 __ATOMIC_RELEASE);
	}
	return t;
}

void tsc__init(void)
{
#if defined(__x86_64__)
	tsc_first_ns = mono_ns();
	tsc_first_tsc = tsc__rdtsc();
	tsc_ok = true;
#endif
}
