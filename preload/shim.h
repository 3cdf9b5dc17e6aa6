/* shim.h -- the shim's hooks for the network/HTTP capture: socket class per fd, the request a thread serves */
#ifndef OBSPROBE_SHIM_H
#define OBSPROBE_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#define OBS_FD_MAX 65536

/* obs_fd_class[fd]: 0 = not a socket we saw open; else a protocol | a direction */
enum {
	OBS_FD_TCP = 1,
	OBS_FD_UDP = 2,
	OBS_FD_UNIX = 3,
	OBS_FD_INBOUND = 0x10,	/* accepted */
	OBS_FD_OUTBOUND = 0x20,	/* connected */
};
extern uint8_t obs_fd_class[OBS_FD_MAX];

/* the request this thread is serving: spans and log lines take their ids from it */
struct obs_current_request {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	bool active;
};
extern __thread struct obs_current_request obs_current_request;

/* shim.c */
struct obs_segment;
struct obs_segment *obs_shim_segment(void);

/* httpshim.c: HTTP exchanges and log writes */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

extern int16_t obs_conn_of[OBS_FD_MAX]; /* fd -> HTTP connection slot + 1 */
void obs_http_init(void);
void obs_http_atfork_child(void);
void obs_http_open(int fd, const struct sockaddr *peer, socklen_t plen, bool inbound);
void obs_http_close(int fd);
void obs_http_data(int fd, int dir, const struct iovec *iov, int iovcnt, size_t n);
void obs_http_gap(int fd, int dir, size_t n); /* @n bytes crossed but were not seen (MSG_TRUNC) */
/* copy @n bytes of the program's memory without faulting: false where the kernel would say EFAULT */
bool obs_copy_in(void *dst, const void *src, size_t n);
/* write @iov (the program's, unread: any pointer may be bad) with traceparent after its request line when that is
 * safe (httpshim.c); true when it made the call, *ret and errno then being what the program must see */
bool obs_http_inject(int fd, const struct iovec *iov, int iovcnt, int flags, bool use_send, ssize_t *ret,
		     ssize_t (*real_writev)(int, const struct iovec *, int),
		     ssize_t (*real_sendmsg)(int, const struct msghdr *, int));
void obs_log_fd_reset(int fd); /* fd 1 or 2 now names another file */
void obs_log_write(int fd, const struct iovec *iov, int iovcnt, size_t n);
/* OBSPROBE_LOG_TAG=1: write @buf tagged when it is one line that still fits PIPE_BUF tagged; true when it wrote */
bool obs_log_tag(int fd, const void *buf, size_t n, ssize_t *ret, ssize_t (*real_write)(int, const void *, size_t));
bool obs_log_tag_enabled(void);

#endif
