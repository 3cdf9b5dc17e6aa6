/* bits.bpf.h -- bucket lookup for BPF programs (no __builtin_clz: clang 14 crashes on it) */
#ifndef OBSPROBE_BITS_BPF_H
#define OBSPROBE_BITS_BPF_H

#include "abi/hist.h"

/* configured boundaries, set by user space between open and load */
const volatile __u64 cfg_bounds_ns[OBS_MAX_BOUNDS] = {};
const volatile __u32 cfg_nbounds = 0;

/* first i with ns <= cfg_bounds_ns[i], else cfg_nbounds (+Inf): a binary
 * search of at most 6 steps for 32 boundaries */
static __always_inline __u32 bucket_of(__u64 ns)
{
	__u32 lo = 0, hi = cfg_nbounds;

	if (hi > OBS_MAX_BOUNDS)
		hi = OBS_MAX_BOUNDS;
	for (int i = 0; i < 6; i++) {
		__u32 mid;

		if (lo >= hi)
			break;
		mid = (lo + hi) >> 1;
		if (mid >= OBS_MAX_BOUNDS)
			break;
		if (ns <= cfg_bounds_ns[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static __always_inline void hist_add(struct obs_hist *h, __u64 ns)
{
	__u32 b = bucket_of(ns);

	if (b < OBS_HIST_SLOTS)
		h->buckets[b]++;
	h->count++;
	h->sum_ns += ns;
}

#endif
