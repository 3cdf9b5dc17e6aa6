/* netcap.h -- the shim's network capture: the class of every socket it saw open, one HTTP/1 parser per TCP
 * connection (exchanges into the segment), the request each thread serves, and traceparent injection planning.
 *
 * Injection is planned here and written by the wrapper: netcap__inject_plan() says what to write instead of the
 * program's iovecs (or NULL: write them unchanged), the wrapper makes the real call, and netcap__inject_done()
 * turns its result into what the program must be told (its own bytes only), counts the outcome and feeds the
 * parser.  The connection stays locked between the two (a try-lock: another thread skips; netlock.h). */
#ifndef OBSPROBE_PRELOAD_NETCAP_H
#define OBSPROBE_PRELOAD_NETCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "preload/inject.h"
#include "preload/serving.h"

#define OBS_FD_MAX 65536
#define NETCAP_CONNS 1024 /* HTTP connections parsed at once per process (pool, mapped on first use) */
#define NETCAP_INJECT_IOV_MAX (INJECT_IOV_MAX - 2) /* the program's iovecs a write injected into may have */

/* netcap_fd_class[fd]: 0 = not a socket we saw open; else a protocol | a direction */
enum {
	OBS_FD_TCP = 1,
	OBS_FD_UDP = 2,
	OBS_FD_UNIX = 3,
	OBS_FD_INBOUND = 0x10,	 /* accepted */
	OBS_FD_OUTBOUND = 0x20,	 /* connected */
	OBS_FD_TLS = 0x40,	 /* its bytes are TLS records: never parsed raw (its plaintext is, from tlscap.c) */
	OBS_FD_INHERITED = 0x80, /* opened before this process forked: its close is the opener's to count */
};
extern uint8_t netcap_fd_class[OBS_FD_MAX];
extern int16_t netcap_conn_of[OBS_FD_MAX]; /* fd -> HTTP connection slot + 1; 0 = none */

/* the wrappers' recursion guard (shim.c, tlscap.c): raised around capture work, so the capture code's own calls,
 * and a signal handler's made meanwhile, pass straight through */
extern __thread int in_shim;

/* the OpenSSL call this thread is inside (tlscap.c sets @ssl around the real call, NULL outside): socket I/O made
 * meanwhile is that SSL's -- its fd is noted in @fd (the first one), the socket is marked OBS_FD_TLS, its bytes are
 * not parsed */
struct netcap_tls_call {
	const void *ssl;
	int fd;
};
extern __thread struct netcap_tls_call netcap_tls_call;

/* the constructor: OBSPROBE_SAMPLE_RATIO (sampler__parse_ratio) */
void netcap__init(void);
/* a forked child: no socket classes (it makes its own segment), no connection lock held by a parent thread */
void netcap__atfork_child(void);

/* @fd was accepted (OBS_FD_INBOUND, @peer NULL) or connected to @peer (OBS_FD_OUTBOUND; @plen checked by the
 * kernel): its class, the TCP connection counter and, for TCP, a parser */
void netcap__opened(int fd, uint8_t dir, const struct sockaddr *peer, socklen_t plen);
/* @fd is closed (or names another file now): its class ends, a TCP connection is counted closed */
void netcap__fd_closed(int fd);
/* ... and its parser ends (pending exchanges end as incomplete) */
void netcap__conn_close(int fd);
/* @n bytes crossed @fd in direction @dir (0 received, 1 sent), in @iov */
void netcap__data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n);
/* @n bytes crossed but were not seen (MSG_TRUNC) */
void netcap__gap(int fd, int dir, size_t n);

/* Plan the write of @iov (the program's, unread: any pointer may be bad) on @fd with our header lines after its
 * request line: when it is one whole HTTP/1.x request head that can go out with them in one call.  NULL: write
 * the program's bytes unchanged.  Else write plan->iov/iovcnt, then call netcap__inject_done() with the result. */
const struct inject_plan *netcap__inject_plan(int fd, const struct iovec *iov, int iovcnt);
/* the planned write returned @r (errno may be clobbered after): what the program must be told */
ssize_t netcap__inject_done(int fd, ssize_t r);

/* ---- TLS plaintext (tlscap.c): the socket's own parser, started afresh at its first plaintext ---- */

/* @n bytes of plaintext read (@dir 0) or written (1) by the SSL on socket @fd, in @iov; false when @fd is not a
 * TCP connection with a parser (the bytes are counted lost) */
bool netcap__tls_data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n);

/* Plan an SSL write of the program's @buf (@n bytes, unread: any pointer may be bad) on @fd with our header lines
 * after its request line, built flat into @out (@cap bytes; NULL: no buffer to keep it in).  Returns the bytes
 * to write (@n + meta->hdrlen), or 0: write the program's bytes unchanged -- counted when the rules admitted the
 * request (no_slot: no @out or too small; not_exact: @partial, the SSL returns partial counts). */
size_t netcap__tls_inject_plan(int fd, const void *buf, size_t n, char *out, size_t cap, bool partial,
			       struct netcap_tls_inj *meta);
/* that write (@flat, as planned) completed (@sent: injected; the program's bytes go to the parser) or was given up
 * (failed) */
void netcap__tls_inject_done(int fd, const struct netcap_tls_inj *meta, const char *flat, bool sent);

/* @fd's bytes are TLS records (seen inside an OpenSSL call, or told by tlscap.c): its raw bytes are not parsed */
static inline void netcap__tls_mark(int fd)
{
	if (fd >= 0 && fd < OBS_FD_MAX && netcap_fd_class[fd])
		__atomic_or_fetch(&netcap_fd_class[fd], OBS_FD_TLS, __ATOMIC_RELAXED);
}

static inline uint8_t netcap__fd_class(int fd)
{
	return fd >= 0 && fd < OBS_FD_MAX ? netcap_fd_class[fd] : 0;
}

/* enum obs_seg_proto of a socket seen opened, -1 for any other descriptor */
static inline int netcap__sock_proto(int fd)
{
	uint8_t c = netcap__fd_class(fd);

	return c ? (c & 0xf) - 1 : -1;
}

static inline bool netcap__has_conn(int fd)
{
	return fd >= 0 && fd < OBS_FD_MAX && netcap_conn_of[fd];
}

/* a request may go out on @fd with traceparent: this thread serves one, and @fd is a connection it made (its raw
 * bytes, not TLS records, nor written inside an OpenSSL call) */
static inline bool netcap__injectable(int fd)
{
	return netcap_serving.active && fd >= 0 && fd < OBS_FD_MAX &&
	       (netcap_fd_class[fd] & (OBS_FD_OUTBOUND | OBS_FD_TLS)) == OBS_FD_OUTBOUND && netcap_conn_of[fd] &&
	       !netcap_tls_call.ssl;
}

/* an SSL write on @fd may carry traceparent: this thread serves a request, @fd is a TLS connection it made */
static inline bool netcap__tls_injectable(int fd)
{
	return netcap_serving.active && fd >= 0 && fd < OBS_FD_MAX &&
	       (netcap_fd_class[fd] & (OBS_FD_OUTBOUND | OBS_FD_TLS)) == (OBS_FD_OUTBOUND | OBS_FD_TLS) &&
	       netcap_conn_of[fd];
}

#endif
