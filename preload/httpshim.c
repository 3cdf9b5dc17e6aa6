/* httpshim.c -- the shim's HTTP and log capture: parse sockets in-process, inject traceparent, tag log lines */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/proto/conn.h"
#include "lib/proto/http1_conn.h"
#include "preload/inject.h"
#include "lib/sampler.h"
#include "abi/segment.h"
#include "preload/shim.h"
#include "lib/clock.h"

#define SHIM_CONNS 1024 /* HTTP connections parsed at once per process (pool, mapped on first use) */

struct shim_conn {
	int lock;		/* try-lock: a connection used by two threads at once skips a chunk */
	int used;
	uint8_t inject_pending;	/* ids for the next client request were put in its traceparent */
	uint8_t not_h1;		/* its outgoing bytes stopped being HTTP/1 requests (CONNECT): never inject */
	uint8_t inj_trace_id[16];
	uint8_t inj_span_id[8];
	uint8_t inj_sampled;
	struct proto_conn pc;
};

static struct shim_conn *pool;		/* SHIM_CONNS entries, mmap'd at first use */
int16_t obs_conn_of[OBS_FD_MAX];	/* fd -> pool index + 1; 0 = none */
static double sample_ratio = 1.0;
static bool log_tag;

/* the request this thread serves: ids (shim.h) plus what is passed on downstream */
static __thread char cur_tracestate[OBS_X_TRACESTATE_MAX];
static __thread char cur_baggage[CTX_STATE_LEN];
static __thread uint8_t cur_sampled;

