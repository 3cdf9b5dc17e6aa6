// SPDX-License-Identifier: GPL-2.0
/* sockio.bpf.h -- part of syscalls.bpf.c (included once, after its per-syscall maps and argument macros): what
 * the eBPF path does for I/O syscalls on sockets and TCP connections: byte and latency counters by direction and
 * protocol, payload copies into the data ring (the `capture` map: user space's verdict per socket), OpenSSL
 * plaintext (bpf/ssl.bpf.h), connection open/close events and counts. */
#ifndef OBSPROBE_SOCKIO_BPF_H
#define OBSPROBE_SOCKIO_BPF_H

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

/* payloads: drained on a timer, never woken per event */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} data_events SEC(".maps");

/* user space's verdict per socket: bytes of each read/write to copy (< SC_CAP); 0: none (no protocol it
 * parses, or its parser gave up).  Absent: SC_CAP - 1, until user space has seen the first bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u32);
} capture SEC(".maps");

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

/* Payload records are copied once, from the process straight into a ring reservation of their exact size
 * (header + min(bytes moved, verdict)): a ring dynptr and the bpf_probe_read_user_dynptr kfunc (Linux 6.16+), whose
 * offsets and lengths the kernel checks at run time.  No per-CPU scratch, no second copy by bpf_ringbuf_output. */
extern int bpf_probe_read_user_dynptr(struct bpf_dynptr *dptr, __u32 off, __u32 size, const void *src) __ksym;

enum data_src {
	SRC_BUF, /* @src: the bytes */
	SRC_IOV, /* @src: an iovec array of @cnt */
	SRC_MSG, /* @src: a struct user_msghdr (its iovecs) */
};

/* copy @n bytes spread over @cnt iovecs (the first 64: gRPC's C core writes a frame head, each HPACK piece and each
 * message as iovecs of their own, 20 and more in one sendmsg) into @dp after the header; returns the bytes copied */
static __always_inline __u32 copy_iov(struct bpf_dynptr *dp, const struct iovec *iov, __u64 cnt, __u32 n)
{
	__u32 off = 0;

	for (int i = 0; i < 64; i++) {
		struct iovec v;
		__u64 len;

		if (i >= cnt || off >= n)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		len = v.iov_len;
		if (len > n - off)
			len = n - off;
		if (bpf_probe_read_user_dynptr(dp, sizeof(struct obs_data_event) + off, len, v.iov_base))
			break;
		off += len;
	}
	return off;
}

/* a payload record: the header (the 4-tuple from @sk), then the first min(@total, @max) bytes the I/O moved, read
 * from @src (enum data_src @kind); caplen says how many of them were readable */
static __always_inline void emit_data(long fd, __u64 sk, __u32 dir, __u8 stream, __u64 enter_ns, __u64 exit_ns,
				      __u64 total, __u32 max, __u32 kind, const void *src, __u64 cnt)
{
	__u32 n = total < max ? total : max, got = 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct obs_data_event *h;
	struct bpf_dynptr dp;

	if (bpf_ringbuf_reserve_dynptr(&data_events, sizeof(*h) + n, 0, &dp)) {
		stat_inc(SC_STAT_DATA_RINGBUF_FULL);
		bpf_ringbuf_discard_dynptr(&dp, 0); /* a failed reservation is released too */
		return;
	}
	if (kind == SRC_BUF) {
		if (!bpf_probe_read_user_dynptr(&dp, sizeof(*h), n, src))
			got = n;
	} else if (kind == SRC_IOV) {
		got = copy_iov(&dp, src, cnt, n);
	} else {
		struct user_msghdr m;

		if (!bpf_probe_read_user(&m, sizeof(m), src))
			got = copy_iov(&dp, m.msg_iov, m.msg_iovlen, n);
	}
	h = bpf_dynptr_data(&dp, 0, sizeof(*h));
	if (!h) {
		bpf_ringbuf_discard_dynptr(&dp, 0);
		return;
	}
	h->type = OBS_EV_DATA;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->fd = fd;
	h->sk = sk;
	h->enter_ns = enter_ns;
	h->exit_ns = exit_ns;
	h->total = total;
	h->caplen = got;
	h->dir = dir;
	h->stream = stream;
	h->pad = 0;
	h->family = 0;
	h->lport = h->rport = 0;
	if (sk) {
		struct sock_common *c = &KCAST((struct sock *)sk, struct sock)->__sk_common;

		h->family = c->skc_family;
		h->lport = c->skc_num;
		h->rport = __builtin_bswap16(c->skc_dport);
		if (h->family == AF_INET) {
			__builtin_memcpy(h->laddr, &c->skc_rcv_saddr, 4);
			__builtin_memcpy(h->raddr, &c->skc_daddr, 4);
		} else {
			bpf_probe_read_kernel(h->laddr, 16, &c->skc_v6_rcv_saddr);
			bpf_probe_read_kernel(h->raddr, 16, &c->skc_v6_daddr);
		}
	}
	bpf_ringbuf_submit_dynptr(&dp, BPF_RB_NO_WAKEUP);
}

