// SPDX-License-Identifier: GPL-2.0
/* syscalls.bpf.c -- everything the eBPF path sees of traced processes through tracepoints:
 *   sys_enter/sys_exit         latency histogram and errno counts of every syscall (per-CPU maps);
 *                              for I/O syscalls on a socket fd: bytes and I/O latency by direction and
 *                              protocol (tcp/udp/unix), and a copy of the TCP payload (cfg_payload, at most
 *                              what the `capture` map allows for that socket: 0 = off) into data_events;
 *                              writes to fd 1/2 copied as log records (cfg_logs); TCP connections counted
 *                              when accept/connect return (with an event carrying the connection's
 *                              addresses when payloads are on)
 *   inet_sock_set_state        a counted connection reaching TCP_CLOSE (close, exit, reset) ends
 *   sched_process_fork/exec/exit  the traced set follows children (cfg_follow_children); events tell
 *                              user space of each change
 *   uprobes on OpenSSL 3       bpf/ssl.bpf.h: SSL_read/SSL_write(_ex)/SSL_do_handshake entry and return
 *                              (cfg_tls; attached per process by collector/source/tls.c): the plaintext, tied
 *                              to the socket a syscall inside the call used (or the one the SSL* used last:
 *                              ssl_socks), as OBS_STREAM_TLS
 * Records and maps shared with user space: abi/syscalls.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "abi/syscalls.h"
#include "bpf/bits.bpf.h"

const volatile bool cfg_follow_children = true;
/* --no-net: no socket classification on I/O syscalls */
const volatile bool cfg_net = true;
/* copy TCP payloads (protocol parsing in user space: the `capture` map) / stdout+stderr writes (log records) */
const volatile bool cfg_payload = false;
const volatile bool cfg_logs = false;
/* OpenSSL plaintext through the ssl_* uprobes (payloads on, not --no-tls) */
const volatile bool cfg_tls = false;

/* runtime switches (SC_SHED_*): .bss, so user space changes them after load */
volatile __u32 rt_shed;

/* a syscall our own probes cause (x86's uretprobe trampoline): not the program's */
const volatile __s64 cfg_skip_nr = -1;

/* traced: tgid -> 1 for every traced process; user space seeds it, fork adds */
#include "bpf/traced.bpf.h"

/* the same set as one byte per tgid (8 to a word), below user space's pid_max at start: every task on the
 * host asks it on every syscall, and an array lookup is inlined (no helper call, no hash).  Each byte has one
 * writer at a time (user space through mmap, fork/exit here) and is stored whole: no read-modify-write. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SC_TRACED_WORDS_MAX); /* user space: pid_max / 8, rounded up */
	__type(key, __u32);
	__type(value, __u64);
} traced_bytes SEC(".maps");

/* is @tgid traced: its byte, or the hash for a tgid beyond the table (pid_max raised after start) */
static __always_inline bool is_traced(__u32 tgid)
{
	__u32 w = tgid >> 3;
	__u8 *b = bpf_map_lookup_elem(&traced_bytes, &w);

	if (b)
		return b[tgid & 7];
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline void set_traced(__u32 tgid, __u8 on)
{
	__u32 w = tgid >> 3;
	__u8 *b = bpf_map_lookup_elem(&traced_bytes, &w);

	if (b)
		b[tgid & 7] = on;
}

struct sc_start {
	__u64 ts;
	__u64 nr;
	/* the SSL_read/SSL_write in flight on this thread (ssl_depth 0: none) */
	__u64 ssl;
	__u64 ssl_buf;
	__u64 ssl_lenp; /* *_ex: where the count goes; 0: the return value is the count */
	__u64 ssl_ts;
	__u64 ssl_sp; /* the outermost call's stack pointer at entry */
	__u64 ssl_sk; /* the socket a syscall inside the call used (0: none yet) */
	__s32 ssl_fd;
	__u8 ssl_dir;
	__u8 ssl_depth; /* nesting: only the outermost call counts (the stack pointer tells a nested entry) */
	__u16 pad;
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
	__uint(max_entries, SC_NDIRS *SC_NPROTOS);
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

/* payloads: drained on a timer, never woken per event */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} data_events SEC(".maps");

struct data_scratch {
	struct obs_data_event h;
	__u8 data[2 * SC_CAP]; /* offsets and lengths are masked to SC_CAP - 1: the verifier sees the bound */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_scratch);
} scratch SEC(".maps");

