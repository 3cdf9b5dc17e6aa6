/* stdiocap.c -- the stdio wrappers' capture code: what a stdio call gave a stream of descriptor 1 or 2, as the
 * log records write(1/2) makes (logcap.c), with the thread's serving ids
 *
 * Called by stdiowrap.c after the real call succeeded, with the recursion guard raised: a string's or buffer's
 * bytes as they are, a printf's formatted again from a copy of its arguments (never with %n, nor once a printf
 * handler is registered), a char-at-a-time call's held by logcap.c until its line ends. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "preload/logcap.h"
#include "preload/netcap.h"
#include "preload/stdiocap.h"

/* a printf handler (or modifier) was registered: formatting again would run the program's code twice */
static bool printf_extended;

void stdiocap__printf_extended(void)
{
	__atomic_store_n(&printf_extended, true, __ATOMIC_RELAXED);
}

int stdiocap__fd(int fd)
{
	return (fd == 1 || fd == 2) && !netcap__fd_class(fd) ? fd : -1;
}

int stdiocap__stream_fd(FILE *f)
{
	return stdiocap__fd(fileno_unlocked(f));
}

static inline const uint8_t *serving_trace(void)
{
	return netcap_serving.active ? netcap_serving.trace_id : NULL;
}

static inline const uint8_t *serving_span(void)
{
	return netcap_serving.active ? netcap_serving.span_id : NULL;
}

static void log_iov(int fd, const struct iovec *iov, int cnt, size_t n, bool all)
{
	if (fd > 0 && n)
		logcap__stdio(fd, iov, cnt, n, all, serving_trace(), serving_span());
}

void stdiocap__str(int fd, const char *s)
{
	size_t n;

	if (fd < 0)
		return;
	n = strlen(s);
	log_iov(fd, &(struct iovec){ (void *)s, n }, 1, n, true);
}

void stdiocap__line(int fd, const char *s)
{
	size_t n;

	if (fd < 0)
		return;
	n = strlen(s);
	log_iov(fd, (struct iovec[2]){ { (void *)s, n }, { "\n", 1 } }, 2, n + 1, true);
}

/* stdio may have handed fwrite's buffer to write() unread (a large write to /dev/null): it goes the way
 * write(1/2)'s bytes do */
void stdiocap__buf(int fd, const void *p, size_t n)
{
	if (fd > 0 && n)
		logcap__write(fd, &(struct iovec){ (void *)p, n }, 1, n, serving_trace(), serving_span());
}

void stdiocap__char(int fd, int c)
{
	if (fd > 0)
		logcap__stdio_char(fd, (char)c, serving_trace(), serving_span());
}

/* the text of one printf-family, perror or err.h call, formatted again (a signal handler's printf meanwhile
 * passes through unlogged: the wrappers' guard) */
static __thread char fmt_buf[STDIOCAP_FMT_MAX + 1];

/* may @fmt be formatted again (NULL: no format) */
static inline bool reformat_ok(const char *fmt)
{
	return !__atomic_load_n(&printf_extended, __ATOMIC_RELAXED) && !(fmt && stdiocap__has_n(fmt));
}

/* append what @fmt says to fmt_buf's text of *@len bytes (its length goes on past the buffer when cut) */
static void put_text(size_t *len, const char *fmt, va_list ap)
{
	size_t at = *len < STDIOCAP_FMT_MAX ? *len : STDIOCAP_FMT_MAX;
	int k = vsnprintf(fmt_buf + at, sizeof(fmt_buf) - at, fmt, ap);

	if (k > 0)
		*len += (size_t)k;
}

__attribute__((format(printf, 2, 3))) static void put(size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_text(len, fmt, ap);
	va_end(ap);
}

/* fmt_buf's text of @len bytes, to @fd: cut past STDIOCAP_FMT_MAX */
static void log_text(int fd, size_t len)
{
	size_t n = len < STDIOCAP_FMT_MAX ? len : STDIOCAP_FMT_MAX;

	log_iov(fd, &(struct iovec){ fmt_buf, n }, 1, n, n == len);
}

void stdiocap__format(int fd, const char *fmt, va_list ap, int err_in)
{
	size_t len = 0;

	if (fd < 0 || !reformat_ok(fmt))
		return;
	errno = err_in;
	put_text(&len, fmt, ap);
	log_text(fd, len);
}

void stdiocap__perror(int fd, const char *s, int err_in)
{
	size_t len = 0;

	if (fd < 0)
		return;
	if (s && *s)
		put(&len, "%s: ", s);
	errno = err_in;
	put(&len, "%m\n");
	log_text(fd, len);
}

void stdiocap__warn(int fd, const char *fmt, va_list ap, bool with_errno, int err_in)
{
	size_t len = 0;

	if (fd < 0 || !reformat_ok(fmt))
		return;
	put(&len, "%s: ", program_invocation_short_name);
	if (fmt) {
		errno = err_in;
		put_text(&len, fmt, ap);
		if (with_errno)
			put(&len, ": ");
	}
	errno = err_in;
	put(&len, with_errno ? "%m\n" : "\n");
	log_text(fd, len);
}
