/* linefile.c -- JSON lines to a file, one write(2) per poll (a write per line was a sixth of the collector's CPU
 * under nginx's load); see linefile.h for how lines are counted */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/linefile.h"

void linefile__init(struct linefile *lf, int fd)
{
	memset(lf, 0, sizeof(*lf));
	lf->fd = fd;
}

/* bytes of @p that reached @fd: all of them, or up to the error (a full disk, a closed pipe, EAGAIN) */
static size_t write_all(int fd, const char *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);

		if (w > 0)
			done += (size_t)w;
		else if (!(w < 0 && errno == EINTR))
			break;
	}
	return done;
}

static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t k = 0;
	const char *e = p + n, *nl;

	while (p < e && (nl = memchr(p, '\n', (size_t)(e - p)))) {
		k++;
		p = nl + 1;
	}
	return k;
}

/* @n bytes of whole lines out now; a line cut by an error counts as failed */
static void out(struct linefile *lf, const char *p, size_t n)
{
	size_t done = write_all(lf->fd, p, n);

	lf->written += count_lines(p, done); /* the lines whose '\n' got out */
	lf->failed += count_lines(p + done, n - done);
}

void linefile__flush(struct linefile *lf)
{
	if (lf->len)
		out(lf, lf->buf, lf->len);
	lf->len = 0;
}

void linefile__take(struct linefile *lf, uint64_t *written, uint64_t *failed)
{
	linefile__flush(lf);
	*written = lf->written - lf->taken_written;
	*failed = lf->failed - lf->taken_failed;
	lf->taken_written = lf->written;
	lf->taken_failed = lf->failed;
}

void linefile__put(struct linefile *lf, const char *line, size_t n)
{
	if (lf->fd < 0 || !n)
		return;
	if (lf->len + n > LINEFILE_BUF)
		linefile__flush(lf);
	if (!lf->buf)
		lf->buf = malloc(LINEFILE_BUF);
	if (!lf->buf || n > LINEFILE_BUF) { /* no buffer, or a line longer than it: straight out */
		out(lf, line, n);
		return;
	}
	memcpy(lf->buf + lf->len, line, n);
	lf->len += n;
}

void linefile__free(struct linefile *lf)
{
	linefile__flush(lf);
	free(lf->buf);
	lf->buf = NULL;
}