/* user space's verdict per socket: bytes of each read/write to copy (< SC_CAP); 0: none (no protocol it
 * parses, or its parser gave up).  Absent: SC_CAP - 1, until user space has seen the first bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u32);
} capture SEC(".maps");

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

	/* every task on the host comes here: an untraced one leaves after one inlined array load (the task
	 * storage first, as before, costs it a miss: ~20 ns more per syscall in ns/run, measured) */
	if (!is_traced(task->tgid) || id == cfg_skip_nr)
		return 0;
	st = bpf_task_storage_get(&starts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	st->nr = id;
	st->ts = bpf_ktime_get_ns();
	return 0;
}

/* the syscall's arguments (x86_64), loaded straight from the tracepoint's trusted pt_regs (no helper call) */
#define SC_ARG1(regs) ((regs)->di)
#define SC_ARG2(regs) ((regs)->si)
#define SC_ARG3(regs) ((regs)->dx)
#define SC_ARG5(regs) ((regs)->r8)

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

/* SC_SHED_PAYLOAD: is this connection one of those whose payloads are still copied (its ports decide) */
static __always_inline bool shed_keeps(__u64 sk)
{
	struct sock_common *c = &KCAST((struct sock *)sk, struct sock)->__sk_common;

	return SC_SHED_KEEPS((__u32)c->skc_num << 16 | c->skc_dport);
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

/* x & (SC_CAP - 1), in a way clang cannot drop: the verifier needs to see the bound */
static __always_inline __u64 cap_mask(__u64 x)
{
	asm volatile("%[x] &= %[m]" : [x] "+r"(x) : [m] "i"(SC_CAP - 1));
	return x;
}

/* copy up to @max (< SC_CAP) of @total bytes spread over @cnt iovecs (the first 64: gRPC's C core writes a
 * frame head, each HPACK piece and each message as iovecs of their own, 20 and more in one sendmsg) */
static __always_inline __u32 copy_iov(__u8 *dst, const struct iovec *iov, __u64 cnt, __u64 total, __u32 max)
{
	__u32 off = 0;

	for (int i = 0; i < 64; i++) {
		struct iovec v;
		__u64 n;

		if (i >= cnt || off >= total || off >= max)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		n = v.iov_len;
		if (n > total - off)
			n = total - off;
		if (n > max - off)
			n = max - off;
		if (bpf_probe_read_user(dst + cap_mask(off), cap_mask(n), v.iov_base))
			break;
		off += n;
	}
	return off;
}

/* the header of a payload event (the 4-tuple from @sk), then its @n bytes already in d->data, into the ring */
static __always_inline void emit_data(struct data_scratch *d, long fd, __u64 sk, __u32 dir, __u8 stream, __u64 enter_ns,
				      __u64 exit_ns, __u64 total, __u32 n)
{
	__u64 id = bpf_get_current_pid_tgid();

	d->h.type = OBS_EV_DATA;
	d->h.pid = id >> 32;
	d->h.tid = (__u32)id;
	d->h.fd = fd;
	d->h.sk = sk;
	d->h.enter_ns = enter_ns;
	d->h.exit_ns = exit_ns;
	d->h.total = total;
	d->h.caplen = n;
	d->h.dir = dir;
	d->h.stream = stream;
	d->h.pad = 0;
	d->h.family = 0;
	if (sk) {
		struct sock_common *c = &KCAST((struct sock *)sk, struct sock)->__sk_common;

		d->h.family = c->skc_family;
		d->h.lport = c->skc_num;
		d->h.rport = __builtin_bswap16(c->skc_dport);
		if (d->h.family == AF_INET) {
			__builtin_memcpy(d->h.laddr, &c->skc_rcv_saddr, 4);
			__builtin_memcpy(d->h.raddr, &c->skc_daddr, 4);
		} else {
			bpf_probe_read_kernel(d->h.laddr, 16, &c->skc_v6_rcv_saddr);
			bpf_probe_read_kernel(d->h.raddr, 16, &c->skc_v6_daddr);
		}
	}
	if (bpf_ringbuf_output(&data_events, d, sizeof(d->h) + cap_mask(n), BPF_RB_NO_WAKEUP))
		stat_inc(SC_STAT_DATA_RINGBUF_FULL);
}

/* the bytes a successful I/O syscall moved (at most @max < SC_CAP of them): into the payload ring */
static __always_inline void copy_payload(struct pt_regs *regs, __u32 nr, long ret, __u64 sk, __u32 dir, __u8 stream,
					 __u64 enter_ns, __u64 exit_ns, __u32 max)
{
	__u32 zero = 0, n = 0;
	struct data_scratch *d = bpf_map_lookup_elem(&scratch, &zero);
	void *buf = (void *)SC_ARG2(regs);

	if (!d)
		return;
	switch (nr) {
	case 0:
	case 1:
	case 44:
	case 45: /* read write sendto recvfrom */
		n = ret < max ? ret : max;
		if (bpf_probe_read_user(d->data, cap_mask(n), buf))
			n = 0;
		break;
	case 19:
	case 20: /* readv writev */
		n = copy_iov(d->data, buf, SC_ARG3(regs), ret, max);
		break;
	case 46:
	case 47: { /* sendmsg recvmsg */
		struct user_msghdr m;

		if (bpf_probe_read_user(&m, sizeof(m), buf))
			break;
		n = copy_iov(d->data, m.msg_iov, m.msg_iovlen, ret, max);
		break;
	}
	}
	emit_data(d, SC_ARG1(regs), sk, dir, stream, enter_ns, exit_ns, ret, n);
}

/* The first bytes copied of a socket user space has given no verdict yet: remember, as the default verdict
 * (copy everything), that its bytes are being captured, so that a later SC_SHED_PAYLOAD keeps it captured; once
 * payload capture is shed, a socket seen for the first time is sampled (1 in 8 kept) and the choice remembered
 * the same way.  One map update per connection.  Returns the capture value in force. */
static __always_inline __u32 capture_first(__u64 sk)
{
	__u32 v = SC_CAPV(SC_CAP - 1, SC_CAP - 1);

	if ((rt_shed & SC_SHED_PAYLOAD) && !shed_keeps(sk))
		v = 0;
	bpf_map_update_elem(&capture, &sk, &v, BPF_NOEXIST);
	return v;
}

#include "bpf/ssl.bpf.h"

static __always_inline void sock_io(struct task_struct *task, struct pt_regs *regs, __u32 nr, long ret, __u64 start,
				    __u64 now, struct sc_start *st)
{
	__u64 delta = now - start;
	__u32 dir, key;
	struct sc_sock *v;
	struct sock *sk;
	bool copy = true;
	int proto;

	switch (nr) {
	case 0:
	case 19:
	case 45:
	case 47: /* read readv recvfrom recvmsg */
		dir = SC_RECEIVE;
		break;
	case 1:
	case 20:
	case 44:
	case 46: /* write writev sendto sendmsg */
		dir = SC_TRANSMIT;
		break;
	default:
		return;
	}
	sk = fd_sock(task, SC_ARG1(regs));
	if (!sk || (proto = sock_proto(sk)) < 0)
		return;
	if (cfg_tls && st->ssl_depth && proto == SC_TCP) {
		/* ciphertext OpenSSL moves: counted below, never copied */
		ssl_inner(st, sk, SC_ARG1(regs));
		copy = false;
	}
	key = dir * SC_NPROTOS + proto;
	v = bpf_map_lookup_elem(&socks, &key);
	if (!v)
		return;
	v->bytes += ret;
	hist_add(&v->io, delta);
	if (cfg_payload && copy && proto == SC_TCP && ret > 0) {
		__u64 key = (__u64)sk;
		__u32 *len = bpf_map_lookup_elem(&capture, &key), max = SC_CAP - 1;

		if (len)
			max = SC_CAPV_SOCKET(*len) < SC_CAP - 1 ? SC_CAPV_SOCKET(*len) : SC_CAP - 1;
		else
			max = SC_CAPV_SOCKET(capture_first(key));
		if (max)
			copy_payload(regs, nr, ret, key, dir, OBS_STREAM_SOCKET, start, now, max);
	}
}

/* the connection's addresses, from its struct sock */
static __always_inline void conn_event(__u32 type, struct sock *sk, __u32 dir, __u32 pid)
{
	struct obs_conn_event *e = bpf_ringbuf_reserve(&data_events, sizeof(*e), 0);
	struct sock_common *c;

	if (!e) {
		stat_inc(SC_STAT_DATA_RINGBUF_FULL);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->pid = pid;
	e->sk = (__u64)sk;
	e->ts = bpf_ktime_get_ns();
	e->dir = dir;
	if (type == OBS_EV_CONN) {
		c = &KCAST(sk, struct sock)->__sk_common;
		e->family = c->skc_family;
		e->lport = c->skc_num;
		e->rport = __builtin_bswap16(c->skc_dport);
		if (e->family == AF_INET) {
			__builtin_memcpy(e->laddr, &c->skc_rcv_saddr, 4);
			__builtin_memcpy(e->raddr, &c->skc_daddr, 4);
		} else {
			bpf_probe_read_kernel(e->laddr, 16, &c->skc_v6_rcv_saddr);
			bpf_probe_read_kernel(e->raddr, 16, &c->skc_v6_daddr);
		}
	}
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* accept/accept4 returned a new fd; connect succeeded or is in progress */
static __always_inline void conn_open(struct task_struct *task, struct pt_regs *regs, __u32 nr, long ret)
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
		fd = SC_ARG1(regs);
	} else {
		return;
	}
	sk = fd_sock(task, fd);
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
	if (cfg_payload) {
		/* a new connection has no verdict yet, whatever an earlier one on this struct sock left (a copy racing
		 * its close, a verdict written late) */
		bpf_map_delete_elem(&capture, &key);
		conn_event(OBS_EV_CONN, sk, dir, bpf_get_current_pid_tgid() >> 32);
	}
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
	if (cfg_payload) {
		bpf_map_delete_elem(&capture, &key);
		conn_event(OBS_EV_CLOSE, (struct sock *)sk, 0, 0);
	}
	return 0;
}

static __always_inline void emit(__u32 type, __u32 pid, __u32 ppid);

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sc_start *st;
	struct obs_hist *h;
	__u64 now, delta, st_ts;
	__u32 nr, rt;

	/* an untraced task leaves as at entry (cheaper than its task storage's miss) */
	if (!is_traced(task->tgid))
		return 0;
	st = bpf_task_storage_get(&starts, task, 0, 0);
	if (!st || !st->ts)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - st->ts;
	nr = st->nr;
	st_ts = st->ts;
	st->ts = 0;
	if (nr >= SC_MAX_NR)
		return 0;
	rt = rt_shed;
	if (!(rt & SC_SHED_SYSCALLS)) {
		h = bpf_map_lookup_elem(&hists, &nr);
		if (h)
			hist_add(h, delta);
	}
	if (cfg_logs && !(rt & SC_SHED_LOGS) && ret > 0 && (nr == 1 || nr == 20)) { /* write writev */
		long fd = SC_ARG1(regs);

		if (fd == 1 || fd == 2) {
			copy_payload(regs, nr, ret, 0, SC_TRANSMIT, fd, st_ts, now, SC_CAP - 1);
			goto errors;
		}
	}
	/* an executable file mapped (a library loaded, dlopen too): user space looks for a TLS library to probe */
	if (cfg_tls && nr == 9 && (unsigned long)ret < (unsigned long)-4095L && (SC_ARG3(regs) & 4 /* PROT_EXEC */) &&
	    (long)SC_ARG5(regs) >= 0)
		emit(OBS_PROC_MAPEXEC, bpf_get_current_pid_tgid() >> 32, 0);
	if (cfg_net) {
		if (ret >= 0)
			sock_io(task, regs, nr, ret, st_ts, now, st);
		conn_open(task, regs, nr, ret);
	}
errors:
	if (ret < 0 && ret >= -4095 && !(rt & SC_SHED_SYSCALLS)) {
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

char LICENSE[] SEC("license") = "GPL";
