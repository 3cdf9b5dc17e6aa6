/* metrics_impl.h -- the registry's insides, for its own files (metrics.c, metrics_stream.c) only */
#ifndef OBSPROBE_METRICS_IMPL_H
#define OBSPROBE_METRICS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "signal/expo.h"
#include "signal/metrics.h"

struct series {
	/* odd while a writer changes the numbers below (under the registry lock): a reader that does not hold the
	 * lock copies them, then retries if the count was odd or moved meanwhile (a seqlock) */
	atomic_uint seq;
	char *values[METRICS_MAX_LABELS];
	uint64_t hash;
	struct metrics *m;
	union {
		uint64_t counter;
		double gauge;
	};
	struct hist *hist;
	struct exemplar *ex; /* per bucket, lazily allocated */
	struct series *next; /* hash chain */
};

#define NBUCKETS_HASH 1024
#define NBUCKETS_CTR 256

/* an interned container label pair (metrics__ctr) */
struct ctr_entry {
	struct metrics_ctr c;
	uint64_t hash;
	struct ctr_entry *next;
};

struct family {
	struct series **all;
	int n, cap;
	struct series *hash[NBUCKETS_HASH];
	int nlabels; /* with the container labels when it carries them */
	bool ctr;    /* it carries them: its last two labels */
};

struct metrics {
	pthread_mutex_t lock;
	struct hist_bounds bounds;
	int max_series;
	uint64_t start_unix_ns;
	struct family fam[FAM__COUNT];
	struct family_def defs[FAM__COUNT]; /* the table, with the container labels when they are on */
	/* --container-labels: pairs interned so far (at most max_ctr), and the two that are not counted */
	bool ctr_on;
	int max_ctr, nctr;
	struct ctr_entry *ctr_hash[NBUCKETS_CTR];
	struct metrics_ctr ctr_none, ctr_over;
	/* the first norder[f] series of family f sorted by label values, kept for the next /metrics (series are
	 * never removed: each scrape sorts only the new ones and merges); order_lock before lock */
	pthread_mutex_t order_lock;
	struct series **order[FAM__COUNT];
	int norder[FAM__COUNT];
};

/* the writer's side of the sequence count, with the registry lock held */
static inline void series_write_begin(struct series *s)
{
	atomic_store_explicit(&s->seq, atomic_load_explicit(&s->seq, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release); /* odd before any number changes */
}

static inline void series_write_end(struct series *s)
{
	atomic_store_explicit(&s->seq, atomic_load_explicit(&s->seq, memory_order_relaxed) + 1, memory_order_release);
}

/* the table of every family (metrics.c) */
const struct family_def *metrics__defs(const struct metrics *m);

#endif
