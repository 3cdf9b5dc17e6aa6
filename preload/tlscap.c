/* tlscap.c -- libobsshim.so's OpenSSL entry points: TLS plaintext into the socket's own parser, traceparent inside
 * SSL writes (see tlscap.h).  Wrappers only, as in shim.c: each makes the real call, keeps its errno and return
 * value, and reports down to netcap.c; the SSL* -> fd table and the stable write buffers are kept here. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "preload/netcap.h"
#include "preload/seg.h"
#include "preload/tlscap.h"
#include "preload/tlsreal.h"
#include "preload/vmread.h"

#define EXPORT __attribute__((visibility("default")))

#define SSL_CTRL_MODE 33		 /* SSL_get_mode(s) is SSL_ctrl(s, SSL_CTRL_MODE, 0, NULL) */
#define SSL_MODE_ENABLE_PARTIAL_WRITE 1L /* SSL_write may return a part of its length */

/* in a wrapper: its caller's libssl, and the real function @f there */
#define LIB(f) tlsreal__lib_of(__builtin_return_address(0), f)
#define REAL(lib, f, type) ((type)tlsreal__fn(lib, f))

/* the program called a function libssl must have (it is loaded) but the shim could not find it: fail as the call
 * would on an error of its own, errno kept, counted (tls_unresolved) */
static int unresolved(int ret)
{
	int saved = errno;

	if (seg__armed() && !in_shim) {
		in_shim++;
		seg__count_lost(SEG_LOST_TLS_UNRESOLVED);
		in_shim--;
	}
	errno = saved;
	return ret;
}

/* ---- SSL* -> fd ---- */

struct tls_fd {
	const SSL *ssl; /* NULL: free */
	int fd;
};
static struct tls_fd fds[TLSCAP_FDS];

static struct tls_fd *fd_bucket(const SSL *s)
{
	uint64_t h = ((uint64_t)(uintptr_t)s >> 4) * 0x9e3779b97f4a7c15ull;

	return &fds[(h >> 32) % (TLSCAP_FDS / 4) * 4];
}

int tlscap__fd_of(const SSL *s)
{
	struct tls_fd *b = fd_bucket(s);

	for (int i = 0; i < 4; i++)
		if (__atomic_load_n(&b[i].ssl, __ATOMIC_ACQUIRE) == s)
			return b[i].fd;
	return -1;
}

