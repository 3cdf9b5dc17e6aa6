/* traced.bpf.h -- the traced-process set: tgid -> 1; user space seeds it, syscalls.bpf.c's fork/exit keep it,
 * and kfunc.bpf.c reuses the same map (its fd) to time only those processes */
#ifndef OBSPROBE_TRACED_BPF_H
#define OBSPROBE_TRACED_BPF_H

#include "abi/syscalls.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

#endif