static void random_id(uint8_t *id, size_t len)
{
	static __thread uint64_t s[2];

	if (!s[0] && !s[1]) {
		if (syscall(SYS_getrandom, s, sizeof(s), 0) != sizeof(s)) {
			s[0] = mono_ns() ^ 0x9e3779b97f4a7c15ull;
			s[1] = (uint64_t)(uintptr_t)&s;
		}
		s[1] |= 1;
	}
	do {
		for (size_t i = 0; i < len; i += 8) {
			uint64_t x = s[0], y = s[1], r;

			s[0] = y;
			x ^= x << 23;
			s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
			r = s[1] + y;
			memcpy(id + i, &r, len - i < 8 ? len - i : 8);
		}
	} while (!memcmp(id, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", len));
}

/* ---- exchanges ---- */

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct shim_conn *c = ctx;

	x->pid = (int32_t)syscall(SYS_getpid);
	x->tid = (int32_t)syscall(SYS_gettid);
	random_id(x->span_id, 8);
	if (x->kind == 2) { /* server: the thread serves this request now */
		if (in->valid) {
			memcpy(x->trace_id, in->trace_id, 16);
			memcpy(x->parent_id, in->span_id, 8);
			x->parent_remote = 1;
			x->sampled = in->decided ? in->sampled : sampler__keep(sample_ratio, in->trace_id);
		} else {
			random_id(x->trace_id, 16);
			x->sampled = in->decided ? in->sampled : sampler__keep(sample_ratio, x->trace_id);
		}
		memcpy(obs_current_request.trace_id, x->trace_id, 16);
		memcpy(obs_current_request.span_id, x->span_id, 8);
		obs_current_request.active = true;
		cur_sampled = x->sampled;
		memcpy(cur_tracestate, x->tracestate, sizeof(cur_tracestate));
		memcpy(cur_baggage, in->baggage, sizeof(cur_baggage));
		return;
	}
	if (!strcmp(x->op, "CONNECT"))
		c->not_h1 = 1; /* a tunnel: what follows is not parsed, so never ours to change */
	if (c->inject_pending) { /* the ids already on the wire in its traceparent */
		c->inject_pending = 0;
		memcpy(x->trace_id, c->inj_trace_id, 16);
		memcpy(x->span_id, c->inj_span_id, 8);
		memcpy(x->parent_id, obs_current_request.span_id, 8);
		x->sampled = c->inj_sampled;
	} else if (obs_current_request.active) {
		memcpy(x->trace_id, obs_current_request.trace_id, 16);
		memcpy(x->parent_id, obs_current_request.span_id, 8);
		x->sampled = cur_sampled;
	} else if (in->valid) {
		memcpy(x->trace_id, in->trace_id, 16);
		memcpy(x->parent_id, in->span_id, 8);
		x->parent_remote = 1;
		x->sampled = in->decided ? in->sampled : sampler__keep(sample_ratio, in->trace_id);
	} else {
		random_id(x->trace_id, 16);
		x->sampled = in->decided ? in->sampled : sampler__keep(sample_ratio, x->trace_id);
	}
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct obs_segment *s = obs_shim_segment();

	(void)ctx;
	if (x->kind == 2 && obs_current_request.active && !memcmp(obs_current_request.span_id, x->span_id, 8))
		obs_current_request.active = false;
	if (s)
		obs_seg_ring_put(s, OBS_REC_EXCHANGE, x, sizeof(*x));
}

static const struct proto_sink shim_cb = { .on_request = on_request, .on_exchange = on_exchange };

void obs_http_init(void)
{
	const char *r = getenv("OBSPROBE_SAMPLE_RATIO"), *t = getenv("OBSPROBE_LOG_TAG");

	if (r && *r) {
		char *e;
		double v = strtod(r, &e);

		if (e != r && v >= 0 && v <= 1)
			sample_ratio = v;
	}
	log_tag = t && !strcmp(t, "1");
}

/* @a (@len valid bytes, from the kernel) into @out; left unknown when too short for its family */
static void addr_of(struct obs_addr *out, const struct sockaddr *a, socklen_t len)
{
	memset(out, 0, sizeof(*out));
	if (len >= sizeof(struct sockaddr_in) && a->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		out->family = AF_INET;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
	} else if (len >= offsetof(struct sockaddr_in6, sin6_scope_id) && a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		out->family = AF_INET6;
		out->port = ntohs(in6->sin6_port);
		memcpy(out->addr, &in6->sin6_addr, 16);
	}
}

void obs_http_open(int fd, const struct sockaddr *peer, socklen_t plen, bool inbound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct shim_conn *c = NULL;
	int i;

	if (fd < 0 || fd >= OBS_FD_MAX)
		return;
	if (!pool) {
		void *p = mmap(NULL, SHIM_CONNS * sizeof(*pool), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		struct shim_conn *none = NULL;

		if (p == MAP_FAILED)
			return;
		if (!__atomic_compare_exchange_n(&pool, &none, p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(p, SHIM_CONNS * sizeof(*pool));
	}
	for (i = 0; i < SHIM_CONNS; i++) {
		int zero = 0;

		if (__atomic_compare_exchange_n(&pool[i].used, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			c = &pool[i];
			break;
		}
	}
	if (!c) {
		struct obs_segment *s = obs_shim_segment();

		if (s)
			__atomic_fetch_add(&s->h.lost[SEG_LOST_CONNS_FULL], 1, __ATOMIC_RELAXED);
		return;
	}
	proto_conn__init(&c->pc, &shim_cb, c);
	c->inject_pending = 0;
	c->not_h1 = 0;
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		addr_of(&c->pc.local, (struct sockaddr *)&ss, len);
	/* the peer: the address the program connected to (the kernel checked @plen), else asked again; an
	 * accepting caller's buffer is never read (the kernel's length may exceed it when the address was cut) */
	if (peer && !inbound) {
		addr_of(&c->pc.peer, peer, plen);
	} else {
		len = sizeof(ss);
		if (!getpeername(fd, (struct sockaddr *)&ss, &len))
			addr_of(&c->pc.peer, (struct sockaddr *)&ss, len);
	}
	__atomic_store_n(&obs_conn_of[fd], (int16_t)(c - pool + 1), __ATOMIC_RELEASE);
}

static struct shim_conn *lock_conn(int fd)
{
	int idx, zero = 0;
	struct shim_conn *c;

	if (fd < 0 || fd >= OBS_FD_MAX || !(idx = __atomic_load_n(&obs_conn_of[fd], __ATOMIC_ACQUIRE)))
		return NULL;
	c = &pool[idx - 1];
	if (!__atomic_compare_exchange_n(&c->lock, &zero, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		struct obs_segment *s = obs_shim_segment();

		if (s)
			__atomic_fetch_add(&s->h.lost[SEG_LOST_BUSY], 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return c;
}

static void unlock_conn(struct shim_conn *c)
{
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
}

void obs_http_close(int fd)
{
	struct shim_conn *c = lock_conn(fd);

	if (!c)
		return;
	__atomic_store_n(&obs_conn_of[fd], 0, __ATOMIC_RELEASE);
	proto_conn__close(&c->pc, mono_ns());
	unlock_conn(c);
	__atomic_store_n(&c->used, 0, __ATOMIC_RELEASE);
}

void obs_http_atfork_child(void)
{
	/* the child's copy of the pool is its own and its connections stay (it may serve them), but a lock
	 * another thread of the parent held at the fork would never be released here */
	if (pool)
		for (int i = 0; i < SHIM_CONNS; i++)
			pool[i].lock = 0;
}

static void feed(struct shim_conn *c, int dir, const struct iovec *iov, int iovcnt, size_t n, uint64_t t)
{
	for (int i = 0; i < iovcnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;

		if (k)
			proto_conn__feed(&c->pc, dir ? PROTO_OUT : PROTO_IN, iov[i].iov_base, k, k, t);
		n -= k;
	}
}

void obs_http_data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n)
{
	struct shim_conn *c = lock_conn(fd);

	if (!c)
		return;
	feed(c, dir, iov, iovcnt, n, mono_ns());
	unlock_conn(c);
}

void obs_http_gap(int fd, int dir, size_t n)
{
	struct shim_conn *c = lock_conn(fd);

	if (!c)
		return;
	proto_conn__gap(&c->pc, dir ? PROTO_OUT : PROTO_IN, n, mono_ns());
	unlock_conn(c);
}

static bool vm_read_denied; /* process_vm_readv refused (a seccomp filter, an old kernel) */

bool obs_copy_in(void *dst, const void *src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)src, n };
	long got;

	if (n == 0)
		return true;
	if (__atomic_load_n(&vm_read_denied, __ATOMIC_RELAXED))
		return false;
	got = syscall(SYS_process_vm_readv, syscall(SYS_getpid), &l, 1UL, &r, 1UL, 0UL);
	if (got < 0 && (errno == ENOSYS || errno == EPERM))
		__atomic_store_n(&vm_read_denied, true, __ATOMIC_RELAXED);
	return got == (long)n;
}


/* ---- traceparent injection into requests a serving thread makes ---- */

/* per thread: the head copied out of the program's buffers and the write being built (off the host's stack) */
static __thread char inj_head[INJECT_HEAD_MAX];
static __thread struct inject_plan inj_plan;

/* Will the kernel take @need more bytes in one call without waiting?  TCP queues a write while the
 * memory it has queued (SO_MEMINFO: what tcp_sendmsg checks before each new buffer) is under the send
 * buffer size, and, with TCP_NOTSENT_LOWAT set, while the unsent bytes are under it.  Each buffer costs up
 * to ~2 KiB besides its bytes; a buffer holds at least ~512 bytes. */
static bool room_for(int fd, size_t need)
{
	uint32_t mi[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mi), ll = sizeof(int);
	int lowat = 0, unsent = 0;
	size_t slack = 2048 * (need / 512 + 2);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) || len <= SK_MEMINFO_WMEM_QUEUED * sizeof(uint32_t))
		return false;
	if (mi[SK_MEMINFO_WMEM_QUEUED] >= mi[SK_MEMINFO_SNDBUF] ||
	    mi[SK_MEMINFO_SNDBUF] - mi[SK_MEMINFO_WMEM_QUEUED] < need + slack)
		return false;
	if (getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, &ll) || lowat == 0 || lowat == -1)
		return true;
	return !ioctl(fd, SIOCOUTQNSD, &unsent) && unsent >= 0 && (size_t)unsent + need + slack < (unsigned)lowat;
}

/* The connection's outgoing bytes have been HTTP/1 requests so far, none cut off, and the next is ours */
static bool conn_injectable(struct shim_conn *c)
{
	const struct proto_conn *pc = &c->pc;

	if (c->not_h1 || pc->off)
		return false;
	if (!pc->proto)
		return !pc->strikes; /* nothing sent or received yet */
	return pc->proto->id == OBS_PROTO_HTTP1 && http1_conn__injectable(proto_conn__state(&c->pc));
}

static void count_inject(enum obs_seg_inject o)
{
	struct obs_segment *s = obs_shim_segment();

	if (s)
		__atomic_fetch_add(&s->h.inject[o], 1, __ATOMIC_RELAXED);
}

/* Write @iov (the program's, not yet read: it may hold bad pointers) with our header lines after its request
 * line, when it is one whole HTTP/1.x request head that can go out with them in this one call.  Returns true
 * when it made the call: *ret and errno are what the program must see (its own bytes only). */
bool obs_http_inject(int fd, const struct iovec *iov, int iovcnt, int flags, bool use_send, ssize_t *ret,
		     ssize_t (*real_writev)(int, const struct iovec *, int),
		     ssize_t (*real_sendmsg)(int, const struct msghdr *, int))
{
	struct iovec mine[INJECT_IOV_MAX - 2], rem[INJECT_IOV_MAX - 2], loc = { inj_head, 0 };
	struct inject_plan *p = &inj_plan;
	struct inject_ids ids;
	struct shim_conn *c;
	bool cut, done = false;
	size_t want = 0;
	int nrem = 0, err;
	ssize_t r;
	long got;

	if (!obs_current_request.active || iovcnt < 1 || iovcnt > INJECT_IOV_MAX - 2)
		return false;
	c = lock_conn(fd);
	if (!c)
		return false;
	/* cheap checks first: a body being written, or a connection that is not plain HTTP/1, is left alone */
	if (!conn_injectable(c) || !obs_copy_in(mine, iov, iovcnt * sizeof(*iov)))
		goto cleanup;
	/* the head's bytes, copied as the kernel would read them (a bad pointer fails here, not in the host) */
	for (int i = 0; i < iovcnt && want < sizeof(inj_head); i++) {
		size_t k = mine[i].iov_len < sizeof(inj_head) - want ? mine[i].iov_len : sizeof(inj_head) - want;

		if (!k)
			continue;
		rem[nrem].iov_base = mine[i].iov_base;
		rem[nrem++].iov_len = k;
		want += k;
	}
	loc.iov_len = want;
	got = want ? syscall(SYS_process_vm_readv, syscall(SYS_getpid), &loc, 1UL, rem, (unsigned long)nrem, 0UL) : 0;
	if (got <= 0)
		goto cleanup;
	memcpy(ids.trace_id, obs_current_request.trace_id, 16);
	random_id(ids.span_id, 8);
	ids.sampled = cur_sampled;
	ids.tracestate = cur_tracestate;
	ids.baggage = cur_baggage;
	if (!inject__plan(p, mine, iovcnt, inj_head, (size_t)got, &ids))
		goto cleanup; /* not a whole HTTP/1 request head, or it carries its own traceparent */
	if (!room_for(fd, p->need)) {
		count_inject(SEG_INJ_NO_ROOM); /* the program's bytes go out as they are */
		goto cleanup;
	}
	if (use_send) {
		struct msghdr m = { .msg_iov = p->iov, .msg_iovlen = p->iovcnt };

		r = real_sendmsg(fd, &m, flags);
	} else {
		r = real_writev(fd, p->iov, p->iovcnt);
	}
	err = errno;
	*ret = inject__count(p, r, &cut);
	if (cut) {
		/* the kernel took less than it had room for (memory pressure): finish our lines if it takes them
		 * now, never waiting; the program resends its own bytes after its request line */
		size_t sent = r - p->line;

		while (sent < p->hdrlen) {
			ssize_t k = syscall(SYS_sendto, fd, p->hdr + sent, p->hdrlen - sent, MSG_DONTWAIT | MSG_NOSIGNAL,
					    NULL, 0);

			if (k <= 0)
				break;
			sent += k;
		}
		count_inject(sent < p->hdrlen ? SEG_INJ_CUT : SEG_INJ_DONE);
	} else if (r > 0 && (size_t)r > p->line) {
		count_inject(SEG_INJ_DONE);
	} else if (r > 0) {
		count_inject(SEG_INJ_NO_ROOM); /* only part of the request line went: the header never did */
	}
	if (r > 0 && (size_t)r > p->line) {
		memcpy(c->inj_trace_id, ids.trace_id, 16);
		memcpy(c->inj_span_id, ids.span_id, 8);
		c->inj_sampled = ids.sampled;
		c->inject_pending = 1;
	}
	if (*ret > 0)
		feed(c, 1, mine, iovcnt, *ret, mono_ns());
	errno = err;
	done = true;
cleanup:
	unlock_conn(c);
	return done;
}

/* ---- log lines ---- */

/* fd 1 and 2: 0 = not looked at, 1 = a device that discards writes without reading them (/dev/null,
 * /dev/zero: a bad pointer succeeds there), -1 = anything else (a successful write read every byte) */
static int8_t log_fd_kind[3];

void obs_log_fd_reset(int fd)
{
	if (fd >= 0 && fd < 3)
		__atomic_store_n(&log_fd_kind[fd], 0, __ATOMIC_RELAXED);
}

static bool log_fd_discards(int fd)
{
	int8_t k = __atomic_load_n(&log_fd_kind[fd], __ATOMIC_RELAXED);
	struct stat st;

	if (!k) {
		k = !fstat(fd, &st) && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
				    (minor(st.st_rdev) == 3 || minor(st.st_rdev) == 5)
			    ? 1
			    : -1;
		__atomic_store_n(&log_fd_kind[fd], k, __ATOMIC_RELAXED);
	}
	return k > 0;
}

void obs_log_write(int fd, const struct iovec *iov, int iovcnt, size_t n)
{
	struct obs_segment *s = obs_shim_segment();
	struct obs_seg_log rec;
	size_t off = 0;
	bool check;

	if (!s || fd < 1 || fd > 2)
		return;
	check = log_fd_discards(fd); /* the bytes were never read: copy them without faulting */
	rec.pid = (int32_t)syscall(SYS_getpid);
	rec.tid = (int32_t)syscall(SYS_gettid);
	rec.time_ns = mono_ns();
	rec.stream = fd;
	rec.pad = 0;
	if (obs_current_request.active) {
		memcpy(rec.trace_id, obs_current_request.trace_id, 16);
		memcpy(rec.span_id, obs_current_request.span_id, 8);
	} else {
		memset(rec.trace_id, 0, 16);
		memset(rec.span_id, 0, 8);
	}
	/* the bytes, record by record; a long write continues in the next (cut = 1 on all but the last) */
	size_t used = 0;

	for (int i = 0; i < iovcnt && n; i++) {
		const char *p = iov[i].iov_base;
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;

		n -= k;
		while (k) {
			size_t room = OBS_SEG_LOG_TEXT - used, take = k < room ? k : room;

			if (!check)
				memcpy(rec.text + used, p, take);
			else if (!obs_copy_in(rec.text + used, p, take))
				return; /* not readable: a write to /dev/null never read it */
			used += take;
			p += take;
			k -= take;
			off += take;
			if (used == OBS_SEG_LOG_TEXT && (k || n)) {
				rec.len = used;
				rec.cut = 1;
				obs_seg_ring_put(s, OBS_REC_LOG, &rec, sizeof(rec));
				used = 0;
				if (off >= 16 * OBS_SEG_LOG_TEXT)
					return; /* a huge write: the rest is not logged (lines marked truncated) */
			}
		}
		if (i == iovcnt - 1 || !n) {
			rec.len = used;
			rec.cut = 0;
			obs_seg_ring_put(s, OBS_REC_LOG, &rec, offsetof(struct obs_seg_log, text) + used);
			return;
		}
	}
}

/* OBSPROBE_LOG_TAG=1: " trace_id=… span_id=…" before the newline of a line written while serving, when the
 * tagged line still fits in one atomic pipe write (PIPE_BUF).  Returns true when it made the call: *ret and
 * errno are what the program must see (its own count), and the program's line is logged. */
static __thread char tag_line[PIPE_BUF];

bool obs_log_tag(int fd, const void *buf, size_t n, ssize_t *ret, ssize_t (*real_write)(int, const void *, size_t))
{
	size_t len;
	ssize_t k;
	int err;

	if (!log_tag || !obs_current_request.active || n == 0 || n + LOGTAG_LEN > sizeof(tag_line) ||
	    !obs_copy_in(tag_line, buf, n))
		return false; /* passed as it is (a bad buffer gets the real call's EFAULT) */
	len = logtag__build(tag_line, sizeof(tag_line), tag_line, n, obs_current_request.trace_id,
			    obs_current_request.span_id);
	if (!len)
		return false; /* not one whole line per write */
	k = real_write(fd, tag_line, len);
	err = errno;
	/* the program's bytes are the line without its newline, then the newline: a cut tag counts as its text */
	*ret = k < 0 || (size_t)k < n - 1 ? k : k == (ssize_t)len ? (ssize_t)n : (ssize_t)(n - 1);
	if (*ret > 0) {
		struct iovec v = { tag_line, (size_t)*ret < n ? (size_t)*ret : n - 1 };

		if ((size_t)*ret == n) { /* the line as the program wrote it, for the log record */
			memcpy(tag_line + n - 1, "\n", 1);
			v.iov_len = n;
		}
		obs_log_write(fd, &v, 1, v.iov_len);
	}
	errno = err;
	return true;
}

bool obs_log_tag_enabled(void)
{
	return log_tag;
}
