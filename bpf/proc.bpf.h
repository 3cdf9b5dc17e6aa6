// SPDX-License-Identifier: GPL-2.0
/* proc.bpf.h -- part of syscalls.bpf.c (included once, before sys_exit): the process lifecycle of traced
 * processes (fork follows children when cfg_follow_children, exec, exit of the last thread) and the events ring
 * that tells user space of each change (and of executable mappings: sys_exit's OBS_PROC_MAPEXEC).
 * Discovery (cfg_discover, OBS_DISC_*): candidates among the untraced processes for user space to match
 * against attach's selectors: every exec, every TCP listen (sockio.bpf.h's tcp_state calls proc_on_listen),
 * every move to another cgroup. */
#ifndef OBSPROBE_PROC_BPF_H
#define OBSPROBE_PROC_BPF_H

/* (the events ring is declared in syscalls.bpf.c, before sockio.bpf.h, which wakes its reader too) */

/* OBS_DISC_* bits: which candidate events to report (0: only traced processes' lifecycle) */
const volatile __u32 cfg_discover = 0;

/* @flags: 0 wakes the reader (lifecycle events are rare: it attaches uprobes early), BPF_RB_NO_WAKEUP leaves the
 * record for its next drain (every 20 ms: discovery's exec candidates, one per exec on the host) */
static __always_inline void emit_ev(__u32 type, __u32 pid, __u32 ppid, __u64 flags)
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
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void emit(__u32 type, __u32 pid, __u32 ppid)
{
	emit_ev(type, pid, ppid, 0);
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

	if (bpf_map_lookup_elem(&traced, &tgid)) {
		__sync_fetch_and_add(&fd_epoch, 1); /* close-on-exec fds are gone: every fd cache refills */
		emit(OBS_PROC_EXEC, tgid, 0);
	} else if (cfg_discover & OBS_DISC_EXEC) {
		emit_ev(OBS_PROC_SPAWN, tgid, 0, BPF_RB_NO_WAKEUP);
	}
	return 0;
}

/* tcp_state (sockio.bpf.h) on a move to TCP_LISTEN: listen() runs in the caller's context, so the current
 * process is the one listening.  The port is the bound one (0 for a listen without bind: user space looks). */
static __always_inline void proc_on_listen(const struct sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!(cfg_discover & OBS_DISC_LISTEN) || is_traced(tgid))
		return;
	emit(OBS_PROC_LISTEN, tgid, BPF_CORE_READ(sk, __sk_common.skc_num));
}

/* a task written to some cgroup.procs (the writer's context: @task is the one moved) */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(proc_cgroup, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if ((cfg_discover & OBS_DISC_CGROUP) && !is_traced(tgid))
		emit(OBS_PROC_CGROUP, tgid, 0);
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