/* a full bucket keeps nothing: that SSL's calls answered from its buffer ask SSL_get_fd */
static void fd_put(const SSL *s, int fd)
{
	struct tls_fd *b = fd_bucket(s);

	for (int i = 0; i < 4; i++)
		if (__atomic_load_n(&b[i].ssl, __ATOMIC_ACQUIRE) == s) {
			b[i].fd = fd;
			return;
		}
	for (int i = 0; i < 4; i++) {
		const SSL *none = NULL;

		if (__atomic_compare_exchange_n(&b[i].ssl, &none, s, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			b[i].fd = fd;
			return;
		}
	}
}

static void fd_drop(const SSL *s)
{
	struct tls_fd *b = fd_bucket(s);

	for (int i = 0; i < 4; i++) {
		const SSL *mine = s;

		__atomic_compare_exchange_n(&b[i].ssl, &mine, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
}

/* @s's socket: the one its call just used (@seen), else the table's, else SSL_get_fd's; -1 when none */
static int fd_for(struct tls_lib *lib, SSL *s, int seen)
{
	int fd = tlscap__fd_of(s), (*get_fd)(const SSL *);

	if (seen >= 0) {
		if (seen != fd)
			fd_put(s, seen);
		return seen;
	}
	if (fd >= 0)
		return fd;
	get_fd = REAL(lib, F_GET_FD, int (*)(const SSL *));
	fd = get_fd ? get_fd(s) : -1;
	if (fd >= 0) {
		fd_put(s, fd);
		netcap__tls_mark(fd);
	}
	return fd;
}

/* ---- stable write buffers ---- */

struct tls_slot {
	const SSL *owner; /* NULL: free */
	int fd;
	size_t len; /* bytes of @buf written: the program's and ours */
	struct netcap_tls_inj meta;
	char buf[TLSCAP_WRITE_MAX + INJECT_HDR_MAX];
	char scratch[TLSCAP_WRITE_MAX]; /* a retry's bytes, read to be compared */
};
static struct tls_slot *slots; /* TLSCAP_SLOTS, mapped at the first write that needs one */
static int slots_held;

int tlscap__slots_held(void)
{
	return __atomic_load_n(&slots_held, __ATOMIC_RELAXED);
}

static struct tls_slot *slot_of(const SSL *s)
{
	if (!__atomic_load_n(&slots_held, __ATOMIC_ACQUIRE))
		return NULL;
	for (int i = 0; i < TLSCAP_SLOTS; i++)
		if (__atomic_load_n(&slots[i].owner, __ATOMIC_ACQUIRE) == s)
			return &slots[i];
	return NULL;
}

static struct tls_slot *slot_claim(const SSL *s)
{
	struct tls_slot *none = NULL;

	if (!__atomic_load_n(&slots, __ATOMIC_ACQUIRE)) {
		void *p = mmap(NULL, TLSCAP_SLOTS * sizeof(*slots), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		if (!__atomic_compare_exchange_n(&slots, &none, p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(p, TLSCAP_SLOTS * sizeof(*slots));
	}
	for (int i = 0; i < TLSCAP_SLOTS; i++) {
		const SSL *free_ = NULL;

		if (__atomic_compare_exchange_n(&slots[i].owner, &free_, s, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_fetch_add(&slots_held, 1, __ATOMIC_RELEASE);
			return &slots[i];
		}
	}
	return NULL;
}

static void slot_release(struct tls_slot *sl)
{
	__atomic_store_n(&sl->owner, NULL, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&slots_held, 1, __ATOMIC_RELEASE);
}

/* the program gave the write up (another write, SSL_free): its lines may be on the wire or not, the request is
 * not the program's to finish any more */
static void slot_abandon(struct tls_slot *sl)
{
	netcap__tls_inject_done(sl->fd, &sl->meta, sl->buf, false);
	slot_release(sl);
}

/* is the write of @buf (@n bytes) the retry of the one @sl holds: the same length and bytes */
static bool same_write(struct tls_slot *sl, const void *buf, size_t n)
{
	const struct netcap_tls_inj *m = &sl->meta;

	if (n != m->n || !vmread__copy(sl->scratch, buf, n))
		return false;
	if (m->h2 && (memcmp(sl->scratch + m->h2_at, m->h2_len, 3) || memcmp(sl->scratch, sl->buf, m->h2_at) ||
		      memcmp(sl->scratch + m->h2_at + 3, sl->buf + m->h2_at + 3, m->line - m->h2_at - 3)))
		return false; /* HTTP/2: the frame's length is ours in @sl->buf */
	if (!m->h2 && memcmp(sl->scratch, sl->buf, m->line))
		return false;
	return !memcmp(sl->scratch + m->line, sl->buf + m->line + m->hdrlen, n - m->line);
}

/* what the program is told of @w bytes of @sl's write: its own bytes only (the rule of inject__count) */
static size_t told_of(const struct tls_slot *sl, size_t w)
{
	const struct netcap_tls_inj *m = &sl->meta;

	if (w <= m->line)
		return w;
	return w >= m->line + m->hdrlen ? w - m->hdrlen : m->line;
}

/* ---- the calls ---- */

static inline bool capturing(void)
{
	return seg__armed() && !in_shim && !netcap_tls_call.ssl;
}

/* the real call on @s starts: the socket I/O it makes is noted as @s's */
static inline void enter(SSL *s)
{
	netcap_tls_call.fd = -1;
	netcap_tls_call.ssl = s;
}

/* ... and ended: @s's socket (in_shim raised by the caller) */
static inline int leave(struct tls_lib *lib, SSL *s)
{
	int seen = netcap_tls_call.fd;

	netcap_tls_call.ssl = NULL;
	return fd_for(lib, s, seen);
}

/* a read or a plain write moved @n bytes of plaintext (@dir 0 read, 1 written) */
static void data(struct tls_lib *lib, SSL *s, int dir, const void *buf, size_t n)
{
	int saved = errno, fd;

	in_shim++;
	fd = leave(lib, s);
	if (n) {
		struct iovec v = { (void *)buf, n };

		if (fd < 0)
			seg__count_lost(SEG_LOST_TLS_NO_SOCKET);
		else
			netcap__tls_data(fd, dir, &v, 1, n);
	}
	in_shim--;
	errno = saved;
}

/* The write of @buf (@n bytes) about to be made on @s: the retry of the one its slot holds, a new one our lines go
 * into (the slot to write instead), or NULL: the program's bytes as they are. */
static struct tls_slot *write_begin(struct tls_lib *lib, SSL *s, const void *buf, size_t n)
{
	int saved = errno, fd;
	struct tls_slot *sl;
	long (*ctrl)(SSL *, int, long, void *);
	bool partial;
	size_t len;

	in_shim++;
	sl = slot_of(s);
	if (sl) {
		if (same_write(sl, buf, n))
			goto out;
		slot_abandon(sl);
		sl = NULL;
	}
	if (!netcap_serving.active || !n)
		goto out;
	fd = fd_for(lib, s, -1);
	if (!netcap__tls_injectable(fd))
		goto out;
	ctrl = REAL(lib, F_CTRL, long (*)(SSL *, int, long, void *));
	partial = !ctrl || (ctrl(s, SSL_CTRL_MODE, 0, NULL) & SSL_MODE_ENABLE_PARTIAL_WRITE);
	sl = slot_claim(s);
	len = netcap__tls_inject_plan(fd, buf, n, sl ? sl->buf : NULL,
				      n <= TLSCAP_WRITE_MAX && sl ? sizeof(sl->buf) : 0, partial,
				      sl ? &sl->meta : NULL);
	if (!len && sl) {
		slot_release(sl);
		sl = NULL;
	} else if (sl) {
		sl->fd = fd;
		sl->len = len;
	}
out:
	in_shim--;
	errno = saved;
	return sl;
}

/* the write made from @sl returned @ok with @w bytes written: what the program is told */
static size_t write_end(struct tls_lib *lib, SSL *s, struct tls_slot *sl, bool ok, size_t w)
{
	int saved = errno;
	size_t told = told_of(sl, w);

	in_shim++;
	leave(lib, s);
	if (ok) { /* done: else the slot waits for the retry */
		netcap__tls_inject_done(sl->fd, &sl->meta, sl->buf, w >= sl->meta.line + sl->meta.hdrlen);
		slot_release(sl);
	}
	in_shim--;
	errno = saved;
	return told;
}

EXPORT int SSL_read(SSL *s, void *buf, int num)
{
	struct tls_lib *lib = LIB(F_READ);
	int (*f)(SSL *, void *, int) = REAL(lib, F_READ, int (*)(SSL *, void *, int));
	int r;

	if (!f)
		return unresolved(-1);
	if (!capturing())
		return f(s, buf, num);
	enter(s);
	r = f(s, buf, num);
	data(lib, s, 0, buf, r > 0 ? (size_t)r : 0);
	return r;
}

EXPORT int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
	struct tls_lib *lib = LIB(F_READ_EX);
	int (*f)(SSL *, void *, size_t, size_t *) = REAL(lib, F_READ_EX, int (*)(SSL *, void *, size_t, size_t *));
	int r;

	if (!f)
		return unresolved(0);
	if (!capturing())
		return f(s, buf, num, readbytes);
	enter(s);
	r = f(s, buf, num, readbytes);
	data(lib, s, 0, buf, r == 1 && readbytes ? *readbytes : 0);
	return r;
}

EXPORT int SSL_write(SSL *s, const void *buf, int num)
{
	struct tls_lib *lib = LIB(F_WRITE);
	int (*f)(SSL *, const void *, int) = REAL(lib, F_WRITE, int (*)(SSL *, const void *, int));
	struct tls_slot *sl;
	int r;

	if (!f)
		return unresolved(-1);
	if (!capturing())
		return f(s, buf, num);
	sl = write_begin(lib, s, buf, num > 0 ? (size_t)num : 0);
	enter(s);
	if (!sl) {
		r = f(s, buf, num);
		data(lib, s, 1, buf, r > 0 ? (size_t)r : 0);
		return r;
	}
	r = f(s, sl->buf, (int)sl->len);
	if (r > 0)
		return (int)write_end(lib, s, sl, true, (size_t)r);
	write_end(lib, s, sl, false, 0); /* the slot waits for the retry */
	return r;
}

EXPORT int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written)
{
	struct tls_lib *lib = LIB(F_WRITE_EX);
	int (*f)(SSL *, const void *, size_t, size_t *) =
		REAL(lib, F_WRITE_EX, int (*)(SSL *, const void *, size_t, size_t *));
	struct tls_slot *sl;
	size_t w = SIZE_MAX, told;
	int r;

	if (!f)
		return unresolved(0);
	if (!capturing())
		return f(s, buf, num, written);
	sl = write_begin(lib, s, buf, num);
	enter(s);
	if (!sl) {
		r = f(s, buf, num, written);
		data(lib, s, 1, buf, r == 1 && written ? *written : 0);
		return r;
	}
	/* our count in @w: the program's @written gets its own bytes, and only when the real call set it */
	r = f(s, sl->buf, sl->len, &w);
	told = write_end(lib, s, sl, r == 1, w == SIZE_MAX ? 0 : w);
	if (w != SIZE_MAX && written)
		*written = told;
	return r;
}

/* calls that move no plaintext: their socket I/O marks the socket TLS and is noted as the SSL's */
#define TLS_PASS(fn, F)                                         \
	EXPORT int fn(SSL *s)                                   \
	{                                                       \
		struct tls_lib *lib = LIB(F);                   \
		int (*f)(SSL *) = REAL(lib, F, int (*)(SSL *)); \
		int r, saved;                                   \
                                                                \
		if (!f)                                         \
			return unresolved(-1);                  \
		if (!capturing())                               \
			return f(s);                            \
		enter(s);                                       \
		r = f(s);                                       \
		saved = errno;                                  \
		in_shim++;                                      \
		leave(lib, s);                                  \
		in_shim--;                                      \
		errno = saved;                                  \
		return r;                                       \
	}

TLS_PASS(SSL_do_handshake, F_HANDSHAKE)
TLS_PASS(SSL_connect, F_CONNECT)
TLS_PASS(SSL_accept, F_ACCEPT)
TLS_PASS(SSL_shutdown, F_SHUTDOWN)

EXPORT void SSL_free(SSL *s)
{
	struct tls_lib *lib = LIB(F_FREE);
	void (*f)(SSL *) = REAL(lib, F_FREE, void (*)(SSL *));
	int saved = errno;

	if (s && !in_shim) {
		struct tls_slot *sl;

		in_shim++;
		fd_drop(s);
		if ((sl = slot_of(s)))
			slot_abandon(sl);
		in_shim--;
	}
	errno = saved;
	if (f)
		f(s);
	else
		unresolved(0);
}
