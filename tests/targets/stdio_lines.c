/* stdio_lines.c -- a known set of lines printed through each stdio output call the shim covers (and a few it
 * must not log), for test_stdio_shim.sh.  Built fortified: direct printf/fprintf/vfprintf calls are
 * __printf_chk/__fprintf_chk/__vfprintf_chk; the plain functions are called through pointers.
 * usage: stdio_lines [PORT|errx]  (PORT: then serve one HTTP request on 127.0.0.1:PORT, printing a line while
 * serving, and exit when stdin ends; errx: end with errx(3, ...))
 * The lines each call logs are listed in the test, in this order. */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int (*volatile p_printf)(const char *, ...) = printf;
static int (*volatile p_fprintf)(FILE *, const char *, ...) = fprintf;
static int (*volatile p_vprintf)(const char *, va_list) = vprintf;
static int (*volatile p_vfprintf)(FILE *, const char *, va_list) = vfprintf;
static int (*volatile p_dprintf)(int, const char *, ...) = dprintf;
static int (*volatile p_fputs)(const char *, FILE *) = fputs;
static int (*volatile p_putc)(int, FILE *) = putc;

/* vfprintf as programs' log helpers call it (fortified: __vfprintf_chk) */
__attribute__((format(printf, 2, 3))) static void vlog(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

/* the plain vfprintf and vprintf */
__attribute__((format(printf, 2, 3))) static void vlog_plain(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (f == stdout)
		p_vprintf(fmt, ap);
	else
		p_vfprintf(f, fmt, ap);
	va_end(ap);
}

static void *lines(void *arg)
{
	int t = (int)(long)arg;

	for (int i = 0; i < 200; i++) { /* a line from three calls, per thread */
		printf("thread %d ", t);
		printf("line %d", i);
		putchar('\n');
	}
	return NULL;
}

/* one request: read its head, print a line while serving it, answer */
static int serve_one(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001) };
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;
	char req[4096];
	ssize_t n, got = 0;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		return 1;
	printf("listening\n");
	fflush(stdout);
	c = accept(l, NULL, NULL);
	if (c < 0)
		return 1;
	while (got < (ssize_t)sizeof(req) - 1 && (n = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
		got += n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	printf("serving %s\n", "a request");
	fprintf(stderr, "served %d\n", 200);
	if (write(c, resp, sizeof(resp) - 1) != (ssize_t)sizeof(resp) - 1)
		return 1;
	close(c);
	close(l);
	return 0;
}

/* failing calls (a stream open for reading): their return values and errno, the same with the shim; and errno
 * after a call that succeeds */
static void errors(void)
{
	FILE *ro = fopen("/dev/null", "r");
	int r[5], e[5];
	size_t w;

	if (!ro)
		exit(1);
	errno = 0;
	r[0] = fprintf(ro, "x%d", 1);
	e[0] = errno;
	errno = 0;
	r[1] = p_fputs("x", ro);
	e[1] = errno;
	errno = 0;
	w = fwrite("xy", 1, 2, ro);
	e[2] = errno;
	errno = 0;
	r[3] = p_putc('x', ro);
	e[3] = errno;
	errno = 77;
	r[4] = printf("errno %s\n", "kept");
	e[4] = errno;
	fclose(ro);
	fprintf(stderr, "results %d/%d %d/%d %zu/%d %d/%d %d/%d\n", r[0], e[0], r[1], e[1], w, e[2], r[3], e[3], r[4],
		e[4]);
}

int main(int argc, char **argv)
{
	static char big[5001];
	pthread_t th[4];
	int port = argc > 1 && strcmp(argv[1], "errx") ? atoi(argv[1]) : 0, n = 0;
	FILE *null, *one;

	p_printf("printf plain %d %s\n", 1, "two");
	printf("printf fortified %d\n", 2);
	puts("puts line");
	p_fputs("fputs line\n", stdout);
	fwrite("fwrite line\n", 1, 12, stdout);
	for (const char *p = "putchar line\n"; *p; p++)
		putchar(*p);
	vlog(stdout, "vfprintf fortified %s\n", "seven");
	vlog_plain(stdout, "vprintf plain %x\n", 255);
	vlog_plain(stderr, "vfprintf plain stderr %c\n", 'z');
	printf("split ");
	fputs("across ", stdout);
	putchar('4');
	printf(" calls%c", '\n');
	printf("%s%n|\n", "with percent n", &n); /* printed, never logged */
	p_dprintf(1, "dprintf line %d\n", n);
	null = fopen("/dev/null", "w");
	if (!null)
		return 1;
	fprintf(null, "not a log line\n");
	fclose(null);
	one = fdopen(1, "w"); /* a second stream on descriptor 1 */
	if (!one)
		return 1;
	p_fprintf(one, "fdopen stream line\n");
	fflush(one);
	memset(big, 'x', sizeof(big) - 1);
	printf("long %s|\n", big); /* 5007 bytes: the first 4096 logged, the line truncated */
	printf("after long\n");
	fprintf(stderr, "fprintf stderr %s\n", "line");
	p_fputs("fputs stderr\n", stderr);
	for (const char *p = "putc line\n"; *p; p++)
		p_putc(*p, stderr);
	for (const char *p = "fputc line\n"; *p; p++)
		fputc(*p, stderr);
	errno = ENOENT;
	perror("perror line");
	errno = EACCES;
	warn("warn %s", "line");
	warnx("warnx %d", 3);
	errors();
	fflush(stdout);
	/* four threads at once with PORT (their partial lines interleave on stdout: records are per thread);
	 * without, one after the other (the same bytes every run) */
	for (long t = 0; t < 4; t++) {
		if (pthread_create(&th[t], NULL, lines, (void *)t))
			return 1;
		if (!port)
			pthread_join(th[t], NULL);
	}
	for (int t = 0; port && t < 4; t++)
		pthread_join(th[t], NULL);
	if (port && serve_one(port))
		return 1;
	printf("tail without newline"); /* flushed by exit */
	if (argc > 1 && !port)
		errx(3, "errx %s", "exit");
	while (port && read(0, big, 1) > 0) /* alive until stdin ends: a collector reads it all as this process's */
		;
	return 0;
}
