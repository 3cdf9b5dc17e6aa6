/* netutil.h -- small socket facts for the shim's capture (netcap.c, h2cap.c) */
#ifndef OBSPROBE_PRELOAD_NETUTIL_H
#define OBSPROBE_PRELOAD_NETUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "abi/exchange.h"

/* @a (@len valid bytes, from the kernel) into @out; left unknown when too short for its family */
void netutil__addr_of(struct obs_addr *out, const struct sockaddr *a, socklen_t len);
/* Will the kernel take @need more bytes on TCP socket @fd in one call without waiting? */
bool netutil__room_for(int fd, size_t need);
/* @b (@n bytes, the first of a connection) starts a TLS handshake record (a 5-byte header alone counts) */
bool netutil__tls_record(const uint8_t *b, size_t n);
/* the first bytes (at most @cap) of @n that crossed in @iov, into @b: how many */
size_t netutil__first_bytes(uint8_t *b, size_t cap, const struct iovec *iov, int iovcnt, size_t n);

/* this process's and this thread's ids, asked of the kernel once each (two syscalls per request otherwise) */
int32_t netutil__pid(void);
int32_t netutil__tid(void);
/* in a forked child: its own ids are asked again */
void netutil__atfork_child(void);

#endif
