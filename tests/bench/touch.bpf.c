// SPDX-License-Identifier: GPL-2.0
/* touch.bpf.c -- what one memory touch costs a sys_enter program: programs attached in this order (libbpf attaches
 * them as the object lists them), each after the other on the same syscall.  An identical program placed twice
 * shows the first touch of a page/line against the second (tests/bench/touch_cost.sh). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* 4 KB of values: kmalloc'ed by the kernel (below 32 KB, not mmapable) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} small SEC(".maps");

/* like syscalls.bpf.c's traced_bytes: mmapable, so vmalloc'ed */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} mm SEC(".maps");

static __always_inline int small_bit(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tg = t->tgid, w = (tg >> 6) & 511;
	__u64 *b = bpf_map_lookup_elem(&small, &w);

	return b ? (*b >> (tg & 63)) & 1 : 0;
}

static __always_inline int mm_byte(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tg = t->tgid, w = tg >> 3;
	__u8 *b = bpf_map_lookup_elem(&mm, &w);

	return b ? b[tg & 7] : 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t0_empty)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t1_empty)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t2_task)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->tgid == 1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t3_small)
{
	return small_bit();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t4_mm)
{
	return mm_byte();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t5_small_again)
{
	return small_bit();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t6_mm_again)
{
	return mm_byte();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t7_clock)
{
	return bpf_ktime_get_ns() == 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t8_clock_again)
{
	return bpf_ktime_get_ns() == 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(t9_empty)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
