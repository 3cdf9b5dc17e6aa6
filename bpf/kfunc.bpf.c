// SPDX-License-Identifier: GPL-2.0
/* kfunc.bpf.c -- kernel function latency: fentry/fexit, else kprobe/kretprobe (chosen at run time) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/callstack.bpf.h"

/* fentry programs are loaded once per kernel function: the id is rodata */
const volatile __u32 cfg_func_id = 0;
/* only threads of traced processes (0 = all) */
const volatile __u32 cfg_tgid = 0;

static __always_inline bool wanted(void)
{
	return !cfg_tgid || (bpf_get_current_pid_tgid() >> 32) == cfg_tgid;
}

SEC("fentry")
int BPF_PROG(kfunc_entry)
{
	if (wanted())
		call_push(cfg_func_id);
	return 0;
}

SEC("fexit")
int BPF_PROG(kfunc_exit)
{
	if (wanted())
		call_pop(cfg_func_id);
	return 0;
}

/* kprobes attach many functions to one program: the id is the cookie */
SEC("kprobe")
int BPF_KPROBE(kprobe_entry)
{
	if (wanted())
		call_push((__u32)bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kprobe_exit)
{
	if (wanted())
		call_pop((__u32)bpf_get_attach_cookie(ctx));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
