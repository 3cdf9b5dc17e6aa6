/* logline.h -- the bytes threads write to stdout/stderr, reassembled into lines; severity from a line */
#ifndef OBSPROBE_LOGLINE_H
#define OBSPROBE_LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGLINE_MAX 1024 /* longer lines are cut here and marked truncated; the rest up to '\n' is skipped */

/* one finished line, handed to the callback */
struct logline {
	int pid, tid, stream; /* stream 1 stdout, 2 stderr */
	uint64_t time_ns;     /* the write that started the line */
	const char *text;     /* without the newline and a trailing '\r' */
	size_t len;
	bool truncated; /* cut at LOGLINE_MAX, or bytes of it were not captured */
	void *tag;	/* the tag of the write that started the line (with opts.tag_size: a pointer
				 * to the line's own copy of it, valid during the callback) */
};

typedef void (*logline_fn)(const struct logline *line, void *ctx);

struct logline_opts {
	int max_pending;	 /* partial lines held at once (pid, tid, stream); default 256 */
	uint64_t flush_after_ns; /* a partial line older than this is emitted as it is; default 1 s */
	size_t tag_size;	 /* > 0: a write's @tag points at this many bytes, copied into the line it
				  * starts and kept with it (the caller's buffer may be reused at once);
				  * 0: the tag pointer itself is kept */
};

struct logline_asm;

struct logline_asm *logline_asm__new(const struct logline_opts *opts, logline_fn fn, void *ctx);
/* One write's bytes.  @captured_all false: the write was longer than @len (the line in progress at
 * the end is marked truncated).  Empty lines are skipped. */
void logline_asm__feed(struct logline_asm *a, int pid, int tid, int stream, uint64_t time_ns, const void *buf,
		       size_t len, bool captured_all, void *tag);
void logline_asm__tick(struct logline_asm *a, uint64_t now_ns); /* emit partial lines older than flush_after */
void logline_asm__flush_pid(struct logline_asm *a, int pid);
void logline_asm__flush_all(struct logline_asm *a);
/* partial lines emitted early because max_pending was reached */
uint64_t logline_asm__evicted(const struct logline_asm *a);
/* lines handed to the callback, by how they ended (obsprobe_log_lines_total{outcome}) */
struct logline_stats {
	uint64_t complete; /* at their newline */
	uint64_t partial;  /* without it: older than flush_after, their process gone, bytes of a write not
			    * captured, or a flush */
	uint64_t evicted;  /* without it, early: max_pending lines were pending (the same count as above) */
};
void logline_asm__stats(const struct logline_asm *a, struct logline_stats *out);
void logline_asm__free(struct logline_asm *a);

/* OTLP severity number of a line (0 = none found) and its text ("INFO", "WARN", ...) in @text:
 * a leading level word, after an optional timestamp or bracket ("[ERROR]", "2026-11-22 10:00:00 WARN",
 * python's "ERROR:root:"), or a JSON object's "level"/"severity"/"lvl" (words or pino's 10..60). */
int logline__severity(const char *line, size_t len, char text[16]);

#endif
