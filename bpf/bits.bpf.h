/* bits.bpf.h -- the configured histogram boundaries of a BPF program, and adding to a histogram */
#ifndef OBSPROBE_BITS_BPF_H
#define OBSPROBE_BITS_BPF_H

#include "abi/hist.h"

/* configured boundaries, set by user space between open and load */
const volatile __u64 cfg_bounds_ns[OBS_MAX_BOUNDS] = {};
const volatile __u32 cfg_nbounds = 0;

static __always_inline void hist_add(struct obs_hist *h, __u64 ns)
{
	__u32 b = obs_hist_bucket(cfg_bounds_ns, cfg_nbounds, ns);

	if (b < OBS_HIST_SLOTS)
		h->buckets[b]++;
	h->count++;
	h->sum_ns += ns;
}

#endif
