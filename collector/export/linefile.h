/* linefile.h -- --spans-file and --log-file: JSON lines gathered in a buffer and written with one write(2) per
 * poll.  A line counts as written once all its bytes reached the file; a write error fails the line it cut and
 * every line after it in that flush (dropped, not kept for a retry: a full disk must not grow the collector). */
#ifndef OBSPROBE_LINEFILE_H
#define OBSPROBE_LINEFILE_H

#include <stddef.h>
#include <stdint.h>

#define LINEFILE_BUF (64 * 1024) /* a line that would take the buffer past this flushes it first */

struct linefile {
	int fd; /* -1: no file */
	char *buf;
	size_t len;
	uint64_t written, failed;	      /* lines, since the start: they only grow */
	uint64_t taken_written, taken_failed; /* what linefile__take has handed out */
};

/* @fd stays the caller's (it closes it after linefile__free) */
void linefile__init(struct linefile *lf, int fd);
/* one line, @n bytes ending with its only '\n' (JSON lines escape the others) */
void linefile__put(struct linefile *lf, const char *line, size_t n);
/* write what is buffered; the counts are up to date afterwards */
void linefile__flush(struct linefile *lf);
/* flushes, then the lines written and failed since the previous take (for folding into counters) */
void linefile__take(struct linefile *lf, uint64_t *written, uint64_t *failed);
/* flushes, then frees the buffer */
void linefile__free(struct linefile *lf);

#endif
