// SPDX-License-Identifier: GPL-2.0
/* funclat.bpf.c -- user function latency from uprobe/uretprobe pairs, recursion-safe */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/callstack.bpf.h"

/* the attach cookie is the function id */
SEC("uprobe")
int BPF_KPROBE(func_entry)
{
	call_push((__u32)bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(func_exit)
{
	call_pop((__u32)bpf_get_attach_cookie(ctx));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
