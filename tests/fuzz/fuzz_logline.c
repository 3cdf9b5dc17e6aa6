/* fuzz-srcs: collector/signal/logline.c */
/* fuzz_logline.c -- log lines assembled from a sequence of partial writes by several threads.
 *
 * Input: the first byte sets how many partial lines are held at once (1..8; 8 writers exist, so
 * fewer forces evictions); then operations until the input ends:
 *   op & 3 == 0  write: writer (op >> 2 & 7: pid bit, tid bit, stream bit), op & 0x20: bytes of it
 *                were not captured; length u8 (op & 0x40: u16 LE), then the bytes
 *   op & 3 == 1  tick:  the clock moves (op >> 2) * 50 ms, partial lines older than 1 s go out
 *   op & 3 == 2  flush one pid (op >> 2 & 1)
 *   op & 3 == 3  flush all
 * The clock moves 1 ms per operation.  Checked for every line that comes out: at most LOGLINE_MAX
 * bytes, no newline; its tag is a write of the same writer and its time that write's; its text is
 * found in that writer's bytes starting inside the tagged write, after the previous line's end. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "signal/logline.h"

#define WRITERS 8
#define FLUSH_NS 1000000000ull

struct wr { /* one write: what a tag points at */
	int writer;
	uint64_t time_ns;
	size_t start, len; /* its bytes in the writer's stream */
};

struct model {
	uint8_t *stream[WRITERS];	    /* every byte each writer wrote, in order */
	size_t len[WRITERS], next[WRITERS]; /* bytes; where the next line may start */
	struct wr *writes;
	size_t nwrites;
	uint64_t lines;
};

static int writer_of(int pid, int tid, int stream)
{
	return (pid - 100) | (tid - pid - 1000) << 1 | (stream - 1) << 2;
}

static void on_line(const struct logline *l, void *ctx)
{
	struct model *m = ctx;
	const struct wr *w = l->tag;
	int k;
	size_t pos;

	m->lines++;
	FUZZ_CHECK(l->len <= LOGLINE_MAX);
	FUZZ_CHECK(!memchr(l->text, '\n', l->len));
	FUZZ_CHECK(l->pid >= 100 && l->pid <= 101 && l->tid - l->pid >= 1000 && l->tid - l->pid <= 1001);
	FUZZ_CHECK(l->stream == 1 || l->stream == 2);
	k = writer_of(l->pid, l->tid, l->stream);
	FUZZ_CHECK(w >= m->writes && w < m->writes + m->nwrites);
	FUZZ_CHECK(w->writer == k); /* the tag of another writer's write: the wrong trace ids */
	FUZZ_CHECK(l->time_ns == w->time_ns);
	if (!l->len)
		return; /* a truncated line whose bytes were all lost */
	for (pos = m->next[k] > w->start ? m->next[k] : w->start; pos < w->start + w->len; pos++)
		if (pos + l->len <= m->len[k] && !memcmp(m->stream[k] + pos, l->text, l->len))
			break;
	FUZZ_CHECK(pos < w->start + w->len); /* bytes that writer did not write there */
	m->next[k] = pos + l->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	struct logline_opts opts = { .max_pending = 1 + (fz__u8(&in) & 7), .flush_after_ns = FLUSH_NS };
	struct model m = { 0 };
	struct logline_asm *a = NULL;
	uint64_t now = 1000000000;

	m.writes = calloc(size + 1, sizeof(*m.writes));
	for (int k = 0; k < WRITERS; k++)
		m.stream[k] = malloc(size + 1);
	for (int k = 0; k < WRITERS; k++)
		if (!m.stream[k])
			goto cleanup;
	if (!m.writes || !(a = logline_asm__new(&opts, on_line, &m)))
		goto cleanup;
	while (in.n) {
		uint8_t op = fz__u8(&in);
		int k = op >> 2 & 7, pid = 100 + (k & 1), tid = pid + 1000 + (k >> 1 & 1), stream = 1 + (k >> 2);
		const uint8_t *p;
		struct wr *w;
		size_t len;

		now += 1000000;
		switch (op & 3) {
		case 0:
			p = fz__bytes(&in, op & 0x40 ? fz__u16(&in) : fz__u8(&in), &len);
			w = &m.writes[m.nwrites++];
			*w = (struct wr){ k, now, m.len[k], len };
			memcpy(m.stream[k] + m.len[k], p, len);
			m.len[k] += len;
			logline_asm__feed(a, pid, tid, stream, now, p, len, !(op & 0x20), w);
			break;
		case 1:
			now += (uint64_t)(op >> 2) * 50000000;
			logline_asm__tick(a, now);
			break;
		case 2:
			logline_asm__flush_pid(a, 100 + (op >> 2 & 1));
			break;
		case 3:
			logline_asm__flush_all(a);
			break;
		}
	}
	logline_asm__flush_all(a);
	FUZZ_CHECK(opts.max_pending < WRITERS || logline_asm__evicted(a) == 0);
cleanup:
	logline_asm__free(a);
	for (int k = 0; k < WRITERS; k++)
		free(m.stream[k]);
	free(m.writes);
	return 0;
}
