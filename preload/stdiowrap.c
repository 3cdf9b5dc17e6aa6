/* stdiowrap.c -- libobsshim.so's stdio wrappers: what a program prints through stdio on stdout/stderr becomes
 * the log records write(1/2) makes
 *
 * glibc's stdio writes through its internal write(), unseen by shim.c's wrapper.  Each wrapper here makes the
 * real call with the program's arguments, unchanged, and only when it succeeded hands what it printed down to
 * stdiocap.c, which logs it when the stream's descriptor is 1 or 2 (wrappers call down, never up; like shim.c,
 * this file is not linked into the unit tests).  The bytes still reach the descriptor when stdio flushes them:
 * buffering and flushing are the program's own. */
#include <dlfcn.h>
#include <err.h>
#include <errno.h>
#include <printf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "preload/logcap.h"
#include "preload/netcap.h" /* in_shim: the wrappers' recursion guard, shared with shim.c's and tlscap.c's */
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
static void (*real_vwarn)(const char *, va_list);
static void (*real_vwarnx)(const char *, va_list);
static void (*real_verr)(int, const char *, va_list) __attribute__((noreturn));
static void (*real_verrx)(int, const char *, va_list) __attribute__((noreturn));
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
	R(real_vwarn, "vwarn");
	R(real_vwarnx, "vwarnx");
	R(real_verr, "verr");
	R(real_verrx, "verrx");
	R(real_register_printf_function, "register_printf_function");
	R(real_register_printf_specifier, "register_printf_specifier");
	R(real_register_printf_modifier, "register_printf_modifier");
#undef R
}

__attribute__((constructor)) static void stdiowrap_init(void)
{
	pthread_once(&resolve_once, resolve);
	pthread_atfork(NULL, NULL, logcap__atfork_child);
}

/* at exit: the last char-at-a-time line of the exiting thread, without its newline */
__attribute__((destructor)) static void stdiowrap_fini(void)
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

static inline bool watching(void)
{
	return seg__armed() && !in_shim;
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
		stdiocap__format(f ? stdiocap__stream_fd(f) : stdiocap__fd(fd), fmt, copy, err_in);
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
	CAPTURE(int, real_puts(s), r >= 0, stdiocap__line(stdiocap__stream_fd(stdout), s));
}

EXPORT int fputs(const char *s, FILE *f)
{
	ENSURE(fputs, EOF);
	CAPTURE(int, real_fputs(s, f), r >= 0, stdiocap__str(stdiocap__stream_fd(f), s));
}

EXPORT int fputs_unlocked(const char *s, FILE *f)
{
	ENSURE(fputs_unlocked, EOF);
	CAPTURE(int, real_fputs_unlocked(s, f), r >= 0, stdiocap__str(stdiocap__stream_fd(f), s));
}

/* the items written whole */
EXPORT size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	ENSURE(fwrite, 0);
	CAPTURE(size_t, real_fwrite(p, size, n, f), r > 0, stdiocap__buf(stdiocap__stream_fd(f), p, r * size));
}

EXPORT size_t fwrite_unlocked(const void *p, size_t size, size_t n, FILE *f)
{
	ENSURE(fwrite_unlocked, 0);
	CAPTURE(size_t, real_fwrite_unlocked(p, size, n, f), r > 0, stdiocap__buf(stdiocap__stream_fd(f), p, r * size));
}

EXPORT int fputc(int c, FILE *f)
{
	ENSURE(fputc, EOF);
	CAPTURE(int, real_fputc(c, f), r != EOF, stdiocap__char(stdiocap__stream_fd(f), r));
}

EXPORT int putc(int c, FILE *f)
{
	ENSURE(putc, EOF);
	CAPTURE(int, real_putc(c, f), r != EOF, stdiocap__char(stdiocap__stream_fd(f), r));
}

/* what programs built against glibc before 2.28 call for putc */
EXPORT int _IO_putc(int c, FILE *f)
{
	ENSURE(io_putc, EOF);
	CAPTURE(int, real_io_putc(c, f), r != EOF, stdiocap__char(stdiocap__stream_fd(f), r));
}

EXPORT int putchar(int c)
{
	ENSURE(putchar, EOF);
	CAPTURE(int, real_putchar(c), r != EOF, stdiocap__char(stdiocap__stream_fd(stdout), r));
}

