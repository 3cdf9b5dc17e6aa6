/* log.c -- the collector's message printer: every line starts "obsprobe: " */
#include <stdio.h>
#include <string.h>
#include "base/log.h"

int log_level = LOG_INFO;

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	size_t n;

	if (lvl != LOG_QUIET && lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	/* one line per message: the caller's newline is optional */
	fprintf(stderr, "obsprobe: %s%s", buf, n && buf[n - 1] == '\n' ? "" : "\n");
}
