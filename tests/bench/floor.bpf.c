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
