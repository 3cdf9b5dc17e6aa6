/* stdiocap.h -- the stdio wrappers' capture code (stdiocap.c): what a stdio call printed on a stream of
 * descriptor 1 or 2 becomes the log records write(1/2) makes
 *
 * glibc's stdio writes through its internal write(), which LD_PRELOAD never sees: stdiowrap.c interposes the
 * stdio output calls themselves, makes the real call, and when it succeeded hands what it printed down here.
 * A printf's bytes are learnt by formatting it again (vsnprintf on a copy of its arguments, errno as before the
 * call for %m) into a bounded per-thread buffer; never when its format has a %n conversion (the count would be
 * stored twice), nor once the program registered a printf handler (it would run twice). */
#ifndef OBSPROBE_PRELOAD_STDIOCAP_H
#define OBSPROBE_PRELOAD_STDIOCAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* the bytes of one printf-family call that are logged; a longer output is logged cut (its line truncated) */
#define STDIOCAP_FMT_MAX 4096

/* the descriptor whose bytes are logged (1 or 2, not a socket the shim saw opened), else -1: of @fd, of the
 * stream @f a real call just used (it may set errno: the wrappers restore it) */
int stdiocap__fd(int fd);
int stdiocap__stream_fd(FILE *f);

/* what a call printed on @fd (-1: nothing is logged): a string (fputs), a string and a newline (puts), a buffer
 * (fwrite), one byte (putc: held until its line ends) */
void stdiocap__str(int fd, const char *s);
void stdiocap__line(int fd, const char *s);
void stdiocap__buf(int fd, const void *p, size_t n);
void stdiocap__char(int fd, int c);
/* formatted again, @err_in the errno before the call: what @fmt and @ap say (printf family); "S: strerror\n"
 * (perror); "PROG: FORMAT[: strerror]\n" (warn, warnx, err, errx; @fmt NULL: no FORMAT) */
void stdiocap__format(int fd, const char *fmt, va_list ap, int err_in);
void stdiocap__perror(int fd, const char *s, int err_in);
void stdiocap__warn(int fd, const char *fmt, va_list ap, bool with_errno, int err_in);
/* a printf handler was registered: no printf is formatted again from now on */
void stdiocap__printf_extended(void);

/* Does @fmt hold a %n conversion (with any flags, width, precision and length: "%-5hhn", "%2$n", "%*.*ln")?
 * Conversions end at their first letter that is not a length modifier; "%%" is a literal. */
static inline bool stdiocap__has_n(const char *fmt)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		while (*p && (__builtin_strchr("0123456789$#-+ '*.I", *p) || __builtin_strchr("hlLqjzZt", *p)))
			p++;
		if (*p == 'n')
			return true;
		if (!*p)
			break; /* a lone '%' at the end */
	}
	return false;
}

#endif
