/* bounds.h -- histogram layout shared by BPF programs and user space */
#ifndef OBSPROBE_BOUNDS_H
#define OBSPROBE_BOUNDS_H

#ifndef __VMLINUX_H__
#include <linux/types.h> /* user space; BPF code gets __u64 from vmlinux.h */
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

#endif
