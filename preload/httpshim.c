/* httpshim.c -- the shim's HTTP and log capture: parse sockets in-process, inject traceparent, tag log lines */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "httpconn.h"
#include "sampler.h"
#include "segment.h"
#include "shim.h"

#define SHIM_CONNS 1024 /* HTTP connections parsed at once per process (pool, mapped on first use) */

struct shim_conn {
	int lock;		/* try-lock: a connection used by two threads at once skips a chunk */
	int used;
	uint8_t inject_pending;	/* ids for the next client request were put in its traceparent */
	uint8_t inj_trace_id[16];
	uint8_t inj_span_id[8];
	uint8_t inj_sampled;
	struct httpconn hc;
};

static struct shim_conn *pool;		/* SHIM_CONNS entries, mmap'd at first use */
int16_t obs_conn_of[OBS_FD_MAX];	/* fd -> pool index + 1; 0 = none */
static double sample_ratio = 1.0;
static bool log_tag;

/* the request this thread serves: ids (shim.h) plus what is passed on downstream */
static __thread char cur_tracestate[HTTPX_TRACESTATE_MAX];
static __thread char cur_baggage[CTX_STATE_LEN];
static __thread uint8_t cur_sampled;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void random_id(uint8_t *id, size_t len)
{
	static __thread uint64_t s[2];

	if (!s[0] && !s[1]) {
		if (syscall(SYS_getrandom, s, sizeof(s), 0) != sizeof(s)) {
			s[0] = now_ns() ^ 0x9e3779b97f4a7c15ull;
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

static void on_request(void *ctx, struct http_exchange *x, const struct trace_ctx *in)
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

static void on_exchange(void *ctx, struct http_exchange *x)
{
	struct obs_segment *s = obs_shim_segment();

	(void)ctx;
	if (x->kind == 2 && obs_current_request.active && !memcmp(obs_current_request.span_id, x->span_id, 8))
		obs_current_request.active = false;
	if (s)
		obs_seg_ring_put(s, OBS_REC_EXCHANGE, x, sizeof(*x));
}

static const struct httpconn_cb shim_cb = { .on_request = on_request, .on_exchange = on_exchange };

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
	httpconn__init(&c->hc, &shim_cb, c);
	c->inject_pending = 0;
	if (!getsockname(fd, (struct sockaddr *)&ss, &len)) {
		c->hc.local.family = ss.ss_family;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			c->hc.local.port = ntohs(a->sin_port);
			memcpy(c->hc.local.addr, &a->sin_addr, 4);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			c->hc.local.port = ntohs(a->sin6_port);
			memcpy(c->hc.local.addr, &a->sin6_addr, 16);
		}
	}
	len = sizeof(ss);
	if (!peer || plen > sizeof(ss)) {
		if (getpeername(fd, (struct sockaddr *)&ss, &len))
			len = 0;
		peer = (struct sockaddr *)&ss;
	}
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)peer;

		c->hc.peer.family = AF_INET;
		c->hc.peer.port = ntohs(a->sin_port);
		memcpy(c->hc.peer.addr, &a->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;

		c->hc.peer.family = AF_INET6;
		c->hc.peer.port = ntohs(a->sin6_port);
		memcpy(c->hc.peer.addr, &a->sin6_addr, 16);
	}
	(void)inbound;
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
	httpconn__close(&c->hc, now_ns());
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

void obs_http_data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n)
{
	struct shim_conn *c = lock_conn(fd);
	uint64_t t = now_ns();

	if (!c)
		return;
	for (int i = 0; i < iovcnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;

		httpconn__data(&c->hc, dir ? HTTPCONN_OUT : HTTPCONN_IN, iov[i].iov_base, k, k, t);
		n -= k;
	}
	unlock_conn(c);
}

/* ---- traceparent injection into requests a serving thread makes ---- */

static bool has_header(const char *h, size_t n, const char *name)
{
	size_t m = strlen(name);

	for (size_t i = 0; i + m + 2 < n; i++)
		if (h[i] == '\n' && !strncasecmp(h + i + 1, name, m) && h[i + 1 + m] == ':')
			return true;
	return false;
}

static char *hex(char *p, const uint8_t *id, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*p++ = d[id[i] >> 4];
		*p++ = d[id[i] & 15];
	}
	return p;
}

/* Write @iov (the request's first bytes in iov[0]) with our headers after the request line.
 * Returns true when it did the write: *ret is what the program expects (its own bytes only). */
