/* stdiocap.c -- libobsshim.so's stdio wrappers: what a program prints through stdio on stdout/stderr becomes the
 * log records write(1/2) makes
 *
 * glibc's stdio writes through its internal write(), unseen by shim.c's wrapper.  Each wrapper here makes the
 * real call with the program's arguments, unchanged, and only when it succeeded on a stream whose descriptor is
 * 1 or 2 logs the bytes it gave that stream (logcap.c), at the call, in the order the thread produced them: a
 * string's or buffer's bytes as they are, a printf's formatted again from a copy of its arguments (never with
 * %n, nor once a printf handler is registered), a char-at-a-time call's held until its line ends.  The bytes
 * still reach the descriptor when stdio flushes them: buffering and flushing are the program's own. */
#include <dlfcn.h>
#include <errno.h>
#include <printf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "preload/logcap.h"
#include "preload/netcap.h"
#include "preload/seg.h"
#include "preload/stdiocap.h"

/* names glibc's headers may define as macros under optimisation */
#undef fwrite_unlocked
#undef fputc_unlocked
#undef putc_unlocked
#undef putchar_unlocked
#undef putc

#define EXPORT __attribute__((visibility("default")))

/* ---- the real functions, resolved once ---- */
static int (*real_vprintf)(const char *, va_list);
static int (*real_vfprintf)(FILE *, const char *, va_list);
static int (*real_vdprintf)(int, const char *, va_list);
static int (*real_vprintf_chk)(int, const char *, va_list);
static int (*real_vfprintf_chk)(FILE *, int, const char *, va_list);
static int (*real_vdprintf_chk)(int, int, const char *, va_list);
static int (*real_puts)(const char *);
static int (*real_fputs)(const char *, FILE *);
static int (*real_fputs_unlocked)(const char *, FILE *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static size_t (*real_fwrite_unlocked)(const void *, size_t, size_t, FILE *);
static int (*real_fputc)(int, FILE *);
static int (*real_putc)(int, FILE *);
static int (*real_io_putc)(int, FILE *);
static int (*real_putchar)(int);
static int (*real_fputc_unlocked)(int, FILE *);
static int (*real_putc_unlocked)(int, FILE *);
static int (*real_putchar_unlocked)(int);
static void (*real_perror)(const char *);
static int (*real_register_printf_function)(int, printf_function *, printf_arginfo_function *);
static int (*real_register_printf_specifier)(int, printf_function *, printf_arginfo_size_function *);
static int (*real_register_printf_modifier)(const wchar_t *);

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
#define R(var, name) var = dlsym(RTLD_NEXT, name)
	R(real_vprintf, "vprintf");
	R(real_vfprintf, "vfprintf");
	R(real_vdprintf, "vdprintf");
	R(real_vprintf_chk, "__vprintf_chk");
	R(real_vfprintf_chk, "__vfprintf_chk");
	R(real_vdprintf_chk, "__vdprintf_chk");
	R(real_puts, "puts");
	R(real_fputs, "fputs");
	R(real_fputs_unlocked, "fputs_unlocked");
	R(real_fwrite, "fwrite");
	R(real_fwrite_unlocked, "fwrite_unlocked");
	R(real_fputc, "fputc");
	R(real_putc, "putc");
	R(real_io_putc, "_IO_putc");
	R(real_putchar, "putchar");
	R(real_fputc_unlocked, "fputc_unlocked");
	R(real_putc_unlocked, "putc_unlocked");
	R(real_putchar_unlocked, "putchar_unlocked");
	R(real_perror, "perror");
	R(real_register_printf_function, "register_printf_function");
	R(real_register_printf_specifier, "register_printf_specifier");
	R(real_register_printf_modifier, "register_printf_modifier");
#undef R
}

/* a printf handler (or modifier) was registered: formatting again would run the program's code twice */
static bool printf_extended;

__attribute__((constructor)) static void stdiocap_init(void)
{
	pthread_once(&resolve_once, resolve);
	pthread_atfork(NULL, NULL, logcap__atfork_child);
}

