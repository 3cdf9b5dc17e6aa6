// SPDX-License-Identifier: GPL-2.0
/* funclat.bpf.c -- user function latency from uprobe/uretprobe pairs, recursion-safe */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/callstack.bpf.h"
/* the traced-process set: syscalls.bpf.c's map, its fd reused (collector/source/funclat.c) */
#include "bpf/traced.bpf.h"

/* the attach cookie is the function id; with FL_COOKIE_BINARY the probe is its binary's (every process mapping
 * the file traps into it): only a traced process's calls count, the others leave here */
static __always_inline bool counted(__u64 cookie)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !(cookie & FL_COOKIE_BINARY) || bpf_map_lookup_elem(&traced, &tgid);
}

SEC("uprobe")
int BPF_KPROBE(func_entry)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	if (counted(cookie))
		call_push((__u32)cookie & ~FL_COOKIE_BINARY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(func_exit)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	if (counted(cookie))
		call_pop((__u32)cookie & ~FL_COOKIE_BINARY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
