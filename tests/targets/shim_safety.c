/* shim_safety.c -- programs the shim must not harm: each mode does one thing a real program may do and prints
 * what it saw (return values, errno, the bytes a peer received).  Peers are sockets the shim never sees
 * (raw system calls), so what they print is what went on the wire.
 *
 * usage: shim_safety MODE
 *   logtag   while serving, write(1) one line of 100, 4029, 4030, 4094, 4095, 4096 bytes each
 *   h2c      while serving: the HTTP/2 preface, a request after garbage, a request with bare LFs, a plain one
 *   ptrs [CASE]  bad and NULL pointers, MSG_TRUNC: "name ret=R errno=E" lines (the same with and without the
 *            shim); only CASE when given (each in its own process, so one crash hides no other)
 *   phantom  serve one connection: 35 bytes discarded with recv(MSG_TRUNC) into a buffer that already holds
 *            "GET /phantom ...", a 200 answer, then a real "GET /real" read and answered (a collector counts
 *            the requests: /real once, /phantom never)
 *   accept6  accept an IPv6 peer into a sockaddr_in that ends where an unmapped page begins
 *   dup      a connected socket's fd replaced (dup2, dup3, close_range, fclose, closefrom) by another socket
 *   split    while serving, a request written where the socket takes only part of it (TCP_NOTSENT_LOWAT=1,
 *            the peer not reading): the peer must get the request whole, with a whole traceparent or none */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define SENTINEL 4242
/* one call, when it is the case asked for (all when none): "name ret=R errno=E" */
static const char *only;
#define SHOW(name, expr)                                             \
	do {                                                         \
		long r_;                                             \
		if (only && strcmp(only, name))                      \
			break;                                       \
		errno = SENTINEL;                                    \
		r_ = (long)(expr);                                   \
		printf("%-28s ret=%ld errno=%d\n", name, r_, errno); \
	} while (0)

/* addresses the compiler cannot see through: a page never mapped, and NULL */
static void *volatile BAD = (void *)16, *volatile NUL;

static const char REQ[] = "GET /down HTTP/1.1\r\nHost: peer\r\n\r\n";

