// SPDX-License-Identifier: GPL-2.0
/* kfunc.bpf.c -- kernel function latency: fentry/fexit, else kprobe/kretprobe (chosen at run time) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/callstack.bpf.h"
#include "bpf/traced.bpf.h"

/* fentry programs are loaded once per kernel function: the id is rodata */
const volatile __u32 cfg_func_id = 0;
/* only threads of the processes in `traced` (user space reuses the syscall tracer's map, which follows
 * children); false = every task (obsprobe check's attach probe) */
const volatile bool cfg_traced_only = false;

static __always_inline bool wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !cfg_traced_only || bpf_map_lookup_elem(&traced, &tgid);
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
