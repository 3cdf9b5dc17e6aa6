/* hist.h -- the histogram shape shared by BPF programs, the shim and the collector, and its one bucket search */
#ifndef OBSPROBE_ABI_HIST_H
#define OBSPROBE_ABI_HIST_H

#ifndef __VMLINUX_H__
#include <linux/types.h> /* user space; BPF code gets __u64 from vmlinux.h */
#include <stdint.h>
typedef uint64_t obs_ns_t; /* the collector's and the shim's boundary arrays are uint64_t */
#else
typedef __u64 obs_ns_t;
#endif

/* at most this many configured boundaries; +Inf is one more bucket */
#define OBS_MAX_BOUNDS 32
#define OBS_HIST_SLOTS (OBS_MAX_BOUNDS + 1)

/* one latency histogram in a per-CPU map; buckets non-cumulative */
struct obs_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 buckets[OBS_HIST_SLOTS];
};

/* The bucket @ns falls into: the first i < @n with ns <= bounds[i], else @n (+Inf); @n is taken as at most
 * OBS_MAX_BOUNDS. A binary search of at most 6 steps (33 buckets), written for the BPF verifier as well: a
 * constant trip count, every index checked against the array's size, no __builtin_clz (clang 14 crashes on it
 * for the BPF target). @bounds may be a BPF program's `const volatile` rodata array (set between open and load). */
static inline __attribute__((always_inline)) __u32 obs_hist_bucket(const volatile obs_ns_t *bounds, __u32 n,
								   obs_ns_t ns)
{
	__u32 lo = 0, hi = n < OBS_MAX_BOUNDS ? n : OBS_MAX_BOUNDS;

	for (int i = 0; i < 6; i++) {
		__u32 mid;

		if (lo >= hi)
			break;
		mid = (lo + hi) >> 1;
		if (mid >= OBS_MAX_BOUNDS)
			break;
		if (ns <= bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

#endif
