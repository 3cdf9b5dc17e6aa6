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

/* which connection a struct sock carried when it was counted: a struct sock is freed and allocated again, and
 * an entry whose TCP_CLOSE went unseen (the connection ended before connect's or accept's sys_exit added it, or a
 * delete failed) must not stop the next connection on that address from being counted */
struct conn_id {
	__u32 dir;
	__u32 ports; /* skc_portpair: remote and local port */
	__u32 daddr; /* skc_daddr: the IPv4 peer (0 for IPv6) */
};

/* TCP connections a traced process accepted or connected: sock -> conn_id,
 * until the kernel moves the socket to TCP_CLOSE (whatever closes it) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct conn_id);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_NCONNS);
	__type(key, __u32);
	__type(value, struct sc_conns);
} conn_stats SEC(".maps");

/* payloads: drained on a timer, woken early only when a burst fills it past cfg_ring_wake */
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

/* The collector drains the payload ring every 20 ms and is never woken by it (a data ring's fd polls readable
 * whenever it holds a byte: waiting on it would be a busy loop).  A burst faster than the drains (the nginx
 * bench on a fast machine moves ~130 MB/s: a 4 MB ring fills in 30 ms) would overflow it; so the record that
 * takes it past cfg_ring_wake bytes (half of it) also puts an OBS_PROC_RING_HIGH on the events ring, which wakes
 * the collector at once: once per crossing. */
static __always_inline bool ring_crosses(__u64 len)
{
	__u64 avail;

	if (!cfg_ring_wake)
		return false;
	avail = bpf_ringbuf_query(&data_events, BPF_RB_AVAIL_DATA);
	return avail < cfg_ring_wake && avail + len >= cfg_ring_wake;
}

static __always_inline void ring_high(void)
{
	struct obs_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return; /* the events ring full: the 20 ms drain comes anyway */
	__builtin_memset(e, 0, sizeof(*e));
	e->type = OBS_PROC_RING_HIGH;
	bpf_ringbuf_submit(e, 0);
}

/* the header of a payload event (the 4-tuple from @sk), then its @n bytes already in d->data, into the ring */
static __always_inline void emit_data(struct data_scratch *d, long fd, __u64 sk, __u32 dir, __u8 stream, __u64 enter_ns,
				      __u64 exit_ns, __u64 total, __u32 n)
{
	__u64 id = bpf_get_current_pid_tgid();
	bool high;

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
	high = ring_crosses(sizeof(d->h) + n + 8);
	if (bpf_ringbuf_output(&data_events, d, sizeof(d->h) + cap_mask(n), BPF_RB_NO_WAKEUP))
		stat_inc(SC_STAT_DATA_RINGBUF_FULL);
	else if (high)
		ring_high();
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

static __always_inline void conn_count(__u32 dir, bool open)
{
	struct sc_conns *c = bpf_map_lookup_elem(&conn_stats, &dir);

	if (c && open)
		c->opened++;
	else if (c)
		c->closed++;
}

/* end the counted connection on @key: whoever deletes the entry counts the close, once */
static __always_inline void conn_end(__u64 key, __u32 dir)
{
	if (bpf_map_delete_elem(&conns, &key))
		return;
	conn_count(dir, false);
	if (cfg_payload) {
		bpf_map_delete_elem(&capture, &key);
		__sync_fetch_and_add(&cap_gen, 1);
		conn_event(OBS_EV_CLOSE, (struct sock *)key, 0, 0);
	}
}

/* accept/accept4 returned a new fd; connect succeeded or is in progress */
static __always_inline void conn_open(struct task_struct *task, struct pt_regs *regs, __u32 nr, long ret)
{
	struct conn_id id = {}, *old;
	struct sock_common *skc;
	struct sock *sk;
	long fd;
	__u64 key;

	if ((nr == 43 || nr == 288) && ret >= 0) { /* accept accept4 */
		id.dir = SC_INBOUND;
		fd = ret;
	} else if (nr == 42 && (ret == 0 || ret == -115)) { /* connect, EINPROGRESS */
		id.dir = SC_OUTBOUND;
		fd = SC_ARG1(regs);
	} else {
		return;
	}
	sk = fd_sock(task, fd);
	if (!sk || sock_proto(sk) != SC_TCP)
		return;
	skc = &KCAST(sk, struct sock)->__sk_common;
	id.ports = skc->skc_portpair;
	id.daddr = skc->skc_daddr;
	key = (__u64)sk;
	if (bpf_map_update_elem(&conns, &key, &id, BPF_NOEXIST)) {
		old = bpf_map_lookup_elem(&conns, &key);
		if (old && old->dir == id.dir && old->ports == id.ports && old->daddr == id.daddr)
			return; /* this connection again: a non-blocking connect's second call */
		if (old)	/* an earlier connection on this struct sock ended unseen */
			conn_end(key, old->dir);
		if (bpf_map_update_elem(&conns, &key, &id, BPF_NOEXIST)) {
			stat_inc(SC_STAT_CONN_MAP_FULL);
			return;
		}
	}
	conn_count(id.dir, true);
	if (cfg_payload) {
		/* a new connection has no verdict yet, whatever an earlier one on this struct sock left (a copy racing
		 * its close, a verdict written late) */
		bpf_map_delete_elem(&capture, &key);
		__sync_fetch_and_add(&cap_gen, 1);
		conn_event(OBS_EV_CONN, sk, id.dir, bpf_get_current_pid_tgid() >> 32);
	}
	/* it may have reached TCP_CLOSE (a reset) between the syscall's work and this sys_exit: tcp_state found no
	 * entry then, so end it here */
	if (skc->skc_state == TCP_CLOSE)
		conn_end(key, id.dir);
}

/* any path to TCP_CLOSE (close, exit, reset) ends a connection we counted */
static __always_inline void proc_on_listen(const struct sock *sk); /* discovery: bpf/proc.bpf.h */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk;
	struct conn_id *id;

	if (newstate == TCP_LISTEN)
		proc_on_listen(sk);
	if (newstate != TCP_CLOSE)
		return 0;
	id = bpf_map_lookup_elem(&conns, &key);
	if (id)
		conn_end(key, id->dir);
	return 0;
}

#endif
