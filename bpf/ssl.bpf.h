// SPDX-License-Identifier: GPL-2.0
/* ssl.bpf.h -- part of syscalls.bpf.c (included once, before sock_io): OpenSSL 3's SSL_read/SSL_write(_ex) and
 * SSL_do_handshake entry and return, SSL_free, attached per traced process by collector/source/tls.c.  They
 * share syscalls.bpf.c's task storage `starts` (the call in flight), `capture` map and payload ring; the
 * plaintext goes out as OBS_STREAM_TLS on the socket a syscall inside the call used. */
#ifndef OBSPROBE_SSL_BPF_H
#define OBSPROBE_SSL_BPF_H

/* (process, SSL*) -> the socket its last call used: for calls answered from OpenSSL's buffer without a syscall.
 * The process is in the key: children forked from one server allocate their SSL*s at the same addresses
 * (postgres backends do), and one's entry must not answer for another's (TLS 1.3's first application data
 * arrives with the handshake: that SSL_read makes no syscall) */
struct ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct ssl_sock {
	__u64 sk;
	__s64 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_CONNS);
	__type(key, struct ssl_key);
	__type(value, struct ssl_sock);
} ssl_socks SEC(".maps");

static __always_inline struct ssl_key ssl_key(__u64 ssl)
{
	struct ssl_key k = { .ssl = ssl, .tgid = bpf_get_current_pid_tgid() >> 32, .pad = 0 };

	return k;
}

/* a socket syscall inside an SSL call: its socket is the SSL*'s (the first one seen per call) */
static __always_inline void ssl_inner(struct sc_start *st, struct sock *sk, long fd)
{
	struct ssl_sock v = { .sk = (__u64)sk, .fd = fd };
	struct ssl_key key = ssl_key(st->ssl);

	if (st->ssl_sk)
		return;
	st->ssl_sk = v.sk;
	st->ssl_fd = fd;
	bpf_map_update_elem(&ssl_socks, &key, &v, BPF_ANY);
}

/* ---- OpenSSL: attached per traced process by user space (tls.c), never to every process ---- */

#define SSL_HANDSHAKE 2 /* sc_start.ssl_dir of SSL_do_handshake: no bytes of its own */

static __always_inline int ssl_enter(struct pt_regs *ctx, void *ssl, void *buf, void *lenp, __u8 dir)
{
	__u64 sp = PT_REGS_SP(ctx);
	struct sc_start *st;

	if (!cfg_tls)
		return 0;
	st = bpf_task_storage_get(&starts, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	/* deeper on the stack than the call in flight: nested in it.  Not deeper: that call's return was never
	 * seen (attached or detached in between), and this one starts afresh */
	if (st->ssl_depth && sp < st->ssl_sp) {
		if (st->ssl_depth < 255)
			st->ssl_depth++;
		return 0;
	}
	st->ssl_depth = 1;
	st->ssl_sp = sp;
	st->ssl = (__u64)ssl;
	st->ssl_buf = (__u64)buf;
	st->ssl_lenp = (__u64)lenp;
	st->ssl_dir = dir;
	st->ssl_sk = 0;
	st->ssl_fd = -1;
	st->ssl_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_read, void *ssl, void *buf)
{
	return ssl_enter(ctx, ssl, buf, NULL, SC_RECEIVE);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write, void *ssl, void *buf)
{
	return ssl_enter(ctx, ssl, buf, NULL, SC_TRANSMIT);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return ssl_enter(ctx, ssl, buf, readbytes, SC_RECEIVE);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex, void *ssl, void *buf, __u64 num, __u64 *written)
{
	return ssl_enter(ctx, ssl, buf, written, SC_TRANSMIT);
}

/* the handshake (SSL_accept/SSL_connect call it too): no plaintext, but the socket it reads and writes is the
 * SSL*'s (the first SSL_read may be answered from what it buffered), and its records are not copied */
SEC("uprobe")
int BPF_KPROBE(ssl_handshake, void *ssl)
{
	return ssl_enter(ctx, ssl, NULL, NULL, SSL_HANDSHAKE);
}

/* the return of any of the five: plaintext moved (> 0 bytes) goes out on the SSL*'s socket */
SEC("uretprobe")
int BPF_KRETPROBE(ssl_return, long ret)
{
	struct sc_start *st = bpf_task_storage_get(&starts, bpf_get_current_task_btf(), 0, 0);
	struct data_scratch *d;
	__u32 zero = 0, max = SC_CAP - 1, *len;
	__u64 n = (int)ret, sk;
	struct ssl_key key;
	long fd;

	if (!st || !st->ssl_depth || --st->ssl_depth || st->ssl_dir == SSL_HANDSHAKE)
		return 0;
	if (st->ssl_lenp) {
		if ((int)ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)st->ssl_lenp))
			return 0;
	} else if ((int)ret <= 0) {
		return 0;
	}
	if (!n)
		return 0;
	sk = st->ssl_sk;
	fd = st->ssl_fd;
	if (!sk) {
		struct ssl_sock *s;

		key = ssl_key(st->ssl);
		s = bpf_map_lookup_elem(&ssl_socks, &key);
		if (!s) {
			stat_inc(SC_STAT_TLS_NO_SOCKET);
			return 0;
		}
		sk = s->sk;
		fd = s->fd;
	}
	len = bpf_map_lookup_elem(&capture, &sk);
	if (len)
		max = SC_CAPV_TLS(*len) < SC_CAP - 1 ? SC_CAPV_TLS(*len) : SC_CAP - 1;
	else
		max = SC_CAPV_TLS(capture_first(sk));
	if (!max || !(d = bpf_map_lookup_elem(&scratch, &zero)))
		return 0;
	if (n < max)
		max = n;
	if (bpf_probe_read_user(d->data, cap_mask(max), (void *)st->ssl_buf))
		max = 0;
	emit_data(d, fd, sk, st->ssl_dir, OBS_STREAM_TLS, st->ssl_ts, bpf_ktime_get_ns(), n, max);
	return 0;
}

/* an SSL* freed: its address may come back for another connection */
SEC("uprobe")
int BPF_KPROBE(ssl_free, void *ssl)
{
	struct ssl_key key = ssl_key((__u64)ssl);

	bpf_map_delete_elem(&ssl_socks, &key);
	return 0;
}

#endif
