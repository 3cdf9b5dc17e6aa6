/* stdiocap.h -- what stdiocap.c's stdio wrappers share: the recursion guard (shim.c's), and the format scan that
 * decides whether a printf-family call may be formatted a second time to learn its bytes
 *
 * glibc's stdio writes through its internal write(), which LD_PRELOAD never sees: stdiocap.c interposes the
 * stdio output calls themselves, makes the real call, and when it succeeded on a stream of descriptor 1 or 2
 * logs the bytes it gave the stream (logcap.c, the records write(1/2) makes).  A printf's bytes are learnt by
 * formatting it again (vsnprintf on a copy of its arguments) into a bounded per-thread buffer; never when its
 * format has a %n conversion (the count would be stored twice). */
#ifndef OBSPROBE_PRELOAD_STDIOCAP_H
#define OBSPROBE_PRELOAD_STDIOCAP_H

#include <stdbool.h>
#include <stddef.h>

/* the wrappers' recursion guard (shim.c's): the capture code's own calls, and a signal handler's made while a
 * wrapper records, pass straight through */
extern __thread int in_shim;

/* the bytes of one printf-family call that are logged; a longer output is logged cut */
#define STDIOCAP_FMT_MAX 4096

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
