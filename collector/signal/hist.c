/* hist.c -- exact latency histograms: boundaries (lib/buckets.c parses them), bucket mapping, quantile bounds */
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buckets.h"
#include "signal/hist.h"

int hist_bounds__parse(struct hist_bounds *b, const char *list, char *err, size_t errlen)
{
	struct buckets_error e;
	int n;

	memset(b, 0, sizeof(*b));
	n = buckets__parse(list, b->ns, &e);
	if (n > 0) {
		b->n = n;
		return 0;
	}
	switch (e.code) {
	case BUCKETS_INF:
		snprintf(err, errlen, "'+Inf' is implied; list only finite boundaries");
		break;
	case BUCKETS_NOT_NUMBER:
		snprintf(err, errlen, "'%.*s' is not a number of seconds", (int)e.len, e.at);
		break;
	case BUCKETS_NOT_POSITIVE:
		snprintf(err, errlen, "boundary %g must be a positive number of seconds", e.value);
		break;
	case BUCKETS_NOT_WHOLE_NS:
		snprintf(err, errlen, "boundary %g is not a whole number of nanoseconds", e.value);
		break;
	case BUCKETS_TOO_MANY:
		snprintf(err, errlen, "more than %d boundaries", OBS_MAX_BOUNDS);
		break;
	case BUCKETS_NOT_ASCENDING:
		snprintf(err, errlen, "boundaries must be strictly ascending (%g after %g)", e.value, e.prev_ns / 1e9);
		break;
	case BUCKETS_EMPTY:
	default:
		snprintf(err, errlen, "no boundaries given");
		break;
	}
	b->n = 0;
	return -1;
}

int hist_bounds__index(const struct hist_bounds *b, uint64_t ns)
{
	return (int)obs_hist_bucket(b->ns, (__u32)b->n, ns);
}

void hist__observe(struct hist *h, const struct hist_bounds *b, uint64_t ns)
{
	h->buckets[hist_bounds__index(b, ns)]++;
	h->count++;
	h->sum_ns += ns;
}

uint64_t hist__quantile_bound(const struct hist *h, const struct hist_bounds *b, double q)
{
	uint64_t total = 0, rank, acc = 0;

	for (int i = 0; i <= b->n; i++)
		total += h->buckets[i];
	if (!total)
		return 0;
	rank = (uint64_t)ceil(q * (double)total);
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < b->n; i++) {
		acc += h->buckets[i];
		if (acc >= rank)
			return b->ns[i];
	}
	return UINT64_MAX;
}

void fmt_seconds(char *buf, size_t len, uint64_t ns)
{
	uint64_t sec = ns / 1000000000ull, frac = ns % 1000000000ull;
	int digits = 9;

	if (!frac) {
		snprintf(buf, len, "%llu", (unsigned long long)sec);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%llu.%0*llu", (unsigned long long)sec, digits, (unsigned long long)frac);
}

void hist_delta(struct hist *last, const struct hist *now, struct hist *delta, int nslots)
{
	/* a counter that went backwards means the map was recreated: count from zero */
	bool reset = now->count < last->count;

	for (int i = 0; i < nslots; i++) {
		delta->buckets[i] = reset ? now->buckets[i] : now->buckets[i] - last->buckets[i];
	}
	delta->count = reset ? now->count : now->count - last->count;
	delta->sum_ns = reset ? now->sum_ns : now->sum_ns - last->sum_ns;
	*last = *now;
}