/* the bytes a successful I/O syscall moved (at most @max of them): into the payload ring */
static __always_inline void copy_payload(struct pt_regs *regs, __u32 nr, long ret, __u64 sk, __u32 dir, __u8 stream,
					 __u64 enter_ns, __u64 exit_ns, __u32 max)
{
	__u32 kind;

	switch (nr) {
	case 19:
	case 20: /* readv writev */
		kind = SRC_IOV;
		break;
	case 46:
	case 47: /* sendmsg recvmsg */
		kind = SRC_MSG;
		break;
	default: /* read write sendto recvfrom */
		kind = SRC_BUF;
	}
	emit_data(SC_ARG1(regs), sk, dir, stream, enter_ns, exit_ns, ret, max, kind, (void *)SC_ARG2(regs),
		  SC_ARG3(regs));
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

/* the thread's cached slot for @fd, refilled (the fd -> socket chase) unless still valid: see fd_gen */
static __always_inline struct fd_slot *fd_lookup(struct task_struct *task, struct sc_start *st, long fd)
{
	struct fd_slot *s = &st->fdc[fd & (SC_FDC_SLOTS - 1)];
	__u32 gen, epoch;
	struct sock *sk;

	if (fd < 0 || fd > 0x7ffffffe)
		return NULL;
	/* the generations first, then the chase: a removal in between leaves the slot stale at once */
	gen = fd_gen[fd & (SC_FDGEN - 1)];
	epoch = fd_epoch;
	if (s->fd1 == fd + 1 && s->gen == gen && s->epoch == epoch)
		return s;
	sk = fd_sock(task, fd);
	s->fd1 = fd + 1;
	s->gen = gen;
	s->epoch = epoch;
	s->sk = (__u64)sk;
	s->proto = sk ? sock_proto(sk) : -1;
	s->hascap = 0;
	return s;
}

/* the capture map's value in force for the slot's socket (a lookup only when user space or a close changed the
 * map since the slot last read it: cap_gen) */
static __always_inline __u32 slot_capture(struct fd_slot *s)
{
	__u32 g = cap_gen, *len;
	__u64 key = s->sk;

	if (s->hascap && s->capgen == g)
		return s->capv;
	len = bpf_map_lookup_elem(&capture, &key);
	s->capv = len ? *len : capture_first(key);
	s->capgen = g;
	s->hascap = 1;
	return s->capv;
}

static __always_inline void sock_io(struct task_struct *task, struct pt_regs *regs, __u32 nr, long ret, __u64 start,
				    __u64 now, struct sc_start *st)
{
	__u64 delta = now - start;
	struct fd_slot *slot;
	__u32 dir, key;
	struct sc_sock *v;
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
	slot = fd_lookup(task, st, SC_ARG1(regs));
	if (!slot || !slot->sk || (proto = slot->proto) < 0)
		return;
	if (cfg_tls && st->ssl_depth && proto == SC_TCP) {
		/* ciphertext OpenSSL moves: counted below, never copied */
		ssl_inner(st, (struct sock *)slot->sk, SC_ARG1(regs));
		copy = false;
	}
	key = dir * SC_NPROTOS + proto;
	v = bpf_map_lookup_elem(&socks, &key);
	if (!v)
		return;
	v->bytes += ret;
	hist_add(&v->io, delta);
	if (cfg_payload && copy && proto == SC_TCP && ret > 0) {
		__u32 max = SC_CAPV_SOCKET(slot_capture(slot));

		if (max > SC_CAP - 1)
			max = SC_CAP - 1;
		if (max)
			copy_payload(regs, nr, ret, slot->sk, dir, OBS_STREAM_SOCKET, start, now, max);
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
		__sync_fetch_and_add(&cap_gen, 1);
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
		__sync_fetch_and_add(&cap_gen, 1);
		conn_event(OBS_EV_CLOSE, (struct sock *)sk, 0, 0);
	}
	return 0;
}

#endif
