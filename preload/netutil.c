/* netutil.c -- small socket facts for the shim's capture: addresses, send-queue room, a TLS record's start;
 * the process's and thread's ids, asked once */
#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/netutil.h"

/* @a (@len valid bytes, from the kernel) into @out; left unknown when too short for its family */
void netutil__addr_of(struct obs_addr *out, const struct sockaddr *a, socklen_t len)
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

/* Will the kernel take @need more bytes in one call without waiting?  TCP queues a write while the
 * memory it has queued (SO_MEMINFO: what tcp_sendmsg checks before each new buffer) is under the send
 * buffer size, and, with TCP_NOTSENT_LOWAT set, while the unsent bytes are under it.  Each buffer costs up
 * to ~2 KiB besides its bytes; a buffer holds at least ~512 bytes. */
bool netutil__room_for(int fd, size_t need)
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

/* The first bytes of a connection are a TLS handshake record (ClientHello, ServerHello): content type 22, version
 * 3.x, a record length TLS allows, then the handshake type.  A read of the 5-byte record header alone counts. */
bool netutil__tls_record(const uint8_t *b, size_t n)
{
	if (n < 3 || b[0] != 0x16 || b[1] != 3 || b[2] > 4)
		return false;
	if (n >= 5 && (size_t)(b[3] << 8 | b[4]) > 16384 + 2048)
		return false;
	return n < 6 || b[5] == 1 || b[5] == 2;
}

size_t netutil__first_bytes(uint8_t *b, size_t cap, const struct iovec *iov, int iovcnt, size_t n)
{
	size_t k = 0;

	for (int i = 0; i < iovcnt && k < cap && k < n; i++) {
		size_t m = iov[i].iov_len;

		if (m > cap - k)
			m = cap - k;
		if (m > n - k)
			m = n - k;
		memcpy(b + k, iov[i].iov_base, m);
		k += m;
	}
	return k;
}

static int32_t my_pid; /* every thread finds the same: a relaxed atomic, no lock */
static __thread int32_t my_tid;

int32_t netutil__pid(void)
{
	int32_t p = __atomic_load_n(&my_pid, __ATOMIC_RELAXED);

	if (__builtin_expect(!p, 0)) {
		p = (int32_t)syscall(SYS_getpid);
		__atomic_store_n(&my_pid, p, __ATOMIC_RELAXED);
	}
	return p;
}

int32_t netutil__tid(void)
{
	if (__builtin_expect(!my_tid, 0))
		my_tid = (int32_t)syscall(SYS_gettid);
	return my_tid;
}

void netutil__atfork_child(void)
{
	__atomic_store_n(&my_pid, 0, __ATOMIC_RELAXED);
	my_tid = 0; /* the one thread a child has */
}
