// SPDX-License-Identifier: GPL-2.0
/* floor.bpf.c -- empty programs on the hooks obsprobe uses: the kernel's own cost floor */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit)
{
	return 0;
}

/* "floor clock": two clock reads and nothing else, what the kernel's run-time statistics add around every run
 * (bpf_ktime_get_ns and the statistics' sched_clock read the same clock on kvm-clock guests) */
SEC("tp_btf/sys_enter")
int BPF_PROG(clock_enter)
{
	bpf_ktime_get_ns();
	bpf_ktime_get_ns();
	return 0;
}

/* "timing floor": the least a syscall latency histogram needs, for the given processes only (what bpftrace's
 * one-liner and obsprobe's syscall family both do): at entry the time into the thread's task storage, at exit a
 * second clock read and a log2 bucket of the per-CPU histogram of that syscall.  Nothing else: no payload, no fd
 * walk, no counters.  floor.c fills time_tgids before loading. */
const volatile __u32 time_tgids[8];

struct tstart {
	__u64 ts;
	__u32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tstart);
} tstarts SEC(".maps");

struct thist {
	__u64 b[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct thist);
} thists SEC(".maps");

static __always_inline int timed(__u32 tgid)
{
	for (int i = 0; i < 8; i++)
		if (time_tgids[i] && time_tgids[i] == tgid)
			return 1;
	return 0;
}

/* floor(log2(v)) by halving (clang 14 crashes on __builtin_clzll for BPF) */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(time_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tstart *st;

	if (!timed(task->tgid))
		return 0;
	st = bpf_task_storage_get(&tstarts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	st->nr = id;
	st->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(time_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tstart *st;
	struct thist *h;
	__u64 d;
	__u32 nr;

	if (!timed(task->tgid))
		return 0;
	st = bpf_task_storage_get(&tstarts, task, 0, 0);
	if (!st || !st->ts)
		return 0;
	d = bpf_ktime_get_ns() - st->ts;
	st->ts = 0;
	nr = st->nr;
	h = bpf_map_lookup_elem(&thists, &nr);
	if (h)
		h->b[log2_u64(d) & 63]++;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(floor_uprobe)
{
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(floor_uretprobe)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
