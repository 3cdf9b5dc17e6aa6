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

/* the whole exposition of @defs[FAM__COUNT], family f's series being @sn[f] (@n[f] of them, sorted here), then
 * the collector's own process_* (and "# EOF" for OpenMetrics); malloc'd, NULL when out of memory */
char *expo__render(const struct family_def *defs, struct snap *const *sn, const int *n,
		   const struct hist_bounds *bounds, bool om, size_t *len);

#endif