/* called only where the compiler did not inline them (glibc's headers do under optimisation) */
EXPORT int fputc_unlocked(int c, FILE *f)
{
	ENSURE(fputc_unlocked, EOF);
	CAPTURE(int, real_fputc_unlocked(c, f), r != EOF, stdiocap__char(stdiocap__stream_fd(f), r));
}

EXPORT int putc_unlocked(int c, FILE *f)
{
	ENSURE(putc_unlocked, EOF);
	CAPTURE(int, real_putc_unlocked(c, f), r != EOF, stdiocap__char(stdiocap__stream_fd(f), r));
}

EXPORT int putchar_unlocked(int c)
{
	ENSURE(putchar_unlocked, EOF);
	CAPTURE(int, real_putchar_unlocked(c), r != EOF, stdiocap__char(stdiocap__stream_fd(stdout), r));
}

/* "S: message\n" (or "message\n") on stderr, its message from errno before the call */
EXPORT void perror(const char *s)
{
	int err_in = errno, err_out;

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
	stdiocap__perror(stdiocap__stream_fd(stderr), s, err_in);
	in_shim--;
	errno = err_out;
}

/* ---- err.h: "PROG: FORMAT: strerror(errno)\n" (warn, err), "PROG: FORMAT\n" (warnx, errx) on stderr ---- */

static void warned(bool with_errno, const char *fmt, va_list ap)
{
	void (*real)(const char *, va_list);
	int err_in = errno, err_out;
	va_list copy;

	if (__builtin_expect(!real_vwarn || !real_vwarnx, 0))
		pthread_once(&resolve_once, resolve);
	real = with_errno ? real_vwarn : real_vwarnx;
	if (!real)
		return;
	if (!watching()) {
		real(fmt, ap);
		return;
	}
	va_copy(copy, ap);
	real(fmt, ap);
	err_out = errno;
	in_shim++;
	stdiocap__warn(stdiocap__stream_fd(stderr), fmt, copy, with_errno, err_in);
	in_shim--;
	va_end(copy);
	errno = err_out;
}

/* err/errx never return: their line is logged before the real call */
__attribute__((noreturn)) static void erred(bool with_errno, int status, const char *fmt, va_list ap)
{
	int err_in = errno;

	if (__builtin_expect(!real_verr || !real_verrx, 0))
		pthread_once(&resolve_once, resolve);
	if (watching()) {
		va_list copy;

		va_copy(copy, ap);
		in_shim++;
		stdiocap__warn(stdiocap__stream_fd(stderr), fmt, copy, with_errno, err_in);
		in_shim--;
		va_end(copy);
		errno = err_in;
	}
	if (with_errno && real_verr)
		real_verr(status, fmt, ap);
	if (!with_errno && real_verrx)
		real_verrx(status, fmt, ap);
	exit(status);
}

EXPORT void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warned(true, fmt, ap);
	va_end(ap);
}

EXPORT void vwarn(const char *fmt, va_list ap)
{
	warned(true, fmt, ap);
}

EXPORT void warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warned(false, fmt, ap);
	va_end(ap);
}

EXPORT void vwarnx(const char *fmt, va_list ap)
{
	warned(false, fmt, ap);
}

EXPORT void err(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	erred(true, status, fmt, ap);
}

EXPORT void verr(int status, const char *fmt, va_list ap)
{
	erred(true, status, fmt, ap);
}

EXPORT void errx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	erred(false, status, fmt, ap);
}

EXPORT void verrx(int status, const char *fmt, va_list ap)
{
	erred(false, status, fmt, ap);
}

/* ---- printf handlers: once one is registered, printf output is no longer formatted a second time ---- */

EXPORT int register_printf_function(int spec, printf_function *fn, printf_arginfo_function *ai)
{
	ENSURE(register_printf_function, -1);
	stdiocap__printf_extended();
	return real_register_printf_function(spec, fn, ai);
}

EXPORT int register_printf_specifier(int spec, printf_function *fn, printf_arginfo_size_function *ai)
{
	ENSURE(register_printf_specifier, -1);
	stdiocap__printf_extended();
	return real_register_printf_specifier(spec, fn, ai);
}

EXPORT int register_printf_modifier(const wchar_t *str)
{
	ENSURE(register_printf_modifier, -1);
	stdiocap__printf_extended();
	return real_register_printf_modifier(str);
}
