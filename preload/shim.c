/* shim.c -- libobsshim.so: the interposed libc entry points, and the real functions they call
 *
 * Only the wrappers live here (uftrace's libmcount/wrap.c): each makes the real call, keeps its errno and return
 * value, and reports what happened down to the capture code -- seg.c (latency, errors, socket counters), netcap.c
 * (socket classes, HTTP exchanges, traceparent), logcap.c (stdout/stderr records and tags).  Capture code never
 * calls back up: where it changes what is written (traceparent, a tagged line), it plans the write, the wrapper
 * makes it with the real function, then reports the result down. */
#include <dlfcn.h>
#include <errno.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/logcap.h"
#include "preload/netcap.h"
#include "preload/seg.h"
#include "preload/tsc.h"
#include "preload/vmread.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- the real functions, resolved once ---- */
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_close)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_close_range)(unsigned int, unsigned int, int);
static void (*real_closefrom)(int);
static int (*real_fclose)(FILE *);
static FILE *(*real_freopen)(const char *, const char *, FILE *);
static FILE *(*real_freopen64)(const char *, const char *, FILE *);
static ssize_t (*real_read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t (*real_recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
static ssize_t (*real_pread64_chk)(int, void *, size_t, off64_t, size_t);

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
#define R(var, name) var = dlsym(RTLD_NEXT, name)
	R(real_read, "read");
	R(real_write, "write");
	R(real_readv, "readv");
	R(real_writev, "writev");
	R(real_pread, "pread");
	R(real_pread64, "pread64");
	R(real_pwrite, "pwrite");
	R(real_pwrite64, "pwrite64");
	R(real_send, "send");
	R(real_recv, "recv");
	R(real_sendto, "sendto");
	R(real_recvfrom, "recvfrom");
	R(real_sendmsg, "sendmsg");
	R(real_recvmsg, "recvmsg");
	R(real_connect, "connect");
	R(real_accept, "accept");
	R(real_accept4, "accept4");
	R(real_close, "close");
	R(real_dup2, "dup2");
	R(real_dup3, "dup3");
	R(real_close_range, "close_range");
	R(real_closefrom, "closefrom");
	R(real_fclose, "fclose");
	R(real_freopen, "freopen");
	R(real_freopen64, "freopen64");
	R(real_read_chk, "__read_chk");
	R(real_recv_chk, "__recv_chk");
	R(real_recvfrom_chk, "__recvfrom_chk");
	R(real_pread_chk, "__pread_chk");
	R(real_pread64_chk, "__pread64_chk");
#undef R
}

/* ---- setup: the capture code is initialised once, and reset in a forked child ---- */
static bool disabled; /* the recursion guard, in_shim, is netcap.h's: tlscap.c's wrappers share it */

static void atfork_child(void)
{
	seg__atfork_child();
	netcap__atfork_child();
}

__attribute__((constructor)) static void shim_init(void)
{
	in_shim++;
	pthread_once(&resolve_once, resolve);
	disabled = getenv("OBSPROBE_DISABLE") && !strcmp(getenv("OBSPROBE_DISABLE"), "1");
	if (!disabled) {
		tsc__init();
		netcap__init();
		logcap__init();
		pthread_atfork(NULL, NULL, atfork_child);
		seg__init(); /* armed from here on */
	}
	in_shim--;
}

/* ---- wrappers: time the real call; errno and the return value are the real call's ---- */

#define ENSURE(fn)                                            \
	do {                                                  \
		if (__builtin_expect(!real_##fn, 0))          \
			pthread_once(&resolve_once, resolve); \
		if (__builtin_expect(!real_##fn, 0)) {        \
			errno = ENOSYS;                       \
			return -1;                            \
		}                                             \
	} while (0)

/* time the real call, then record it with @rec (sees t0, r, saved); errno and r are the real call's */
#define TIMED_CALL(type, call, rec)           \
	do {                                  \
		uint64_t t0, t1;              \
		type r;                       \
		int saved;                    \
		if (!seg__armed() || in_shim) \
			return call;          \
		t0 = tsc__now();              \
		r = call;                     \
		saved = errno;                \
		in_shim++;                    \
		t1 = seg__work_begin();       \
		rec;                          \
		seg__work_end(t1);            \
		in_shim--;                    \
		errno = saved;                \
		return r;                     \
	} while (0)

#define TIMED(slot, type, call) TIMED_CALL(type, call, seg__record(slot, t0, (long)r, saved))
/* I/O that moved the bytes in IOV/CNT: timed, then parsed (HTTP) or logged (stdout/stderr) */
#define TIMED_DATA(slot, fd, call, dir, ...) \
	TIMED_CALL(ssize_t, call, (record_io(slot, fd, t0, (long)r, saved), data_hook(fd, dir, __VA_ARGS__, r)))
#define ONE(buf, n) (&(struct iovec){ .iov_base = (void *)(buf), .iov_len = (n) }), 1
/* received bytes: what @flags say about them decides whether they are parsed (recv_hook) */
#define TIMED_RECV(slot, fd, call, flags, ...) \
	TIMED_CALL(ssize_t, call, (record_io(slot, fd, t0, (long)r, saved), recv_hook(fd, __VA_ARGS__, r, flags)))

static inline int iov_count(size_t n)
{
	return n > 1024 ? 1024 : (int)n; /* the kernel's UIO_MAXIOV: more is EINVAL, never a success */
}

/* socket I/O: bytes and I/O time counted only on descriptors the shim saw accepted or connected */
static inline void record_io(enum obs_seg_slot slot, int fd, uint64_t t0, long ret, int err)
{
	seg__record_io(slot, netcap__sock_proto(fd), t0, ret, err);
}

/* the ids of the request this thread serves, or NULL */
static inline const uint8_t *serving_trace(void)
{
	return netcap_serving.active ? netcap_serving.trace_id : NULL;
}

static inline const uint8_t *serving_span(void)
{
	return netcap_serving.active ? netcap_serving.span_id : NULL;
}

/* bytes that crossed a descriptor: HTTP parsing on sockets, log records on stdout/stderr */
static inline void data_hook(int fd, int dir, const struct iovec *iov, int cnt, ssize_t r)
{
	if (r <= 0 || fd < 0 || fd >= OBS_FD_MAX)
		return;
	if (netcap__has_conn(fd))
		netcap__data(fd, dir, iov, cnt, r);
	else if (dir && (fd == 1 || fd == 2) && !netcap__fd_class(fd))
		logcap__write(fd, iov, cnt, r, serving_trace(), serving_span());
}

/* bytes received with @flags: MSG_TRUNC on TCP discards them unwritten (a gap); peeked, out-of-band and
 * error-queue bytes are not the stream */
static inline void recv_hook(int fd, const struct iovec *iov, int cnt, ssize_t r, int flags)
{
	if (r <= 0 || fd < 0 || fd >= OBS_FD_MAX || (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE)))
		return;
	if (flags & MSG_TRUNC) {
		if (netcap__has_conn(fd))
			netcap__gap(fd, 0, r);
		return;
	}
	data_hook(fd, 0, iov, cnt, r);
}

/* a request written while this thread serves one, on a connection it made: traceparent may go in */
static inline bool injectable(int fd)
{
	return seg__armed() && !in_shim && netcap__injectable(fd);
}

/* Write @iov as netcap.c plans it (the request head with our lines after its request line); false when it did
 * not plan it (the caller writes the program's bytes as they are).  True: the call was made, *@out and errno are
 * what the program must see (its own bytes only). */
static bool inject(enum obs_seg_slot slot, int fd, const struct iovec *iov, int cnt, int flags, bool use_send,
		   ssize_t *out)
{
	uint64_t t0 = tsc__now();
	int saved = errno;
	const struct inject_plan *p;
	bool done = false;
	ssize_t r;

	in_shim++;
	p = netcap__inject_plan(fd, iov, cnt);
	if (p) {
		if (use_send) {
			struct msghdr m = { .msg_iov = (struct iovec *)p->iov, .msg_iovlen = p->iovcnt };

			r = real_sendmsg(fd, &m, flags);
		} else {
			r = real_writev(fd, p->iov, p->iovcnt);
		}
		saved = errno; /* the real call's */
		*out = netcap__inject_done(fd, r);
		record_io(slot, fd, t0, (long)*out, saved);
		done = true;
	}
	in_shim--;
	errno = saved;
	return done;
}

/* OBSPROBE_LOG_TAG=1: a line written to stdout/stderr while serving goes out tagged, as logcap.c plans it; false
 * when it did not plan it (the caller writes it as it is) */
static bool tag_line(int fd, const void *buf, size_t n, ssize_t *out)
{
	const uint8_t *trace = serving_trace(), *span = serving_span();
	uint64_t t0 = tsc__now();
	int saved = errno;
	const char *line;
	bool done = false;
	size_t len;

	in_shim++;
	line = logcap__tag_plan(buf, n, trace, span, &len);
	if (line) { /* write the tagged line, log the program's */
		ssize_t k = real_write(fd, line, len);

		saved = errno;
		*out = logcap__tag_done(fd, n, len, k, trace, span);
		seg__record(SEG_WRITE, t0, *out, saved);
		done = true;
	}
	in_shim--;
	errno = saved; /* not one whole line: as it is, by the caller */
	return done;
}

/* @fd is closed (by close, dup2 onto it, close_range, fclose): its socket and connection state end */
static void fd_forget(int fd)
{
	if (fd < 0 || fd >= OBS_FD_MAX)
		return;
	logcap__fd_reset(fd);
	netcap__fd_closed(fd);
	if (netcap__has_conn(fd) && !in_shim) {
		in_shim++;
		netcap__conn_close(fd);
		in_shim--;
	}
}

/* I/O on a descriptor that may be a socket */
#define TIMED_IO(slot, fd, call) TIMED_CALL(ssize_t, call, record_io(slot, fd, t0, (long)r, saved))

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	ENSURE(read);
	TIMED_DATA(SEG_READ, fd, real_read(fd, buf, n), 0, ONE(buf, r));
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t r;

	ENSURE(write);
	if (injectable(fd) && inject(SEG_WRITE, fd, ONE(buf, n), 0, false, &r))
		return r;
	if ((fd == 1 || fd == 2) && seg__armed() && !in_shim && netcap_serving.active && logcap__tag_enabled() &&
	    tag_line(fd, buf, n, &r))
		return r;
	TIMED_DATA(SEG_WRITE, fd, real_write(fd, buf, n), 1, ONE(buf, r));
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	ENSURE(readv);
	TIMED_DATA(SEG_READV, fd, real_readv(fd, iov, cnt), 0, iov, cnt);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t r;

	ENSURE(writev);
	if (injectable(fd) && cnt > 0 && cnt <= NETCAP_INJECT_IOV_MAX && inject(SEG_WRITEV, fd, iov, cnt, 0, false, &r))
		return r;
	TIMED_DATA(SEG_WRITEV, fd, real_writev(fd, iov, cnt), 1, iov, cnt);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ENSURE(pread);
	TIMED(SEG_PREAD, ssize_t, real_pread(fd, buf, n, off));
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	ENSURE(pread64);
	TIMED(SEG_PREAD, ssize_t, real_pread64(fd, buf, n, off));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ENSURE(pwrite);
	TIMED(SEG_PWRITE, ssize_t, real_pwrite(fd, buf, n, off));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	ENSURE(pwrite64);
	TIMED(SEG_PWRITE, ssize_t, real_pwrite64(fd, buf, n, off));
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	ssize_t r;

	ENSURE(send);
	if (injectable(fd) && inject(SEG_SENDTO, fd, ONE(buf, n), flags, true, &r))
		return r;
	TIMED_DATA(SEG_SENDTO, fd, real_send(fd, buf, n, flags), 1, ONE(buf, r));
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	ENSURE(recv);
	TIMED_RECV(SEG_RECVFROM, fd, real_recv(fd, buf, n, flags), flags, ONE(buf, r));
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a, socklen_t al)
{
	ssize_t r;

	ENSURE(sendto);
	if (!a && injectable(fd) && inject(SEG_SENDTO, fd, ONE(buf, n), flags, true, &r))
		return r;
	TIMED_DATA(SEG_SENDTO, fd, real_sendto(fd, buf, n, flags, a, al), 1, ONE(buf, r));
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
	ENSURE(recvfrom);
	TIMED_RECV(SEG_RECVFROM, fd, real_recvfrom(fd, buf, n, flags, a, al), flags, ONE(buf, r));
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct msghdr mc;
	ssize_t r;

	ENSURE(sendmsg);
	if (injectable(fd) && vmread__copy(&mc, m, sizeof(mc)) && !mc.msg_name && mc.msg_iovlen > 0 &&
	    mc.msg_iovlen <= NETCAP_INJECT_IOV_MAX && !mc.msg_controllen &&
	    inject(SEG_SENDMSG, fd, mc.msg_iov, (int)mc.msg_iovlen, flags, true, &r))
		return r;
	/* after a call that moved bytes the kernel has read *m and its iovecs: safe to read them */
	TIMED_CALL(ssize_t, real_sendmsg(fd, m, flags),
		   (record_io(SEG_SENDMSG, fd, t0, (long)r, saved),
		    r > 0 ? data_hook(fd, 1, m->msg_iov, iov_count(m->msg_iovlen), r) : (void)0));
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	ENSURE(recvmsg);
	TIMED_CALL(ssize_t, real_recvmsg(fd, m, flags),
		   (record_io(SEG_RECVMSG, fd, t0, (long)r, saved),
		    r > 0 ? recv_hook(fd, m->msg_iov, iov_count(m->msg_iovlen), r, flags) : (void)0));
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t al)
{
	int r, saved;
	uint64_t t0;

	ENSURE(connect);
	if (!seg__armed() || in_shim)
		return real_connect(fd, a, al);
	t0 = tsc__now();
	r = real_connect(fd, a, al);
	saved = errno;
	in_shim++;
	seg__record(SEG_CONNECT, t0, r, saved);
	if (r == 0 || saved == EINPROGRESS)
		netcap__opened(fd, OBS_FD_OUTBOUND, a, al);
	in_shim--;
	errno = saved;
	return r;
}

/* the caller's address buffer is never read (it may hold a cut address): netcap.c asks for the peer */
static int accepted(enum obs_seg_slot slot, uint64_t t0, int r)
{
	int saved = errno;

	in_shim++;
	seg__record(slot, t0, r, saved);
	if (r >= 0)
		netcap__opened(r, OBS_FD_INBOUND, NULL, 0);
	in_shim--;
	errno = saved;
	return r;
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *al)
{
	uint64_t t0;

	ENSURE(accept);
	if (!seg__armed() || in_shim)
		return real_accept(fd, a, al);
	t0 = tsc__now();
	return accepted(SEG_ACCEPT, t0, real_accept(fd, a, al));
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *al, int flags)
{
	uint64_t t0;

	ENSURE(accept4);
	if (!seg__armed() || in_shim)
		return real_accept4(fd, a, al, flags);
	t0 = tsc__now();
	return accepted(SEG_ACCEPT4, t0, real_accept4(fd, a, al, flags));
}

EXPORT int close(int fd)
{
	ENSURE(close);
	fd_forget(fd);
	TIMED(SEG_CLOSE, int, real_close(fd));
}

/* calls that close a descriptor without close(): what the shim knew of it ends with it */
EXPORT int dup2(int old, int fd)
{
	int r, saved;

	ENSURE(dup2);
	r = real_dup2(old, fd);
	saved = errno;
	if (r >= 0 && old != fd)
		fd_forget(fd);
	errno = saved;
	return r;
}

EXPORT int dup3(int old, int fd, int flags)
{
	int r, saved;

	ENSURE(dup3);
	r = real_dup3(old, fd, flags);
	saved = errno;
	if (r >= 0)
		fd_forget(fd);
	errno = saved;
	return r;
}

static void forget_range(unsigned int first, unsigned int last)
{
	for (unsigned int fd = first; fd <= last && fd < OBS_FD_MAX; fd++)
		if (netcap_fd_class[fd] || netcap_conn_of[fd])
			fd_forget((int)fd);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int saved = errno;

	ENSURE(close_range);
	if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		forget_range(first, last);
	errno = saved;
	return real_close_range(first, last, flags);
}

EXPORT void closefrom(int first)
{
	int saved = errno;

	if (__builtin_expect(!real_closefrom, 0))
		pthread_once(&resolve_once, resolve);
	if (first >= 0)
		forget_range((unsigned int)first, ~0U);
	errno = saved;
	if (real_closefrom)
		real_closefrom(first);
}

EXPORT int fclose(FILE *f)
{
	int saved = errno, fd;

	ENSURE(fclose);
	fd = f ? fileno_unlocked(f) : -1; /* before the stream and its descriptor are gone */
	fd_forget(fd);
	errno = saved;
	return real_fclose(f);
}

/* freopen keeps the stream's fd number for another file (glibc dups inside, unseen) */
static FILE *reopen(FILE *(*const *real)(const char *, const char *, FILE *), const char *path, const char *mode,
		    FILE *f)
{
	FILE *r;
	int saved, old;

	if (__builtin_expect(!*real, 0))
		pthread_once(&resolve_once, resolve);
	if (!*real) {
		errno = ENOSYS;
		return NULL;
	}
	old = f ? fileno_unlocked(f) : -1;
	r = (*real)(path, mode, f);
	saved = errno;
	fd_forget(old);
	if (r)
		fd_forget(fileno_unlocked(r));
	errno = saved;
	return r;
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	return reopen(&real_freopen, path, mode, f);
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	return reopen(&real_freopen64, path, mode, f);
}

/* _FORTIFY_SOURCE variants that binaries built with it call instead */
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ENSURE(read_chk);
	TIMED_DATA(SEG_READ, fd, real_read_chk(fd, buf, n, buflen), 0, ONE(buf, r));
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	ENSURE(recv_chk);
	TIMED_RECV(SEG_RECVFROM, fd, real_recv_chk(fd, buf, n, buflen, flags), flags, ONE(buf, r));
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *a, socklen_t *al)
{
	ENSURE(recvfrom_chk);
	TIMED_RECV(SEG_RECVFROM, fd, real_recvfrom_chk(fd, buf, n, buflen, flags, a, al), flags, ONE(buf, r));
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	ENSURE(pread_chk);
	TIMED(SEG_PREAD, ssize_t, real_pread_chk(fd, buf, n, off, buflen));
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	ENSURE(pread64_chk);
	TIMED(SEG_PREAD, ssize_t, real_pread64_chk(fd, buf, n, off, buflen));
}