/* at exit: the last char-at-a-time line of the exiting thread, without its newline */
__attribute__((destructor)) static void stdiocap_fini(void)
{
	if (seg__armed() && !in_shim) {
		in_shim++;
		logcap__stdio_flush();
		in_shim--;
	}
}

#define ENSURE(fn, fail)                                      \
	do {                                                  \
		if (__builtin_expect(!real_##fn, 0))          \
			pthread_once(&resolve_once, resolve); \
		if (__builtin_expect(!real_##fn, 0)) {        \
			errno = ENOSYS;                       \
			return fail;                          \
		}                                             \
	} while (0)

/* ---- capture: called with in_shim raised ---- */

static inline bool watching(void)
{
	return seg__armed() && !in_shim;
}

/* @fd when its bytes are logged: 1 or 2, not a socket the shim saw opened; else -1 */
static inline int log_fd(int fd)
{
	return (fd == 1 || fd == 2) && !netcap__fd_class(fd) ? fd : -1;
}

/* the descriptor of a stream the real call just used (fileno_unlocked reads two fields; it may set errno,
 * which every wrapper restores) */
static inline int stream_fd(FILE *f)
{
	return log_fd(fileno_unlocked(f));
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

/* a string the call measured (strlen): readable */
static void log_str(FILE *f, const char *p)
{
	struct iovec v = { (void *)p, strlen(p) };

	log_iov(stream_fd(f), &v, 1, v.iov_len, true);
}

/* fwrite's buffer: stdio may have handed it to write() unread (a large write to /dev/null), so it goes the way
 * write(1/2)'s bytes do */
static void log_buf(FILE *f, const void *p, size_t n)
{
	int fd = stream_fd(f);

	if (fd > 0 && n)
		logcap__write(fd, &(struct iovec){ (void *)p, n }, 1, n, serving_trace(), serving_span());
}

static void log_char(FILE *f, int c)
{
	int fd = stream_fd(f);

	if (fd > 0)
		logcap__stdio_char(fd, (char)c, serving_trace(), serving_span());
}

/* the text of one printf-family call or perror: formatted again here (a signal handler's printf meanwhile
 * passes through unlogged: in_shim) */
static __thread char fmt_buf[STDIOCAP_FMT_MAX + 1];

/* the real call printed what @fmt and @ap say on @fd; errno as it was before the call (%m) */
static void log_format(int fd, const char *fmt, va_list ap, int err_in)
{
	int k;

	if (fd < 0 || __atomic_load_n(&printf_extended, __ATOMIC_RELAXED) || stdiocap__has_n(fmt))
		return;
	errno = err_in;
	k = vsnprintf(fmt_buf, sizeof(fmt_buf), fmt, ap);
	if (k > 0) {
		size_t n = (size_t)k < STDIOCAP_FMT_MAX ? (size_t)k : STDIOCAP_FMT_MAX;
		struct iovec v = { fmt_buf, n };

		log_iov(fd, &v, 1, n, n == (size_t)k);
	}
}

/* ---- the printf family: one path for all of them ---- */

enum vcall { V_PRINTF, V_FPRINTF, V_DPRINTF, V_PRINTF_CHK, V_FPRINTF_CHK, V_DPRINTF_CHK };

static int real_v(enum vcall c, FILE *f, int fd, int flag, const char *fmt, va_list ap)
{
	switch (c) {
	case V_PRINTF:
		ENSURE(vprintf, -1);
		return real_vprintf(fmt, ap);
	case V_FPRINTF:
		ENSURE(vfprintf, -1);
		return real_vfprintf(f, fmt, ap);
	case V_DPRINTF:
		ENSURE(vdprintf, -1);
		return real_vdprintf(fd, fmt, ap);
	case V_PRINTF_CHK:
		ENSURE(vprintf_chk, -1);
		return real_vprintf_chk(flag, fmt, ap);
	case V_FPRINTF_CHK:
		ENSURE(vfprintf_chk, -1);
		return real_vfprintf_chk(f, flag, fmt, ap);
	case V_DPRINTF_CHK:
		ENSURE(vdprintf_chk, -1);
		return real_vdprintf_chk(fd, flag, fmt, ap);
	}
	return -1;
}

/* the real call on stream @f (NULL: descriptor @fd), then, when it printed on descriptor 1 or 2, its text */
static int vprint(enum vcall c, FILE *f, int fd, int flag, const char *fmt, va_list ap)
{
	int err_in = errno, err_out, r;
	va_list copy;

	if (!watching())
		return real_v(c, f, fd, flag, fmt, ap);
	va_copy(copy, ap);
	r = real_v(c, f, fd, flag, fmt, ap);
	err_out = errno;
	if (r > 0) {
		in_shim++;
		log_format(f ? stream_fd(f) : log_fd(fd), fmt, copy, err_in);
		in_shim--;
	}
	va_end(copy);
	errno = err_out;
	return r;
}

#define VARIADIC(last, ...)                  \
	do {                                 \
		va_list ap;                  \
		int r;                       \
		va_start(ap, last);          \
		r = vprint(__VA_ARGS__, ap); \
		va_end(ap);                  \
		return r;                    \
	} while (0)

EXPORT int printf(const char *fmt, ...)
{
	VARIADIC(fmt, V_PRINTF, stdout, -1, 0, fmt);
}

EXPORT int vprintf(const char *fmt, va_list ap)
{
	return vprint(V_PRINTF, stdout, -1, 0, fmt, ap);
}

EXPORT int fprintf(FILE *f, const char *fmt, ...)
{
	VARIADIC(fmt, V_FPRINTF, f, -1, 0, fmt);
}

EXPORT int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	return vprint(V_FPRINTF, f, -1, 0, fmt, ap);
}

EXPORT int dprintf(int fd, const char *fmt, ...)
{
	VARIADIC(fmt, V_DPRINTF, NULL, fd, 0, fmt);
}

EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
	return vprint(V_DPRINTF, NULL, fd, 0, fmt, ap);
}

/* _FORTIFY_SOURCE builds call these instead */
EXPORT int __printf_chk(int flag, const char *fmt, ...)
{
	VARIADIC(fmt, V_PRINTF_CHK, stdout, -1, flag, fmt);
}

EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return vprint(V_PRINTF_CHK, stdout, -1, flag, fmt, ap);
}

EXPORT int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	VARIADIC(fmt, V_FPRINTF_CHK, f, -1, flag, fmt);
}