bool obs_http_inject(int fd, const struct iovec *iov, int iovcnt, int flags, bool use_send, ssize_t *ret,
		     ssize_t (*real_writev)(int, const struct iovec *, int),
		     ssize_t (*real_sendmsg)(int, const struct msghdr *, int))
{
	const char *b, *eol, *end;
	size_t n, line, injlen;
	struct iovec v[64], one;
	char inj[96 + HTTPX_TRACESTATE_MAX + CTX_STATE_LEN];
	char flat[8192]; /* a head spread over several iovecs is gathered here first */
	struct shim_conn *c;
	ssize_t r;
	char *p;

	if (!obs_current_request.active || iovcnt < 1 || iovcnt > 62)
		return false;
	b = iov[0].iov_base;
	n = iov[0].iov_len;
	if (!http__looks_like_request(b, n < 16 ? n : 16) && !(n < 16 && iovcnt > 1))
		return false;
	if (!memmem(b, n, "\r\n\r\n", 4) && iovcnt > 1) {
		size_t total = 0;

		for (int i = 0; i < iovcnt; i++) {
			if (total + iov[i].iov_len > sizeof(flat))
				return false; /* a long head in pieces: left as it is */
			memcpy(flat + total, iov[i].iov_base, iov[i].iov_len);
			total += iov[i].iov_len;
		}
		one.iov_base = flat;
		one.iov_len = total;
		iov = &one;
		iovcnt = 1;
		b = flat;
		n = total;
	}
	if (!http__looks_like_request(b, n))
		return false;
	end = memmem(b, n, "\r\n\r\n", 4);
	eol = memchr(b, '\n', n);
	if (!end || !eol || has_header(b, end - b + 2, "traceparent"))
		return false;
	c = lock_conn(fd);
	if (!c)
		return false;
	if (c->hc.role == HTTPCONN_SERVER || c->hc.parser[HTTPCONN_OUT].in_msg) {
		unlock_conn(c);
		return false;
	}
	line = eol - b + 1;
	/* the client span's ids: a child of the request being served */
	memcpy(c->inj_trace_id, obs_current_request.trace_id, 16);
	random_id(c->inj_span_id, 8);
	c->inj_sampled = cur_sampled;
	p = inj;
	memcpy(p, "traceparent: 00-", 16);
	p = hex(p + 16, c->inj_trace_id, 16);
	*p++ = '-';
	p = hex(p, c->inj_span_id, 8);
	memcpy(p, cur_sampled ? "-01\r\n" : "-00\r\n", 5);
	p += 5;
	if (cur_tracestate[0] && !has_header(b, end - b + 2, "tracestate")) {
		size_t k = strlen(cur_tracestate);

		memcpy(p, "tracestate: ", 12);
		memcpy(p + 12, cur_tracestate, k);
		memcpy(p + 12 + k, "\r\n", 2);
		p += 14 + k;
	}
	if (cur_baggage[0] && !has_header(b, end - b + 2, "baggage")) {
		size_t k = strlen(cur_baggage);

		memcpy(p, "baggage: ", 9);
		memcpy(p + 9, cur_baggage, k);
		memcpy(p + 9 + k, "\r\n", 2);
		p += 11 + k;
	}
	injlen = p - inj;
	v[0].iov_base = (void *)b;
	v[0].iov_len = line;
	v[1].iov_base = inj;
	v[1].iov_len = injlen;
	v[2].iov_base = (void *)(b + line);
	v[2].iov_len = n - line;
	for (int i = 1; i < iovcnt; i++)
		v[i + 2] = iov[i];
	if (use_send) {
		struct msghdr m = { .msg_iov = v, .msg_iovlen = iovcnt + 2 };

		r = real_sendmsg(fd, &m, flags);
	} else {
		r = real_writev(fd, v, iovcnt + 2);
	}
	if (r < 0 || (size_t)r <= line) {
		*ret = r; /* nothing of ours went out: the program retries its own bytes as usual */
	} else if ((size_t)r >= line + injlen) {
		*ret = r - injlen;
		c->inject_pending = 1;
	} else {
		/* cut inside our header: finish it (bounded wait), then report the request line sent */
		size_t done = r - line;

		while (done < injlen) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			ssize_t k = syscall(SYS_sendto, fd, inj + done, injlen - done, MSG_NOSIGNAL, NULL, 0);

			if (k > 0) {
				done += k;
			} else if (k < 0 && errno == EAGAIN) {
				if (poll(&pf, 1, 1000) <= 0)
					break;
			} else {
				break;
			}
		}
		*ret = line;
		c->inject_pending = 1;
	}
	unlock_conn(c);
	return true;
}

/* ---- log lines ---- */

void obs_log_write(int fd, const struct iovec *iov, int iovcnt, size_t n)
{
	struct obs_segment *s = obs_shim_segment();
	struct obs_seg_log rec;
	size_t off = 0;

	if (!s)
		return;
	rec.pid = (int32_t)syscall(SYS_getpid);
	rec.tid = (int32_t)syscall(SYS_gettid);
	rec.time_ns = now_ns();
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

			memcpy(rec.text + used, p, take);
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

/* OBSPROBE_LOG_TAG=1: " trace_id=… span_id=…" before the newline of a line written while serving.
 * Returns true when it wrote (*ret = n: the program's own count). */
bool obs_log_tag(int fd, const void *buf, size_t n, ssize_t *ret, ssize_t (*real_write)(int, const void *, size_t))
{
	char out[4096 + 64], *p;
	const char *b = buf;
	size_t done = 0, len;

	if (!log_tag || !obs_current_request.active || n == 0 || n > 4096 || b[n - 1] != '\n' ||
	    memchr(b, '\n', n - 1))
		return false; /* one whole line per write: anything else passes as it is */
	memcpy(out, b, n - 1);
	p = out + n - 1;
	memcpy(p, " trace_id=", 10);
	p = hex(p + 10, obs_current_request.trace_id, 16);
	memcpy(p, " span_id=", 9);
	p = hex(p + 9, obs_current_request.span_id, 8);
	*p++ = '\n';
	len = p - out;
	while (done < len) {
		ssize_t k = real_write(fd, out + done, len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* nothing (or part) written: say what the program's own bytes got */
			*ret = done == 0 ? k : (ssize_t)(done < n - 1 ? done : n - 1);
			return true;
		}
		done += k;
	}
	*ret = n;
	return true;
}

bool obs_log_tag_enabled(void)
{
	return log_tag;
}
