/* shim_errno.c -- calls every wrapped libc entry point, failing and succeeding, and prints the return
 * value and errno of each; the output must be the same with and without the shim.
 * Also: a blocking read interrupted by a signal must give EINTR. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define SENTINEL 4242
#define SHOW(name, expr)                                             \
	do {                                                         \
		long r_;                                             \
		errno = SENTINEL;                                    \
		r_ = (long)(expr);                                   \
		printf("%-22s ret=%ld errno=%d\n", name, r_, errno); \
	} while (0)

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	char buf[16] = "abc";
	struct iovec iov = { buf, 3 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(1),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int sv[2], p[2], fd = open("/dev/null", O_RDWR), s;
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */

	setvbuf(stdout, NULL, _IONBF, 0);
	/* failures: a closed descriptor */
	SHOW("read EBADF", read(-1, buf, 1));
	SHOW("write EBADF", write(-1, buf, 1));
	SHOW("readv EBADF", readv(-1, &iov, 1));
	SHOW("writev EBADF", writev(-1, &iov, 1));
	SHOW("pread EBADF", pread(-1, buf, 1, 0));
	SHOW("pwrite EBADF", pwrite(-1, buf, 1, 0));
	SHOW("send EBADF", send(-1, buf, 1, 0));
	SHOW("recv EBADF", recv(-1, buf, 1, 0));
	SHOW("sendto EBADF", sendto(-1, buf, 1, 0, NULL, 0));
	SHOW("recvfrom EBADF", recvfrom(-1, buf, 1, 0, NULL, NULL));
	SHOW("sendmsg EBADF", sendmsg(-1, &mh, 0));
	SHOW("recvmsg EBADF", recvmsg(-1, &mh, 0));
	SHOW("accept EBADF", accept(-1, NULL, NULL));
	SHOW("accept4 EBADF", accept4(-1, NULL, NULL, 0));
	SHOW("close EBADF", close(-1));
	SHOW("pwrite ESPIPE", pipe(p) == 0 ? pwrite(p[1], buf, 1, 0) : -2);
	s = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("connect ECONNREFUSED", connect(s, (struct sockaddr *)&a, al));
	close(s);
	/* successes: errno is what libc leaves (untouched: the sentinel) */
	SHOW("write ok", write(fd, buf, 3));
	SHOW("read ok", read(fd, buf, 3));
	SHOW("writev ok", writev(fd, &iov, 1));
	SHOW("readv ok", readv(fd, &iov, 1));
	SHOW("pwrite ok", pwrite(fd, buf, 3, 0));
	SHOW("pread ok", pread(fd, buf, 3, 0));
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	SHOW("send ok", send(sv[0], buf, 3, 0));
	SHOW("recv ok", recv(sv[1], buf, 3, 0));
	SHOW("sendto ok", sendto(sv[0], buf, 3, 0, NULL, 0));
	SHOW("recvfrom ok", recvfrom(sv[1], buf, 3, 0, NULL, NULL));
	SHOW("sendmsg ok", sendmsg(sv[0], &mh, 0));
	SHOW("recvmsg ok", recvmsg(sv[1], &mh, 0));
	SHOW("close ok", close(sv[0]));
	/* a signal interrupts a blocking read: EINTR, as without the shim */
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	SHOW("read EINTR", read(p[0], buf, 1));
	return 0;
}
