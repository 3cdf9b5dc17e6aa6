/* clock.h -- now, in nanoseconds: the one clock helper of the shim and the collector */
#ifndef OBSPROBE_CLOCK_H
#define OBSPROBE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* @clk (CLOCK_MONOTONIC, CLOCK_REALTIME ...) in ns; clock_gettime is a vDSO call: no lock, async-signal-safe */
static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in ns: the time base of every record (BPF's bpf_ktime_get_ns, the shim, the collector) */
static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#endif
