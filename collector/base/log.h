/* log.h -- one error printer and leveled messages for the collector */
#ifndef OBSPROBE_LOG_H
#define OBSPROBE_LOG_H

#include <stdarg.h>

enum log_level { LOG_QUIET = -1, LOG_INFO = 0, LOG_VERBOSE = 1, LOG_DEBUG = 2 };

extern int log_level;

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* elog: "obsprobe: <what>: <why>" on stderr, always printed */
#define elog(...) log_msg(LOG_QUIET, __VA_ARGS__)
/* ilog: normal informational output (start line, notices), silenced by -q */
#define ilog(...) log_msg(LOG_INFO, __VA_ARGS__)
/* vlog: -v detail; dlog: -vv debugging */
#define vlog(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define dlog(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