static void die(const char *what)
{
	fprintf(stderr, "shim_safety: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* a loopback listener made with raw system calls (the shim does not see what it accepts) */
static int listener(struct sockaddr_in *a, int rcvbuf)
{
	socklen_t al = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a->sin_family = AF_INET;
	a->sin_port = 0;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rcvbuf)
		setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (l < 0 || bind(l, (struct sockaddr *)a, sizeof(*a)) || listen(l, 8) ||
	    getsockname(l, (struct sockaddr *)a, &al))
		die("listener");
	return l;
}

/* a client connection to a raw peer: @tracked through libc connect() (the shim sees it), else raw */
static int conn(int *peer, bool tracked, int rcvbuf)
{
	struct sockaddr_in a;
	int l = listener(&a, rcvbuf), c = socket(AF_INET, SOCK_STREAM, 0);

	if (c < 0)
		die("socket");
	if (tracked ? connect(c, (struct sockaddr *)&a, sizeof(a))
		    : syscall(SYS_connect, c, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	*peer = syscall(SYS_accept4, l, NULL, NULL, 0);
	if (*peer < 0)
		die("accept");
	syscall(SYS_close, l);
	return c;
}

/* everything the peer gets until the client's end closes */
static size_t drain(int peer, char *buf, size_t size)
{
	size_t have = 0;
	long n;

	while (have < size && (n = syscall(SYS_read, peer, buf + have, size - have)) > 0)
		have += n;
	return have;
}

/* this thread serves a request from here on (the shim takes its ids for what it writes) */
static void serve_one(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	static const char in[] = "GET /in HTTP/1.1\r\nHost: me\r\n"
				 "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n";
	char buf[512];

	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &al))
		die("serve listener");
	if (syscall(SYS_connect, c, (struct sockaddr *)&a, sizeof(a)) || syscall(SYS_write, c, in, sizeof(in) - 1) < 0)
		die("serve connect");
	s = accept(l, NULL, NULL);
	if (s < 0 || read(s, buf, sizeof(buf)) != (ssize_t)sizeof(in) - 1)
		die("serve read");
}

/* one request out on a fresh tracked connection: what the peer got, and whether it is the request as written */
static void one_out(const char *name, const char *pre, size_t prelen, const char *req, size_t len)
{
	static char got[65536];
	int peer, c = conn(&peer, true, 0);
	size_t n;

	if (prelen && send(c, pre, prelen, MSG_NOSIGNAL) != (ssize_t)prelen)
		die("send pre");
	if (send(c, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		die("send");
	shutdown(c, SHUT_WR);
	n = drain(peer, got, sizeof(got));
	printf("%s sent=%zu got=%zu same=%d traceparent=%d\n", name, prelen + len, n,
	       n == prelen + len && !memcmp(got, pre, prelen) && !memcmp(got + prelen, req, len),
	       memmem(got, n, "\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-", 51) != NULL);
	close(c);
	syscall(SYS_close, peer);
}

static int mode_logtag(void)
{
	static const int sizes[] = { 100, 4029, 4030, 4094, 4095, 4096 };
	static char line[4096];

	serve_one();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int n = sizes[i];
		ssize_t r;

		memset(line, 'a' + i, n - 1);
		line[n - 1] = '\n';
		r = write(1, line, n);
		fprintf(stderr, "logtag n=%d ret=%zd\n", n, r);
	}
	return 0;
}

static int mode_h2c(void)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static const char lf[] = "GET /lf HTTP/1.1\nHost: peer\n\n";

	serve_one();
	one_out("h2c-preface", "", 0, preface, sizeof(preface) - 1);
	one_out("after-garbage", "HELLO\r\n", 7, REQ, sizeof(REQ) - 1);
	one_out("after-h2c", preface, sizeof(preface) - 1, REQ, sizeof(REQ) - 1);
	one_out("bare-lf", "", 0, lf, sizeof(lf) - 1);
	one_out("http10", "", 0, "GET /x HTTP/1.0\r\n\r\n", 19);
	one_out("http11", "", 0, REQ, sizeof(REQ) - 1);
	return 0;
}

static int mode_ptrs(void)
{
	struct sockaddr_in a;
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s, peer, out;
	socklen_t al = sizeof(a);
	char buf[64] = "untouched";
	struct iovec bad = { (void *)16, 10 };
	struct msghdr m = { .msg_iov = NULL, .msg_iovlen = 1 }, mb = { .msg_iov = &bad, .msg_iovlen = 1 };

	setvbuf(stdout, NULL, _IONBF, 0);
	a.sin_family = AF_INET;
	a.sin_port = 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) || getsockname(l, (struct sockaddr *)&a, &al))
		die("listen");
	/* an accepted connection (the shim parses it) with bytes waiting */
	syscall(SYS_connect, c, (struct sockaddr *)&a, sizeof(a));
	s = accept(l, NULL, NULL);
	syscall(SYS_write, c, "GET / HTTP/1.1\r\n", 16);
	usleep(20000);
	SHOW("recv NULL MSG_TRUNC", recv(s, NULL, 4, MSG_TRUNC));
	SHOW("recv buf MSG_TRUNC", recv(s, buf, 4, MSG_TRUNC));
	if (!only || !strcmp(only, "recv buf MSG_TRUNC"))
		printf("buffer after MSG_TRUNC: %s\n", buf);
	SHOW("recvfrom NULL MSG_TRUNC", recvfrom(s, NULL, 2, MSG_TRUNC, NULL, NULL));
	SHOW("recvmsg NULL", recvmsg(s, NULL, 0));
	SHOW("recvmsg NULL iov", recvmsg(s, &m, 0));
	SHOW("recvmsg bad iov_base", recvmsg(s, &mb, 0));
	SHOW("recv the rest", recv(s, buf, sizeof(buf), 0));
	syscall(SYS_connect, socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof(a));
	SHOW("accept bad addrlen", accept(l, (struct sockaddr *)&a, (socklen_t *)16));
	SHOW("accept4 bad addr",
	     (syscall(SYS_connect, socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof(a)), al = sizeof(a),
	      accept4(l, (struct sockaddr *)16, &al, 0)));
	/* a connected client socket while serving: every write is a candidate for injection */
	serve_one();
	out = conn(&peer, true, 0);
	SHOW("sendmsg NULL", sendmsg(out, NULL, MSG_NOSIGNAL));
	SHOW("sendmsg NULL iov", sendmsg(out, &m, MSG_NOSIGNAL));
	SHOW("sendmsg bad iov_base", sendmsg(out, &mb, MSG_NOSIGNAL));
	SHOW("writev bad iov", writev(out, (struct iovec *)BAD, 1));
	SHOW("writev bad iov_base", writev(out, &bad, 1));
	SHOW("send bad buf", send(out, BAD, 40, MSG_NOSIGNAL));
	SHOW("write bad buf", write(out, BAD, 40));
	SHOW("write stderr bad buf", write(2, BAD, 40));
	SHOW("write stderr NULL", write(2, NUL, 40));
	return 0;
}

