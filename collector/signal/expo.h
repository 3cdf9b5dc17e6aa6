/* expo.h -- exposition: snapshotted families in Prometheus text 0.0.4 or OpenMetrics 1.0.0, and process_* */
#ifndef OBSPROBE_EXPO_H
#define OBSPROBE_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signal/hist.h"
#include "signal/metrics.h"

enum metric_type { COUNTER, GAUGE, HISTOGRAM };

/* one family as exposed (metrics.c holds the table) */
struct family_def {
	const char *name; /* counters without "_total" */
	enum metric_type type;
	const char *help;
	const char *labels[METRICS_MAX_LABELS];
	bool ns; /* a counter kept in nanoseconds, exposed in seconds */
};

/* how many labels @d names */
static inline int family_def__nlabels(const struct family_def *d)
{
	int n = 0;

	while (n < METRICS_MAX_LABELS && d->labels[n])
		n++;
	return n;
}

struct exemplar {
	char trace_id[33];
	char span_id[17];
	uint64_t ns;
	double ts;
};

/* One series' numbers, copied under the registry lock so that formatting happens outside it (sources
 * write while a scrape renders).  Series are never removed and their label values never change, so @values
 * stay valid. */
struct snap {
	char *const *values; /* the series' label values */
	union {
		uint64_t counter;
		double gauge;
	};
	struct hist hist;
	struct exemplar *ex; /* a copy, only for OpenMetrics; NULL: none */
};

/* The exposition as a stream, formatted a series at a time into the caller's buffer.  @next hands over the series
 * in exposition order, a few at a time: family by family (enum order), each family's series sorted by label values;
 * it returns how many are in *@sn (all of family *@fam; valid until the next call), 0 at the end, -1 when out of
 * memory.  After the families come the collector's own process_* (read then) and, for OpenMetrics, "# EOF". */
typedef int (*expo_next_fn)(void *ctx, enum family_id *fam, const struct snap **sn);
struct expo;
struct expo *expo__new(const struct family_def *defs, const struct hist_bounds *bounds, bool om, expo_next_fn next,
		       void *ctx);
/* up to @max bytes of the text into @dst: how many (less than @max only at the end; 0: nothing left), or -1 out of
 * memory (the text is then cut short) */
long expo__read(struct expo *e, char *dst, size_t max);
void expo__free(struct expo *e);

#endif
