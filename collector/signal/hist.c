/* hist.c -- exact latency histograms: boundary parsing, bucket mapping, quantile bounds */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/hist.h"

const char HIST_DEFAULT_BUCKETS[] =
	"0.000001,0.0000025,0.000005,0.00001,0.000025,0.00005,0.0001,0.00025,0.0005,"
	"0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10";

int hist_bounds__parse(struct hist_bounds *b, const char *list, char *err, size_t errlen)
{
	const char *p = list;
	int n = 0;

	memset(b, 0, sizeof(*b));
	while (*p) {
		char *end;
		double v, ns;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (!strncmp(p, "+Inf", 4) || !strncmp(p, "inf", 3)) {
			snprintf(err, errlen, "'+Inf' is implied; list only finite boundaries");
			return -1;
		}
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || (*end && *end != ',' && !isspace((unsigned char)*end))) {
			snprintf(err, errlen, "'%.*s' is not a number of seconds",
				 (int)strcspn(p, ", "), p);
			return -1;
		}
		ns = v * 1e9;
		if (!(v > 0) || !isfinite(v) || ns > 1e18) {
			snprintf(err, errlen, "boundary %g must be a positive number of seconds", v);
			return -1;
		}
		if (fabs(ns - llround(ns)) > 1e-6 * ns + 1e-3 || llround(ns) == 0) {
			snprintf(err, errlen, "boundary %g is not a whole number of nanoseconds", v);
			return -1;
		}
		if (n == OBS_MAX_BOUNDS) {
			snprintf(err, errlen, "more than %d boundaries", OBS_MAX_BOUNDS);
			return -1;
		}
		b->ns[n] = (uint64_t)llround(ns);
		if (n && b->ns[n] <= b->ns[n - 1]) {
			snprintf(err, errlen, "boundaries must be strictly ascending (%g after %g)", v,
				 b->ns[n - 1] / 1e9);
			return -1;
		}
		n++;
		p = end;
	}
	if (!n) {
		snprintf(err, errlen, "no boundaries given");
		return -1;
	}
	b->n = n;
	return 0;
}

int hist_bounds__index(const struct hist_bounds *b, uint64_t ns)
{
	int lo = 0, hi = b->n;

	/* first i with ns <= b->ns[i]; b->n when none (+Inf) */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (ns <= b->ns[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void hist__observe(struct hist *h, const struct hist_bounds *b, uint64_t ns)
{
	h->buckets[hist_bounds__index(b, ns)]++;
	h->count++;
	h->sum_ns += ns;
}

void hist__merge(struct hist *dst, const struct hist *src, int nbuckets)
{
	for (int i = 0; i < nbuckets; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
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
