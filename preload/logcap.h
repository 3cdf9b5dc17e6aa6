/* logcap.h -- the shim's log capture: bytes a thread writes to stdout/stderr become log records in the segment,
 * and (OBSPROBE_LOG_TAG=1) a line written while serving a request is tagged with its ids.
 *
 * Tagging is planned here and written by the wrapper: logcap__tag_plan() gives the tagged line to write in the
 * program's place (or NULL: write the program's bytes unchanged), the wrapper makes the real call, and
 * logcap__tag_done() turns its result into what the program must be told and logs the program's line.
 * Ids are passed in (NULL outside a request): this module knows nothing of connections. */
#ifndef OBSPROBE_PRELOAD_LOGCAP_H
#define OBSPROBE_PRELOAD_LOGCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

extern bool logcap_tag; /* OBSPROBE_LOG_TAG=1 */

void logcap__init(void);
/* fd 1 or 2 now names another file */
void logcap__fd_reset(int fd);
/* @n bytes of @iov were written to @fd (1 or 2) by a thread serving the request @trace_id/@span_id (NULL: none) */
void logcap__write(int fd, const struct iovec *iov, int iovcnt, size_t n, const uint8_t *trace_id,
		   const uint8_t *span_id);

/* stdio (stdiocap.c): @n bytes a call put on the stream of @fd (1 or 2), known readable (the shim's own copy, or a
 * string the call measured), all of its text unless @all is false (the record says cut); and the bytes of
 * char-at-a-time calls, held per thread until their line ends, or LOGCAP_PENDING bytes, or another record of
 * the thread (logcap__stdio_flush: now) */
#define LOGCAP_PENDING 256
void logcap__stdio(int fd, const struct iovec *iov, int iovcnt, size_t n, bool all, const uint8_t *trace_id,
		   const uint8_t *span_id);
void logcap__stdio_char(int fd, char c, const uint8_t *trace_id, const uint8_t *span_id);
void logcap__stdio_flush(void);
/* a forked child: the bytes held and the ids cached are the parent's */
void logcap__atfork_child(void);

static inline bool logcap__tag_enabled(void)
{
	return logcap_tag;
}

/* The line to write instead of @buf (@n bytes, the program's: any pointer may be bad) with the tag before its
 * newline, when it is one whole line that still fits PIPE_BUF tagged; *@len its length.  NULL: write @buf as it
 * is (a bad buffer gets the real call's EFAULT).  The line lives in a per-thread buffer until logcap__tag_done. */
const char *logcap__tag_plan(const void *buf, size_t n, const uint8_t trace_id[16], const uint8_t span_id[8],
			     size_t *len);
/* The real call wrote @k of the @len planned bytes: returns what the program must be told (its own count) and
 * logs the part of its line that went out */
ssize_t logcap__tag_done(int fd, size_t n, size_t len, ssize_t k, const uint8_t trace_id[16], const uint8_t span_id[8]);

#endif
