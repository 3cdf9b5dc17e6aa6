/* metrics_stream.c -- /metrics as a stream over the registry: the series there are when it begins (their sorted order
 * kept between scrapes), each one's numbers copied under the registry lock a chunk at a time, formatted by expo.c */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "signal/expo.h"
#include "signal/metrics.h"
#include "signal/metrics_impl.h"

/* series copied per call: the memory a stream holds besides its list of series */
#define STREAM_CHUNK 64

struct metrics_stream {
	struct metrics *m;
	bool om;
	struct series **all; /* family f's series are all[off[f]..off[f + 1]), sorted by label values */
	int off[FAM__COUNT + 1];
	int f, i; /* the next series to copy */
	struct snap chunk[STREAM_CHUNK];
	struct exemplar *ex; /* STREAM_CHUNK * OBS_HIST_SLOTS, for OpenMetrics */
	struct expo *expo;
};

static int series_cmp(const void *a, const void *b, void *arg)
{
	int nlabels = *(const int *)arg;
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;

	for (int l = 0; l < nlabels; l++) {
		int c = strcmp(x->values[l], y->values[l]);

		if (c)
			return c;
	}
	return 0;
}

/* @s's numbers into @c without the registry lock: copied between two reads of its sequence count, again until
 * no writer was in between (a writer holds the lock for a few instructions; if it is preempted meanwhile, the
 * scrape waits, never the capture path) */
static void copy_series(struct metrics_stream *st, const struct series *s, struct snap *c, int j)
{
	size_t nb = st->m->bounds.n + 1;

	c->values = s->values; /* never change */
	for (unsigned tries = 1;; tries++) {
		unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		const struct exemplar *ex;

		if (!(seq & 1)) {
			c->counter = s->counter; /* the whole union */
			c->ex = NULL;
			if (s->hist) {
				c->hist.count = s->hist->count;
				c->hist.sum_ns = s->hist->sum_ns;
				memcpy(c->hist.buckets, s->hist->buckets, nb * sizeof(uint64_t));
			}
			ex = s->ex;
			if (st->ex && ex) {
				c->ex = st->ex + (size_t)j * OBS_HIST_SLOTS;
				memcpy(c->ex, ex, nb * sizeof(*ex));
			}
			atomic_thread_fence(memory_order_acquire); /* the copies before the second read */
			if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq)
				return;
		}
		if (tries % 64 == 0)
			sched_yield(); /* the writer was preempted inside its section */
	}
}

/* expo_next_fn: the next few series of the current family, their numbers copied */
static int stream_next(void *ctx, enum family_id *fam, const struct snap **out)
{
	struct metrics_stream *st = ctx;
	int k;

	while (st->f < FAM__COUNT && st->off[st->f] + st->i >= st->off[st->f + 1]) {
		st->f++;
		st->i = 0;
	}
	if (st->f == FAM__COUNT)
		return 0;
	k = st->off[st->f + 1] - st->off[st->f] - st->i;
	if (k > STREAM_CHUNK)
		k = STREAM_CHUNK;
	for (int j = 0; j < k; j++)
		copy_series(st, st->all[st->off[st->f] + st->i + j], &st->chunk[j], j);
	*fam = st->f;
	*out = st->chunk;
	st->i += k;
	return k;
}

/* family @f's order (m->order[f]) extended to @all (its first @n series, creation order): the new ones sorted,
 * then merged in; false when out of memory (the order is then as it was). Caller holds m->order_lock. */
static bool extend_order(struct metrics *m, int f, struct series **all, int n)
{
	struct series **old = m->order[f], **fresh = all + m->norder[f], **out;
	int nold = m->norder[f], nfresh = n - nold, i = 0, j = 0, k = 0;

	out = malloc(n * sizeof(*out));
	if (!out)
		return false;
	qsort_r(fresh, nfresh, sizeof(*fresh), series_cmp, &m->fam[f].nlabels);
	while (i < nold || j < nfresh)
		out[k++] = j == nfresh || (i < nold && series_cmp(&old[i], &fresh[j], &m->fam[f].nlabels) < 0)
				   ? old[i++]
				   : fresh[j++];
	free(old);
	m->order[f] = out;
	m->norder[f] = n;
	return true;
}

