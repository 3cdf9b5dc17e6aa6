// SPDX-License-Identifier: GPL-2.0
/* syscalls.bpf.c -- syscall latency and errors of traced processes, and their fork/exec/exit */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "syscalls.h"
#include "bits.bpf.h"

const volatile bool cfg_follow_children = true;
/* a syscall our own probes cause (x86's uretprobe trampoline): not the program's */
const volatile __s64 cfg_skip_nr = -1;

/* tgid -> 1 for every traced process; user space seeds it, fork adds */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct sc_start {
	__u64 ts;
	__u64 nr;
};

/* per-thread start of the syscall in flight: task storage is cheaper than a tid hash */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sc_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_MAX_NR);
	__type(key, __u32);
	__type(value, struct obs_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SC_MAX_ERRKEYS);
	__type(key, __u32);
	__type(value, __u64);
} errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sc_start *st;
	__u32 tgid;

	if (id == cfg_skip_nr)
		return 0;
	/* a thread of a traced process has storage after its first syscall: the
	 * tgid lookup is paid once per thread, not once per syscall */
	st = bpf_task_storage_get(&starts, task, 0, 0);
	if (!st) {
		tgid = bpf_get_current_pid_tgid() >> 32;
		if (!bpf_map_lookup_elem(&traced, &tgid))
			return 0;
		st = bpf_task_storage_get(&starts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st)
			return 0;
	}
	st->nr = id;
	st->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct sc_start *st;
	struct obs_hist *h;
	__u64 now, delta;
	__u32 nr;

	/* only tasks that entered while traced have storage: no tgid lookup */
	st = bpf_task_storage_get(&starts, bpf_get_current_task_btf(), 0, 0);
	if (!st || !st->ts)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - st->ts;
	nr = st->nr;
	st->ts = 0;
	if (nr >= SC_MAX_NR)
		return 0;
	h = bpf_map_lookup_elem(&hists, &nr);
	if (h)
		hist_add(h, delta);
	if (ret < 0 && ret >= -4095) {
		__u32 key = SC_ERRKEY(nr, -ret);
		__u64 one = 1, *cnt = bpf_map_lookup_elem(&errors, &key);

		if (cnt)
			(*cnt)++;
		else if (bpf_map_update_elem(&errors, &key, &one, BPF_NOEXIST))
			stat_inc(SC_STAT_ERRMAP_FULL);
	}
	return 0;
}

static __always_inline void emit(__u32 type, __u32 pid, __u32 ppid)
{
	struct obs_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_inc(SC_STAT_RINGBUF_FULL);
		return;
	}
	e->type = type;
	e->pid = pid;
	e->ppid = ppid;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* lifecycle events are rare: wake the reader so it can attach uprobes early */
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (!cfg_follow_children || ptgid == ctgid) /* a new thread, not a process */
		return 0;
	if (!bpf_map_lookup_elem(&traced, &ptgid))
		return 0;
	if (bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY)) {
		stat_inc(SC_STAT_TGID_MAP_FULL);
		return 0;
	}
	emit(OBS_PROC_FORK, ctgid, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (!bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	emit(OBS_PROC_EXEC, tgid, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	/* the process is gone when its last thread exits */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (!bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	bpf_map_delete_elem(&traced, &tgid);
	emit(OBS_PROC_EXIT, tgid, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
