// SPDX-License-Identifier: GPL-2.0
/* syscalls.bpf.c -- syscall latency and errors of traced processes, and their fork/exec/exit */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "syscalls.h"
#include "bits.bpf.h"

const volatile bool cfg_follow_children = true;
/* --no-net: no socket classification on I/O syscalls */
const volatile bool cfg_net = true;

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
	__uint(max_entries, SC_NDIRS * SC_NPROTOS);
	__type(key, __u32);
	__type(value, struct sc_sock);
} socks SEC(".maps");

/* TCP connections a traced process accepted or connected: sock -> direction,
 * until the kernel moves the socket to TCP_CLOSE (whatever closes it) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u32);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_NCONNS);
	__type(key, __u32);
	__type(value, struct sc_conns);
} conn_stats SEC(".maps");

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

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define TCP_CLOSE 7

/* a read-only typed view of a kernel pointer: fields then load directly (no helper call per field) */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id) __ksym;
#define KCAST(ptr, type) ((type *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))

/* the socket behind @fd of the current task: files -> fdt -> file -> inode/socket, with one
 * helper call (the fd array slot) and direct loads for the rest */
static __always_inline struct sock *fd_sock(struct task_struct *task, long fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file *f = NULL;
	struct socket *so;

	if (!fdt || fd < 0 || fd >= fdt->max_fds)
		return NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]) || !f)
		return NULL;
	f = KCAST(f, struct file);
	if ((f->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	so = KCAST(f->private_data, struct socket);
	return so->sk;
}

/* SC_TCP/UDP/UNIX, or -1 for other families (netlink, packet...) */
static __always_inline int sock_proto(struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family, type = sk->sk_type;

	if (family == AF_UNIX)
		return SC_UNIX;
	if (family != AF_INET && family != AF_INET6)
		return -1;
	return type == SOCK_STREAM ? SC_TCP : type == SOCK_DGRAM ? SC_UDP : -1;
}

static __always_inline void sock_io(struct pt_regs *regs, __u32 nr, long ret, __u64 delta)
{
	__u32 dir, key;
	struct sc_sock *v;
	struct sock *sk;
	int proto;

	switch (nr) {
	case 0: case 19: case 45: case 47: /* read readv recvfrom recvmsg */
		dir = SC_RECEIVE;
		break;
	case 1: case 20: case 44: case 46: /* write writev sendto sendmsg */
		dir = SC_TRANSMIT;
		break;
	default:
		return;
	}
	sk = fd_sock(bpf_get_current_task_btf(), BPF_CORE_READ(regs, di));
	if (!sk || (proto = sock_proto(sk)) < 0)
		return;
	key = dir * SC_NPROTOS + proto;
	v = bpf_map_lookup_elem(&socks, &key);
	if (!v)
		return;
	v->bytes += ret;
	hist_add(&v->io, delta);
}

/* accept/accept4 returned a new fd; connect succeeded or is in progress */
static __always_inline void conn_open(struct pt_regs *regs, __u32 nr, long ret)
{
	__u32 dir;
	long fd;
	struct sock *sk;
	struct sc_conns *c;
	__u64 key;

	if ((nr == 43 || nr == 288) && ret >= 0) { /* accept accept4 */
		dir = SC_INBOUND;
		fd = ret;
	} else if (nr == 42 && (ret == 0 || ret == -115)) { /* connect, EINPROGRESS */
		dir = SC_OUTBOUND;
		fd = BPF_CORE_READ(regs, di);
	} else {
		return;
	}
	sk = fd_sock(bpf_get_current_task_btf(), fd);
	if (!sk || sock_proto(sk) != SC_TCP)
		return;
	key = (__u64)sk;
	if (bpf_map_update_elem(&conns, &key, &dir, BPF_NOEXIST)) {
		stat_inc(SC_STAT_CONN_MAP_FULL);
		return;
	}
	c = bpf_map_lookup_elem(&conn_stats, &dir);
	if (c)
		c->opened++;
}

/* any path to TCP_CLOSE (close, exit, reset) ends a connection we counted */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk;
	struct sc_conns *c;
	__u32 *dir;

	if (newstate != TCP_CLOSE)
		return 0;
	dir = bpf_map_lookup_elem(&conns, &key);
	if (!dir)
		return 0;
	c = bpf_map_lookup_elem(&conn_stats, dir);
	if (c)
		c->closed++;
	bpf_map_delete_elem(&conns, &key);
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
	if (cfg_net) {
		if (ret >= 0)
			sock_io(regs, nr, ret, delta);
		conn_open(regs, nr, ret);
	}
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
