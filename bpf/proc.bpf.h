// SPDX-License-Identifier: GPL-2.0
/* proc.bpf.h -- part of syscalls.bpf.c (included once, before sys_exit): the process lifecycle of traced
 * processes (fork follows children when cfg_follow_children, exec, exit of the last thread) and the events ring
 * that tells user space of each change (and of executable mappings: sys_exit's OBS_PROC_MAPEXEC). */
#ifndef OBSPROBE_PROC_BPF_H
#define OBSPROBE_PROC_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

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
	set_traced(ctgid, 1);
	emit(OBS_PROC_FORK, ctgid, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (!bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	__sync_fetch_and_add(&fd_epoch, 1); /* close-on-exec fds are gone: every fd cache refills */
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
	set_traced(tgid, 0);
	bpf_map_delete_elem(&traced, &tgid);
	emit(OBS_PROC_EXIT, tgid, 0);
	return 0;
}

#endif
