/* hist.h -- exact latency histograms over configured boundaries (no interpolation) */
#ifndef OBSPROBE_HIST_H
#define OBSPROBE_HIST_H

#include <stdint.h>
#include <stddef.h>

#include "abi/hist.h"	 /* OBS_MAX_BOUNDS, shared with BPF */
#include "lib/buckets.h" /* OBS_DEFAULT_BUCKETS */

struct hist_bounds {
	uint64_t ns[OBS_MAX_BOUNDS]; /* ascending upper bounds in ns, +Inf implied */
	int n;
};

struct hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t buckets[OBS_MAX_BOUNDS + 1]; /* non-cumulative; [n] is +Inf */
};

/* Parse "0.001,0.01,0.1" (commas or spaces) into @b with buckets__parse (lib/buckets.h, which also has
 * OBS_DEFAULT_BUCKETS): positive, whole nanoseconds, strictly ascending, at most OBS_MAX_BOUNDS.
 * Returns 0, or -1 with a one-line reason in @err. */
int hist_bounds__parse(struct hist_bounds *b, const char *list, char *err, size_t errlen);

/* index of the bucket @ns falls into: first i with ns <= ns[i], else n (+Inf) (abi/hist.h's obs_hist_bucket) */
int hist_bounds__index(const struct hist_bounds *b, uint64_t ns);

void hist__observe(struct hist *h, const struct hist_bounds *b, uint64_t ns);

/* Delta of a cumulative histogram against the last one seen for the same source:
 * @last becomes @now, @delta receives now - last (all of now if it went backwards). */
void hist_delta(struct hist *last, const struct hist *now, struct hist *delta, int nslots);

/* value at quantile q (0..1): the upper bound of the bucket holding it, in ns;
 * UINT64_MAX when it falls into +Inf. Used by the exit summary only. */
uint64_t hist__quantile_bound(const struct hist *h, const struct hist_bounds *b, double q);

/* format @ns as seconds with the fewest digits that are exact ("0.0000025") */
void fmt_seconds(char *buf, size_t len, uint64_t ns);

#endif