EXPORT int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	return vprint(V_FPRINTF_CHK, f, -1, flag, fmt, ap);
}

EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	VARIADIC(fmt, V_DPRINTF_CHK, NULL, fd, flag, fmt);
}

EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	return vprint(V_DPRINTF_CHK, NULL, fd, flag, fmt, ap);
}

/* ---- strings, buffers, chars: their bytes are the arguments ---- */

/* the real call; when @ok (sees r) the capture @rec; errno and r are the real call's */
#define CAPTURE(type, call, ok, rec)   \
	do {                           \
		type r;                \
		int saved;             \
		if (!watching())       \
			return call;   \
		r = call;              \
		if (ok) {              \
			saved = errno; \
			in_shim++;     \
			rec;           \
			in_shim--;     \
			errno = saved; \
		}                      \
		return r;              \
	} while (0)

EXPORT int puts(const char *s)
{
	ENSURE(puts, EOF);
	CAPTURE(int, real_puts(s), r >= 0, ({
			size_t n = strlen(s);
			struct iovec v[2] = { { (void *)s, n }, { "\n", 1 } };

			log_iov(stream_fd(stdout), v, 2, n + 1, true);
		}));
}

EXPORT int fputs(const char *s, FILE *f)
{
	ENSURE(fputs, EOF);
	CAPTURE(int, real_fputs(s, f), r >= 0, log_str(f, s));
}

EXPORT int fputs_unlocked(const char *s, FILE *f)
{
	ENSURE(fputs_unlocked, EOF);
	CAPTURE(int, real_fputs_unlocked(s, f), r >= 0, log_str(f, s));
}