static int mode_phantom(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", real[] = "GET /real HTTP/1.1\r\n\r\n";
	char buf[64] = "GET /phantom HTTP/1.1\r\nHost: a\r\n\r\n";
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	ssize_t r1, r2;

	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &al))
		die("listen");
	if (syscall(SYS_connect, c, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	s = accept(l, NULL, NULL);
	syscall(SYS_write, c, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 35);
	usleep(20000);
	r1 = recv(s, buf, 35, MSG_TRUNC | MSG_WAITALL); /* discarded: buf keeps what it held */
	send(s, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
	syscall(SYS_write, c, real, sizeof(real) - 1);
	r2 = recv(s, buf, sizeof(buf), 0);
	send(s, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
	printf("phantom discarded=%zd read=%zd\n", r1, r2);
	close(s);
	return 0;
}

static int mode_accept6(void)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t al = sizeof(a6);
	long pg = sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sockaddr_in *small;
	int l = socket(AF_INET6, SOCK_STREAM, 0), c = socket(AF_INET6, SOCK_STREAM, 0), s;

	if (mem == MAP_FAILED || mprotect(mem + pg, pg, PROT_NONE))
		die("guard page");
	if (l < 0 || bind(l, (struct sockaddr *)&a6, sizeof(a6)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a6, &al))
		die("listen6");
	if (syscall(SYS_connect, c, (struct sockaddr *)&a6, sizeof(a6)))
		die("connect6");
	small = (struct sockaddr_in *)(mem + pg - sizeof(*small)); /* its last byte is the page's last byte */
	al = sizeof(*small);
	s = accept(l, (struct sockaddr *)small, &al);
	printf("accept6 ok=%d addrlen=%u family=%d\n", s >= 0, (unsigned)al, small->sin_family == AF_INET6);
	return 0;
}

/* @how replaces the fd of a tracked connection by an untracked one; writes a request to it */
static void replace(const char *how)
{
	static char got[4096];
	int p1, p2, t = conn(&p2, false, 0), s = conn(&p1, true, 0);
	FILE *f;
	size_t n;

	if (!strcmp(how, "dup2")) {
		dup2(t, s);
	} else if (!strcmp(how, "dup3")) {
		dup3(t, s, O_CLOEXEC);
	} else if (!strcmp(how, "close_range")) {
		close_range(s, s, 0);
		syscall(SYS_dup2, t, s);
	} else if (!strcmp(how, "fclose")) {
		if (!(f = fdopen(s, "w")))
			die("fdopen");
		fclose(f);
		syscall(SYS_dup2, t, s);
	} else if (!strcmp(how, "closefrom")) {
		closefrom(s);
		syscall(SYS_dup2, t, s);
	}
	syscall(SYS_close, t);
	if (write(s, REQ, sizeof(REQ) - 1) != (ssize_t)sizeof(REQ) - 1)
		die("write");
	syscall(SYS_shutdown, s, SHUT_WR);
	n = drain(p2, got, sizeof(got));
	printf("%s got=%zu same=%d\n", how, n, n == sizeof(REQ) - 1 && !memcmp(got, REQ, n));
	syscall(SYS_close, s);
	syscall(SYS_close, p1);
	syscall(SYS_close, p2);
}

static int mode_dup(void)
{
	serve_one();
	replace("dup2");
	replace("dup3");
	replace("close_range");
	replace("fclose");
	replace("closefrom"); /* last: it closes every fd from s up */
	return 0;
}

/* a fresh connection as mode_split makes them, nonblocking, the peer not reading; @body of a POST written whole? */
static bool fill_fits(size_t body)
{
	static char fill[1 << 14];
	int peer, c = conn(&peer, true, 2304), lowat = 1;
	size_t n = snprintf(fill, sizeof(fill), "POST /fill HTTP/1.1\r\nContent-Length: %05zu\r\n\r\n", body);
	bool fits;

	setsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
	fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	memset(fill + n, 'f', body);
	fits = syscall(SYS_write, c, fill, n + body) == (long)(n + body);
	syscall(SYS_close, c);
	syscall(SYS_close, peer);
	return fits;
}

/* while serving: fills @lo, @lo - 8, ... bytes (the room left for the request grows by 8 each time) */
static int mode_split_trials(size_t lo, int verbose)
{
	static char got[1 << 16], fill[1 << 14];
	static const char req[] = "GET /split HTTP/1.1\r\nHost: peer\r\nAccept: */*\r\nUser-Agent: shim-safety\r\n\r\n";
	const size_t len = sizeof(req) - 1;
	int bad = 0, plain = 0, injected = 0, lowat = 1, whole = 0;

	serve_one();
	for (int k = 0; k < 24 && lo > 8 * (size_t)k; k++) {
		int peer, c = conn(&peer, true, 2304), fl = fcntl(c, F_GETFL);
		size_t have = 0, sent = 0, body = lo - 8 * k, fl_len, after;
		const char *tp;
		ssize_t r, first;
		long n;

		/* the fill: a whole POST the shim does not see (raw write), then the socket nearly full */
		setsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
		fcntl(c, F_SETFL, fl | O_NONBLOCK);
		fl_len = snprintf(fill, sizeof(fill), "POST /fill HTTP/1.1\r\nContent-Length: %05zu\r\n\r\n", body);
		memset(fill + fl_len, 'f', body);
		fl_len += body;
		if (syscall(SYS_write, c, fill, fl_len) != (long)fl_len) {
			printf("split k=%d: fill refused\n", k);
			return 1;
		}
		/* the program's write of the request, then the rest of it as the peer reads */
		first = r = send(c, req, len, MSG_NOSIGNAL);
		whole++;
		for (;;) {
			if (r > 0)
				sent += r;
			else if (errno != EAGAIN)
				die("send");
			if (sent == len)
				break;
			n = syscall(SYS_recvfrom, peer, got + have, sizeof(got) - have, MSG_DONTWAIT, NULL, NULL);
			have += n > 0 ? n : 0;
			whole += sent == 0; /* the whole request again: the shim may try to inject again */
			r = send(c, req + sent, len - sent, MSG_NOSIGNAL);
		}
		fcntl(c, F_SETFL, fl);
		shutdown(c, SHUT_WR);
		have += drain(peer, got + have, sizeof(got) - have);
		after = have - fl_len;
		tp = got + fl_len;
		if (have < fl_len || memcmp(got, fill, fl_len))
			bad++;
		else if (after == len && !memcmp(tp, req, len))
			plain++;
		else if (after == len + 70 && !memcmp(tp, req, 21) && !memcmp(tp + 21, "traceparent: 00-", 16) &&
			 !memcmp(tp + 21 + 68, "\r\n", 2) && !memcmp(tp + 21 + 70, req + 21, len - 21))
			injected++;
		else
			bad++;
		if (verbose)
			printf("k=%d first=%zd after=%zu\n", k, first, after);
		close(c);
		syscall(SYS_close, peer);
	}
	printf("split whole-request writes=%d\n", whole);
	printf("split plain=%d injected=%d bad=%d\n", plain, injected, bad);
	return 0;
}

/* while serving, a request written when the socket takes only part of it: the largest fill that fits, then
 * fills 8 bytes smaller each time (the room left for the request grows by 8 each time) */
static int mode_split(int verbose)
{
	size_t lo = 64, hi = 12000;

	if (!fill_fits(lo) || fill_fits(hi))
		die("split: no fill size to probe");
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		*(fill_fits(mid) ? &lo : &hi) = mid;
	}
	if (verbose)
		printf("largest fill body %zu\n", lo);
	return mode_split_trials(lo, verbose);
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "logtag"))
		return mode_logtag();
	if (!strcmp(m, "h2c"))
		return mode_h2c();
	if (!strcmp(m, "ptrs")) {
		only = argc > 2 ? argv[2] : NULL;
		return mode_ptrs();
	}
	if (!strcmp(m, "phantom"))
		return mode_phantom();
	if (!strcmp(m, "accept6"))
		return mode_accept6();
	if (!strcmp(m, "dup"))
		return mode_dup();
	if (!strcmp(m, "split"))
		return mode_split(argc > 2);
	fprintf(stderr, "usage: shim_safety logtag|h2c|ptrs|phantom|accept6|dup|split\n");
	return 2;
}
