/* inject.h -- the shim's pure byte logic: traceparent put into an outgoing HTTP/1.x request, a log line tagged.
 *
 * Buffers in, results out: no I/O, no globals, nothing read through a pointer it was not given with its
 * length.  The shim (netcap.c, logcap.c, shim.c) does the system calls around them; the fuzz harnesses call
 * them directly.
 *
 * Injection: the program writes @iov; the head it starts is gathered into a flat copy (@head, the first
 * bytes of the write, at most INJECT_HEAD_MAX).  inject__plan() says whether the write is one whole HTTP/1.x
 * request head ("METHOD target HTTP/1.0|1.1" CRLF ... CRLF CRLF, no traceparent yet) and builds the iovecs of
 * the write with our header lines right after the request line.  After the real call, inject__count() turns
 * what the kernel took into what the program must be told (its own bytes only). */
#ifndef OBSPROBE_INJECT_H
#define OBSPROBE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define INJECT_IOV_MAX 64    /* iovecs of the write we build: the program's (at most 62) plus 2 */
#define INJECT_HEAD_MAX 8192 /* a request head longer than this is left as it is */
#define INJECT_HDR_MAX 1280  /* our header lines: traceparent, tracestate, baggage */
#define LOGTAG_LEN 67	     /* " trace_id=" 32 hex " span_id=" 16 hex */

struct inject_ids {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	bool sampled;
	const char *tracestate; /* passed on when not NULL/empty and the request has none */
	const char *baggage;
};

struct inject_plan {
	struct iovec iov[INJECT_IOV_MAX]; /* the write to make: the program's bytes with @hdr after the line */
	int iovcnt;
	size_t line;   /* bytes of the request line, CRLF included: ours follow them */
	size_t need;   /* line + hdrlen: what must go out in the same call as the request line */
	size_t hdrlen; /* our bytes */
	char hdr[INJECT_HDR_MAX];
};

/* Is @s (@n bytes) a request line we inject after: an upper-case method, one target of visible bytes,
 * "HTTP/1.0" or "HTTP/1.1", CRLF?  Returns its length with the CRLF, or 0. */
size_t inject__request_line(const char *s, size_t n);

/* Plan the write of @iov (@iovcnt, at most INJECT_IOV_MAX - 2) whose first @headlen bytes are copied in
 * @head.  False (and @p untouched past its counters) when the bytes are not one whole request head or
 * already carry traceparent.  The iov_base pointers are copied, never read. */
bool inject__plan(struct inject_plan *p, const struct iovec *iov, int iovcnt, const char *head, size_t headlen,
		  const struct inject_ids *ids);

/* The real call took @r bytes of the planned write: what the program is told.  *@cut is set when the call
 * ended inside our header lines (a part of them on the wire). */
ssize_t inject__count(const struct inject_plan *p, ssize_t r, bool *cut);

/* A log line tagged: @line (@n bytes, one whole line ending in '\n' and no other) becomes
 * "<line without \n> trace_id=<32 hex> span_id=<16 hex>\n" in @out (@size bytes; @out may be @line).
 * Returns its length, or 0 when @line is not one line or the result does not fit. */
size_t logtag__build(char *out, size_t size, const char *line, size_t n, const uint8_t trace_id[16],
		     const uint8_t span_id[8]);

#endif