/* the items written whole */
EXPORT size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	ENSURE(fwrite, 0);
	CAPTURE(size_t, real_fwrite(p, size, n, f), r > 0, log_buf(f, p, r * size));
}

EXPORT size_t fwrite_unlocked(const void *p, size_t size, size_t n, FILE *f)
{
	ENSURE(fwrite_unlocked, 0);
	CAPTURE(size_t, real_fwrite_unlocked(p, size, n, f), r > 0, log_buf(f, p, r * size));
}

EXPORT int fputc(int c, FILE *f)
{
	ENSURE(fputc, EOF);
	CAPTURE(int, real_fputc(c, f), r != EOF, log_char(f, r));
}

EXPORT int putc(int c, FILE *f)
{
	ENSURE(putc, EOF);
	CAPTURE(int, real_putc(c, f), r != EOF, log_char(f, r));
}

/* what programs built against glibc before 2.28 call for putc */
EXPORT int _IO_putc(int c, FILE *f)
{
	ENSURE(io_putc, EOF);
	CAPTURE(int, real_io_putc(c, f), r != EOF, log_char(f, r));
}

EXPORT int putchar(int c)
{
	ENSURE(putchar, EOF);
	CAPTURE(int, real_putchar(c), r != EOF, log_char(stdout, r));
}

/* called only where the compiler did not inline them (glibc's headers do under optimisation) */
EXPORT int fputc_unlocked(int c, FILE *f)
{
	ENSURE(fputc_unlocked, EOF);
	CAPTURE(int, real_fputc_unlocked(c, f), r != EOF, log_char(f, r));
}

EXPORT int putc_unlocked(int c, FILE *f)
{
	ENSURE(putc_unlocked, EOF);
	CAPTURE(int, real_putc_unlocked(c, f), r != EOF, log_char(f, r));
}

EXPORT int putchar_unlocked(int c)
{
	ENSURE(putchar_unlocked, EOF);
	CAPTURE(int, real_putchar_unlocked(c), r != EOF, log_char(stdout, r));
}

/* "S: message\n" (or "message\n") on stderr, its message from errno before the call */
EXPORT void perror(const char *s)
{
	int err_in = errno, err_out, fd, k;

	if (__builtin_expect(!real_perror, 0))
		pthread_once(&resolve_once, resolve);
	if (!real_perror)
		return;
	if (!watching()) {
		real_perror(s);
		return;
	}
	real_perror(s);
	err_out = errno;
	in_shim++;
	fd = stream_fd(stderr);
	if (fd > 0) {
		errno = err_in;
		k = s && *s ? snprintf(fmt_buf, sizeof(fmt_buf), "%s: %m\n", s)
			    : snprintf(fmt_buf, sizeof(fmt_buf), "%m\n");
		if (k > 0) {
			size_t n = (size_t)k < STDIOCAP_FMT_MAX ? (size_t)k : STDIOCAP_FMT_MAX;
			struct iovec v = { fmt_buf, n };

			log_iov(fd, &v, 1, n, n == (size_t)k);
		}
	}
	in_shim--;
	errno = err_out;
}

/* ---- printf handlers: once one is registered, printf output is no longer formatted a second time ---- */

EXPORT int register_printf_function(int spec, printf_function *fn, printf_arginfo_function *ai)
{
	ENSURE(register_printf_function, -1);
	__atomic_store_n(&printf_extended, true, __ATOMIC_RELAXED);
	return real_register_printf_function(spec, fn, ai);
}

EXPORT int register_printf_specifier(int spec, printf_function *fn, printf_arginfo_size_function *ai)
{
	ENSURE(register_printf_specifier, -1);
	__atomic_store_n(&printf_extended, true, __ATOMIC_RELAXED);
	return real_register_printf_specifier(spec, fn, ai);
}

EXPORT int register_printf_modifier(const wchar_t *str)
{
	ENSURE(register_printf_modifier, -1);
	__atomic_store_n(&printf_extended, true, __ATOMIC_RELAXED);
	return real_register_printf_modifier(str);
}
