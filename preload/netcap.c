/* netcap.c -- the shim's network capture: socket classes, HTTP/1 exchanges parsed in-process, traceparent planned */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/proto/conn.h"
#include "lib/randid.h"
#include "lib/proto/http1_conn.h"
#include "lib/sampler.h"
#include "preload/h2cap.h"
#include "preload/netcap.h"
#include "preload/netlock.h"
#include "preload/netutil.h"
#include "preload/seg.h"
#include "preload/vmread.h"

uint8_t netcap_fd_class[OBS_FD_MAX];
int16_t netcap_conn_of[OBS_FD_MAX];
__thread struct netcap_serving netcap_serving;
__thread int in_shim;
__thread struct netcap_tls_call netcap_tls_call;

static double sample_ratio = 1.0;

/* the request this thread serves: ids (netcap_serving) plus what is passed on downstream */
static __thread char cur_tracestate[OBS_X_TRACESTATE_MAX];
static __thread char cur_baggage[CTX_STATE_LEN];
static __thread uint8_t cur_sampled;

void netcap__init(void)
{
	sampler__parse_ratio(getenv("OBSPROBE_SAMPLE_RATIO"), &sample_ratio);
}

/* ---- exchanges: the ids a request gets, where an exchange goes ---- */

/* the string @src (at most @size bytes with its NUL, else cut) into @dst: its bytes, not the whole array */
static inline void copy_str(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* no local parent: the caller's trace (headers) or a new one, decided as the collector decides (lib/sampler.c) */
static void adopt(struct obs_exchange *x, const struct trace_ctx *in)
{
	if (!in->valid)
		randid__fill(x->trace_id, 16);
	if (sampler__adopt(in, sample_ratio, x->trace_id, x->parent_id, &x->sampled))
		x->parent_remote = 1;
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct shim_conn *c = ctx;

	if (c->tls)
		x->flags |= OBS_X_F_TLS;
	x->pid = netutil__pid();
	x->tid = netutil__tid();
	randid__fill(x->span_id, 8);
	if (x->kind == 2) { /* server: the thread serves this request now */
		adopt(x, in);
		memcpy(netcap_serving.trace_id, x->trace_id, 16);
		memcpy(netcap_serving.span_id, x->span_id, 8);
		netcap_serving.active = true;
		cur_sampled = x->sampled;
		copy_str(cur_tracestate, x->tracestate, sizeof(cur_tracestate));
		copy_str(cur_baggage, in->baggage, sizeof(cur_baggage));
		return;
	}
	if (!strcmp(x->op, "CONNECT"))
		c->not_h1 = 1;	 /* a tunnel: what follows is not parsed, so never ours to change */
	if (c->inject_pending) { /* the ids already on the wire in its traceparent */
		c->inject_pending = 0;
		memcpy(x->trace_id, c->inj_trace_id, 16);
		memcpy(x->span_id, c->inj_span_id, 8);
		memcpy(x->parent_id, netcap_serving.span_id, 8);
		x->sampled = c->inj_sampled;
	} else if (netcap_serving.active) {
		memcpy(x->trace_id, netcap_serving.trace_id, 16);
		memcpy(x->parent_id, netcap_serving.span_id, 8);
		x->sampled = cur_sampled;
	} else {
		adopt(x, in);
	}
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct shim_conn *c = ctx;

	if (c->tls)
		x->flags |= OBS_X_F_TLS;
	if (x->kind == 2 && netcap_serving.active && !memcmp(netcap_serving.span_id, x->span_id, 8))
		netcap_serving.active = false;
	seg__put(OBS_REC_EXCHANGE, x, sizeof(*x));
}

/* ---- the parser (lib/proto): the only code that names it ---- */

static void on_h2(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct shim_conn *c = ctx;

	h2cap__event(&c->h2, &c->pc.local, &c->pc.peer, ev, block);
}

static const struct proto_sink shim_cb = { .on_request = on_request, .on_exchange = on_exchange, .on_h2 = on_h2 };

uint8_t netcap__serving_sampled(void)
{
	return cur_sampled;
}

static void parser_open(struct shim_conn *c, const struct obs_addr *local, const struct obs_addr *peer)
{
	h2cap__open(&c->h2, &c->pc.local, &c->pc.peer, mono_ns());
	proto_conn__init(&c->pc, &shim_cb, c);
	c->pc.local = *local;
	c->pc.peer = *peer;
}

void netcap__parser_feed(struct shim_conn *c, int dir, const void *buf, size_t len, size_t total, uint64_t t)
{
	if (dir)
		h2cap__out(&c->h2, len ? buf : NULL, len ? len : total);
	proto_conn__feed(&c->pc, dir ? PROTO_OUT : PROTO_IN, buf, len, total, t);
}

static void parser_close(struct shim_conn *c, uint64_t t)
{
	proto_conn__close(&c->pc, t);
	h2cap__close(&c->h2, &c->pc.local, &c->pc.peer, t);
}

/* The connection's outgoing bytes have been HTTP/1 requests so far, none cut off, and the next is ours */
static bool parser_injectable(struct shim_conn *c)
{
	const struct proto_conn *pc = &c->pc;

	if (c->not_h1 || __atomic_load_n(&pc->off, __ATOMIC_RELAXED))
		return false;
	if (!pc->proto)
		return !pc->strikes; /* nothing sent or received yet */
	return pc->proto->id == OBS_PROTO_HTTP1 && http1_conn__injectable(proto_conn__state(&c->pc));
}

/* ---- connections ---- */

/* a parser for the TCP connection @fd; @peer: the address the program connected to, NULL when accepted */
static void conn_open(int fd, const struct sockaddr *peer, socklen_t plen)
{
	struct obs_addr local, remote;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct shim_conn *c = NULL;
	int i;

	if (!netcap_pool) {
		void *p = mmap(NULL, NETCAP_CONNS * sizeof(*netcap_pool), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct shim_conn *none = NULL;

		if (p == MAP_FAILED)
			return;
		if (!__atomic_compare_exchange_n(&netcap_pool, &none, p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(p, NETCAP_CONNS * sizeof(*netcap_pool));
	}
	for (i = 0; i < NETCAP_CONNS; i++) {
		int zero = 0;

		if (!__atomic_compare_exchange_n(&netcap_pool[i].used, &zero, 1, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		/* held by a thread that found it before its close (a stale fd): passed over, never waited for */
		if (__atomic_compare_exchange_n(&netcap_pool[i].lock, &zero, LK_WHOLE, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			c = &netcap_pool[i];
			break;
		}
		__atomic_store_n(&netcap_pool[i].used, 0, __ATOMIC_RELEASE);
	}
	if (!c) {
		seg__count_lost(SEG_LOST_CONNS_FULL);
		return;
	}
	c->inject_pending = 0;
	c->not_h1 = 0;
	__atomic_store_n(&c->tls, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->h2dir, 0, __ATOMIC_RELAXED);
	c->skipped[0] = c->skipped[1] = 0;
	memset(&local, 0, sizeof(local));
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		netutil__addr_of(&local, (struct sockaddr *)&ss, len);
	/* the peer: the address the program connected to (the kernel checked @plen), else asked again; an
	 * accepting caller's buffer is never read (the kernel's length may exceed it when the address was cut) */
	memset(&remote, 0, sizeof(remote));
	if (peer) {
		netutil__addr_of(&remote, peer, plen);
	} else {
		len = sizeof(ss);
		if (!getpeername(fd, (struct sockaddr *)&ss, &len))
			netutil__addr_of(&remote, (struct sockaddr *)&ss, len);
	}
	parser_open(c, &local, &remote);
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&netcap_conn_of[fd], (int16_t)(c - netcap_pool + 1), __ATOMIC_RELEASE);
}

void netcap__opened(int fd, uint8_t dir, const struct sockaddr *peer, socklen_t plen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);

	if (fd < 0 || fd >= OBS_FD_MAX)
		return;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl))
		return;
	netcap_fd_class[fd] = dir | (ss.ss_family == AF_UNIX ? OBS_FD_UNIX
				     : type == SOCK_DGRAM    ? OBS_FD_UDP
							     : OBS_FD_TCP);
	if ((netcap_fd_class[fd] & 0xf) == OBS_FD_TCP) {
		seg__count_conn(true, dir == OBS_FD_INBOUND ? SEG_INBOUND : SEG_OUTBOUND);
		conn_open(fd, dir == OBS_FD_INBOUND ? NULL : peer, plen);
	}
}

void netcap__fd_closed(int fd)
{
	uint8_t cls;

	if (fd < 0 || fd >= OBS_FD_MAX || !(cls = netcap_fd_class[fd]))
		return;
	if ((cls & 0xf) == OBS_FD_TCP && !(cls & OBS_FD_INHERITED))
		seg__count_conn(false, cls & OBS_FD_INBOUND ? SEG_INBOUND : SEG_OUTBOUND);
	netcap_fd_class[fd] = 0;
}

void netcap__conn_close(int fd)
{
	int held;
	struct shim_conn *c = netlock__conn(fd, &held);

	if (!c)
		return;
	__atomic_store_n(&netcap_conn_of[fd], 0, __ATOMIC_RELEASE);
	parser_close(c, mono_ns());
	__atomic_store_n(&c->h2dir, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&c->used, 0, __ATOMIC_RELEASE);
}

void netcap__atfork_child(void)
{
	netutil__atfork_child(); /* this process's own ids, and the forking thread's */
	/* a prefork server's child serves what its parent accepted (postgres backends, TLS included): it keeps the
	 * classes, but the connections were counted opened by the parent, which counts their close too */
	for (int fd = 0; fd < OBS_FD_MAX; fd++)
		if (netcap_fd_class[fd])
			netcap_fd_class[fd] |= OBS_FD_INHERITED;
	/* the child's copy of the pool is its own and its connections stay (it may serve them), but a lock
	 * another thread of the parent held at the fork would never be released here */
	if (netcap_pool)
		for (int i = 0; i < NETCAP_CONNS; i++)
			netcap_pool[i].lock = 0;
}

static void feed(struct shim_conn *c, int dir, const struct iovec *iov, int iovcnt, size_t n, uint64_t t)
{
	for (int i = 0; i < iovcnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;

		if (k)
			netcap__parser_feed(c, dir, iov[i].iov_base, k, k, t);
		n -= k;
	}
}

/* socket I/O on @fd: false when its bytes are not to be parsed -- it happened inside an OpenSSL call (the fd is
 * that SSL's), or the socket carries TLS records */
static bool raw_bytes(int fd)
{
	if (fd < 0 || fd >= OBS_FD_MAX)
		return false;
	if (netcap_tls_call.ssl) {
		if (netcap_tls_call.fd < 0)
			netcap_tls_call.fd = fd;
		netcap__tls_mark(fd);
		return false;
	}
	return !(netcap_fd_class[fd] & OBS_FD_TLS);
}

/* a first chunk nothing claimed: TLS records (a library not interposed) leave the socket's raw bytes alone */
static bool tls_start(int fd, struct shim_conn *c, const struct iovec *iov, int iovcnt, size_t n)
{
	uint8_t b[6];
	size_t k;

	if (c->pc.proto || c->pc.off || c->tls)
		return false;
	k = netutil__first_bytes(b, sizeof(b), iov, iovcnt, n);
	if (!netutil__tls_record(b, k))
		return false;
	netcap__tls_mark(fd);
	return true;
}

/* @fd's connection is no longer parsed (its verdict was "off") and its written bytes are not followed for HTTP/2
 * (given up): nothing to do with its bytes, not even taking its lock.  Both only ever become so under the lock and
 * stay so until the slot is opened again, which a stale read can only take for the old connection's state. */
static bool ignored(int fd)
{
	int idx = __atomic_load_n(&netcap_conn_of[fd], __ATOMIC_ACQUIRE);
	struct shim_conn *c;

	if (!idx)
		return true;
	c = &netcap_pool[idx - 1];
	return __atomic_load_n(&c->pc.off, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&c->h2.out.state, __ATOMIC_RELAXED) == INJH2_DEAD;
}

void netcap__data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n)
{
	struct shim_conn *c;
	int held;

	if (!raw_bytes(fd) || ignored(fd) || !(c = netlock__io(fd, dir, false, n, &held)))
		return;
	if (!tls_start(fd, c, iov, iovcnt, n))
		feed(c, dir, iov, iovcnt, n, mono_ns());
	netlock__unlock(c, held);
}

void netcap__gap(int fd, int dir, size_t n)
{
	struct shim_conn *c;
	int held;

	if (!raw_bytes(fd) || ignored(fd) || !(c = netlock__io(fd, dir, false, n, &held)))
		return;
	netcap__parser_feed(c, dir, NULL, 0, n, mono_ns());
	netlock__unlock(c, held);
}

/* ---- TLS plaintext ---- */

/* @c's parser starts afresh on its first plaintext (before: a clear prefix, a PostgreSQL SSLRequest and 'S'); only
 * a whole-lock holder finds it not yet done (lock_dir) */
static void tls_switch(struct shim_conn *c)
{
	struct obs_addr local = c->pc.local, peer = c->pc.peer;

	if (__atomic_load_n(&c->tls, __ATOMIC_RELAXED))
		return;
	parser_open(c, &local, &peer);
	__atomic_store_n(&c->h2dir, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->tls, 1, __ATOMIC_RELAXED);
	c->not_h1 = 0;
	c->inject_pending = 0;
}

bool netcap__tls_data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n)
{
	struct shim_conn *c;
	int held;

	if (fd < 0 || fd >= OBS_FD_MAX || !netcap_conn_of[fd] || (netcap_fd_class[fd] & 0xf) != OBS_FD_TCP) {
		seg__count_lost(SEG_LOST_TLS_NO_SOCKET);
		return false;
	}
	netcap__tls_mark(fd);
	c = netlock__io(fd, dir, true, n, &held); /* busy: counted there */
	if (!c)
		return true;
	tls_switch(c);
	feed(c, dir, iov, iovcnt, n, mono_ns());
	netlock__unlock(c, held);
	return true;
}

/* ---- traceparent injection into requests a serving thread makes ---- */

/* per thread, between netcap__inject_plan and netcap__inject_done (off the host's stack): the connection held,
 * the program's iovecs and head copied out, the ids put in, the write built */
static __thread struct {
	struct shim_conn *c;
	int held; /* c's lock bits: the outgoing direction alone on an HTTP/2 connection */
	int iovcnt;
	bool h2; /* the write carries our HTTP/2 frame (h2cap.c holds its buffer) */
	struct inject_ids ids;
	struct iovec mine[NETCAP_INJECT_IOV_MAX];
	char head[INJECT_HEAD_MAX];
	struct inject_plan plan;
} inj;

const struct inject_plan *netcap__inject_plan(int fd, const struct iovec *iov, int iovcnt)
{
	struct iovec rem[NETCAP_INJECT_IOV_MAX];
	struct shim_conn *c;
	size_t want = 0;
	int nrem = 0;
	long got;

	if (!netcap_serving.active || iovcnt < 1 || iovcnt > NETCAP_INJECT_IOV_MAX)
		return NULL;
	c = netlock__dir(fd, 1, false, &inj.held);
	if (!c)
		return NULL;
	/* cheap checks first: a body being written, or a connection that is not plain HTTP/1, is left alone */
	inj.h2 = inject_h2__proven(&c->h2.out);
	if ((!inj.h2 && !parser_injectable(c)) || !vmread__copy(inj.mine, iov, iovcnt * sizeof(*iov)))
		goto skip;
	if (inj.h2) { /* a connection this process opened with the HTTP/2 preface: h2cap.c plans and counts */
		if (!h2cap__inject_plan(&c->h2, fd, inj.mine, iovcnt, netcap_serving.trace_id, netcap_serving.span_id,
					cur_sampled, &inj.plan))
			goto skip;
		goto planned;
	}
	/* the head's bytes, copied as the kernel would read them (a bad pointer fails here, not in the host) */
	for (int i = 0; i < iovcnt && want < sizeof(inj.head); i++) {
		size_t k = inj.mine[i].iov_len < sizeof(inj.head) - want ? inj.mine[i].iov_len
									 : sizeof(inj.head) - want;

		if (!k)
			continue;
		rem[nrem].iov_base = inj.mine[i].iov_base;
		rem[nrem++].iov_len = k;
		want += k;
	}
	got = want ? vmread__gather(inj.head, want, rem, nrem) : 0;
	if (got <= 0)
		goto skip;
	memcpy(inj.ids.trace_id, netcap_serving.trace_id, 16);
	randid__fill(inj.ids.span_id, 8);
	inj.ids.sampled = cur_sampled;
	inj.ids.tracestate = cur_tracestate;
	inj.ids.baggage = cur_baggage;
	if (!inject__plan(&inj.plan, inj.mine, iovcnt, inj.head, (size_t)got, &inj.ids))
		goto skip; /* not a whole HTTP/1 request head, or it carries its own traceparent */
	if (!netutil__room_for(fd, inj.plan.need)) {
		seg__count_inject(SEG_INJ_NO_ROOM); /* the program's bytes go out as they are */
		goto skip;
	}
planned:
	inj.c = c;
	inj.iovcnt = iovcnt;
	return &inj.plan;
skip:
	netlock__unlock(c, inj.held);
	return NULL;
}

ssize_t netcap__inject_done(int fd, ssize_t r)
{
	const struct inject_plan *p = &inj.plan;
	struct shim_conn *c = inj.c;
	ssize_t told;
	bool cut;

	if (inj.h2) {
		told = h2cap__inject_done(&c->h2, fd, r);
		goto fed;
	}
	told = inject__count(p, r, &cut);
	if (cut) {
		/* the kernel took less than it had room for (memory pressure): finish our lines if it takes them
		 * now, never waiting; the program resends its own bytes after its request line */
		size_t sent = r - p->line;

		while (sent < p->hdrlen) {
			ssize_t k = syscall(SYS_sendto, fd, p->hdr + sent, p->hdrlen - sent,
					    MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);

			if (k <= 0)
				break;
			sent += k;
		}
		seg__count_inject(sent < p->hdrlen ? SEG_INJ_CUT : SEG_INJ_DONE);
	} else if (r > 0 && (size_t)r > p->line) {
		seg__count_inject(SEG_INJ_DONE);
	} else if (r > 0) {
		seg__count_inject(SEG_INJ_NO_ROOM); /* only part of the request line went: the header never did */
	}
	if (r > 0 && (size_t)r > p->line) {
		memcpy(c->inj_trace_id, inj.ids.trace_id, 16);
		memcpy(c->inj_span_id, inj.ids.span_id, 8);
		c->inj_sampled = inj.ids.sampled;
		c->inject_pending = 1;
	}
fed:
	if (told > 0)
		feed(c, 1, inj.mine, inj.iovcnt, told, mono_ns());
	inj.c = NULL;
	netlock__unlock(c, inj.held);
	return told;
}

/* ---- traceparent inside TLS: the write is built flat in tlscap.c's stable buffer, kept there until it completes ---- */

size_t netcap__tls_inject_plan(int fd, const void *buf, size_t n, char *out, size_t cap, bool partial,
			       struct netcap_tls_inj *meta)
{
	struct iovec one = { (void *)buf, n };
	struct shim_conn *c;
	size_t head = n < sizeof(inj.head) ? n : sizeof(inj.head), total = 0;
	enum obs_seg_inject refused = SEG_INJ__COUNT;
	int held;

	if (!netcap__tls_injectable(fd) || !n || !(c = netlock__dir(fd, 1, true, &held)))
		return 0;
	tls_switch(c);
	if (inject_h2__proven(&c->h2.out)) { /* HTTP/2: h2cap.c plans and counts */
		total = h2cap__tls_plan(&c->h2, buf, n, out, cap, partial, netcap_serving.trace_id,
					netcap_serving.span_id, cur_sampled, meta);
		goto out;
	}
	if (!parser_injectable(c) || !vmread__copy(inj.head, buf, head))
		goto out;
	memcpy(inj.ids.trace_id, netcap_serving.trace_id, 16);
	randid__fill(inj.ids.span_id, 8);
	inj.ids.sampled = cur_sampled;
	inj.ids.tracestate = cur_tracestate;
	inj.ids.baggage = cur_baggage;
	if (!inject__plan(&inj.plan, &one, 1, inj.head, head, &inj.ids))
		goto out; /* not a whole HTTP/1 request head, or it carries its own traceparent: not counted */
	if (partial) {
		refused = SEG_INJ_NOT_EXACT;
		goto out;
	}
	if (!out || n > cap || inj.plan.hdrlen > cap - n) {
		refused = SEG_INJ_NO_SLOT;
		goto out;
	}
	/* the program's bytes around ours, read as OpenSSL would read them (a bad pointer fails here) */
	if (!vmread__copy(out, buf, inj.plan.line) ||
	    !vmread__copy(out + inj.plan.line + inj.plan.hdrlen, (const char *)buf + inj.plan.line, n - inj.plan.line))
		goto out;
	memcpy(out + inj.plan.line, inj.plan.hdr, inj.plan.hdrlen);
	meta->n = n;
	meta->line = inj.plan.line;
	meta->hdrlen = inj.plan.hdrlen;
	memcpy(meta->trace_id, inj.ids.trace_id, 16);
	memcpy(meta->span_id, inj.ids.span_id, 8);
	meta->sampled = inj.ids.sampled;
	total = n + inj.plan.hdrlen;
out:
	netlock__unlock(c, held);
	if (refused != SEG_INJ__COUNT)
		seg__count_inject(refused);
	return total;
}

void netcap__tls_inject_done(int fd, const struct netcap_tls_inj *meta, const char *flat, bool sent)
{
	struct iovec mine[4];
	int k = h2cap__tls_mine(meta, flat, mine); /* the program's bytes in @flat */
	struct shim_conn *c;
	int held;

	seg__count_inject(sent ? SEG_INJ_DONE : SEG_INJ_FAILED);
	if (!sent || !(c = netlock__io(fd, 1, true, meta->n, &held)))
		return;
	if (meta->h2) {
		h2cap__tls_done(&c->h2, meta);
	} else {
		memcpy(c->inj_trace_id, meta->trace_id, 16);
		memcpy(c->inj_span_id, meta->span_id, 8);
		c->inj_sampled = meta->sampled;
		c->inject_pending = 1;
	}
	tls_switch(c);
	feed(c, 1, mine, k, meta->n, mono_ns());
	netlock__unlock(c, held);
}