struct metrics_stream *metrics__stream(struct metrics *m, bool openmetrics)
{
	struct metrics_stream *st = malloc(sizeof(*st));
	bool ok = true;
	int total = 0;

	if (!st)
		return NULL;
	/* written here, not by calloc's untouched pages: no page fault while the chunks are copied under the lock */
	memset(st, 0, sizeof(*st));
	st->m = m;
	st->om = openmetrics;
	st->ex = openmetrics ? malloc((size_t)STREAM_CHUNK * OBS_HIST_SLOTS * sizeof(*st->ex)) : NULL;
	if (st->ex)
		memset(st->ex, 0, (size_t)STREAM_CHUNK * OBS_HIST_SLOTS * sizeof(*st->ex));
	st->expo = expo__new(metrics__defs(m), &m->bounds, openmetrics, stream_next, st);
	pthread_mutex_lock(&m->order_lock);
	/* the series there are now: counted, then their pointers copied (a family only grows, by appending) */
	pthread_mutex_lock(&m->lock);
	for (int f = 0; f < FAM__COUNT; f++) {
		st->off[f] = total;
		total += m->fam[f].n;
	}
	st->off[FAM__COUNT] = total;
	pthread_mutex_unlock(&m->lock);
	st->all = malloc((total ? total : 1) * sizeof(*st->all));
	if (st->all) {
		memset(st->all, 0, total * sizeof(*st->all)); /* its pages touched before the lock is taken */
		pthread_mutex_lock(&m->lock);
		for (int f = 0; f < FAM__COUNT; f++)
			if (st->off[f + 1] > st->off[f]) /* an empty family may have no array yet */
				memcpy(st->all + st->off[f], m->fam[f].all,
				       (st->off[f + 1] - st->off[f]) * sizeof(*st->all));
		pthread_mutex_unlock(&m->lock);
		/* label values never change: sorted outside the lock */
		for (int f = 0; f < FAM__COUNT && ok; f++) {
			int n = st->off[f + 1] - st->off[f];

			if (m->norder[f] < n)
				ok = extend_order(m, f, st->all + st->off[f], n);
			if (ok && n)
				memcpy(st->all + st->off[f], m->order[f], n * sizeof(*st->all));
		}
	}
	pthread_mutex_unlock(&m->order_lock);
	if (!ok || !st->all || (openmetrics && !st->ex) || !st->expo) {
		metrics_stream__free(st);
		return NULL;
	}
	return st;
}

long metrics_stream__read(struct metrics_stream *st, char *dst, size_t max)
{
	return expo__read(st->expo, dst, max);
}

void metrics_stream__free(struct metrics_stream *st)
{
	if (!st)
		return;
	expo__free(st->expo);
	free(st->ex);
	free(st->all);
	free(st);
}

char *metrics__render(struct metrics *m, bool openmetrics, size_t *len)
{
	struct metrics_stream *st = metrics__stream(m, openmetrics);
	size_t used = 0, cap = 1 << 16;
	char *out = malloc(cap);
	long n;

	if (!st || !out)
		goto fail;
	for (;;) {
		if (cap - used < (1 << 15)) {
			char *p = realloc(out, cap * 2);

			if (!p)
				goto fail;
			out = p;
			cap *= 2;
		}
		n = metrics_stream__read(st, out + used, cap - used - 1);
		if (n < 0)
			goto fail;
		if (!n)
			break;
		used += n;
	}
	metrics_stream__free(st);
	out[used] = '\0';
	if (len)
		*len = used;
	return out;
fail:
	metrics_stream__free(st);
	free(out);
	return NULL;
}
