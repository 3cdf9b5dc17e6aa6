/* http_pair.c -- N keep-alive HTTP/1.1 exchanges over loopback, the server side making nginx's calls per request
 * (recv of the request; open, pread and close of the page; one writev of head and page), the client side in raw
 * syscalls: run under LD_PRELOAD=libobsshim.so only the server's calls go through the shim.
 *
 *   http_pair PORT N [PAGE]      PAGE: a file of the page's bytes (default: 700 bytes made in /tmp)
 *
 * Meant to run under callgrind (tests/bench/parse_bench.sh): the instructions of N exchanges minus those of a
 * smaller N, divided by the difference, with and without the shim, give what the shim adds per request.  One
 * thread, one connection, blocking sockets: no timing, no scheduling in the figure.  Exits 1 when an answer is
 * not the one sent. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 700

static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static const char head[] = "HTTP/1.1 200 OK\r\n"
			   "Server: nginx/1.22.1\r\n"
			   "Date: Mon, 07 Dec 2026 09:36:00 GMT\r\n"
			   "Content-Type: text/html\r\n"
			   "Content-Length: 700\r\n"
			   "Last-Modified: Mon, 07 Dec 2026 09:00:00 GMT\r\n"
			   "Connection: keep-alive\r\n"
			   "ETag: \"6570f0e0-2bc\"\r\n"
			   "Accept-Ranges: bytes\r\n"
			   "\r\n";

/* the client's side: raw syscalls, never the shim's wrappers */
static long raw_send(int fd, const void *b, size_t n)
{
	return syscall(SYS_sendto, fd, b, n, 0, NULL, 0);
}

static long raw_recv_all(int fd, char *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		long k = syscall(SYS_recvfrom, fd, b + got, n - got, 0, NULL, NULL);

		if (k <= 0)
			return -1;
		got += k;
	}
	return (long)got;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7702;
	long n = argc > 2 ? atol(argv[2]) : 1000;
	const char *path = argc > 3 ? argv[3] : NULL;
	char tmpl[] = "/tmp/http_pair.XXXXXX", page[PAGE], req[256], answer[sizeof(head) - 1 + PAGE];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, lfd, cfd, sfd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!path) {
		int fd = mkstemp(tmpl);

		memset(page, 'x', sizeof(page));
		if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page))
			return 2;
		close(fd);
		path = tmpl;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4)) {
		perror("http_pair: listen");
		return 2;
	}
	cfd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || syscall(SYS_connect, cfd, (struct sockaddr *)&a, sizeof(a))) {
		perror("http_pair: connect");
		return 2;
	}
	syscall(SYS_setsockopt, cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sfd = accept4(lfd, NULL, NULL, 0);
	if (sfd < 0) {
		perror("http_pair: accept");
		return 2;
	}
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (long i = 0; i < n; i++) {
		struct iovec iov[2];
		ssize_t r;
		int fd;

		if (raw_send(cfd, request, sizeof(request) - 1) != sizeof(request) - 1)
			return 1;
		r = recv(sfd, req, sizeof(req), 0);
		if (r != sizeof(request) - 1)
			return 1;
		fd = open(path, O_RDONLY);
		if (fd < 0 || pread(fd, page, sizeof(page), 0) != sizeof(page))
			return 1;
		close(fd);
		iov[0].iov_base = (void *)head;
		iov[0].iov_len = sizeof(head) - 1;
		iov[1].iov_base = page;
		iov[1].iov_len = sizeof(page);
		if (writev(sfd, iov, 2) != (ssize_t)sizeof(answer))
			return 1;
		if (raw_recv_all(cfd, answer, sizeof(answer)) != (long)sizeof(answer) ||
		    memcmp(answer, head, sizeof(head) - 1))
			return 1;
	}
	close(sfd);
	syscall(SYS_close, cfd);
	close(lfd);
	if (path == tmpl)
		unlink(tmpl);
	printf("http_pair: %ld exchanges\n", n);
	return 0;
}
