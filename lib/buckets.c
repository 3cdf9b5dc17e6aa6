/* buckets.c -- histogram boundaries as text: the one parser (collector and shim) */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buckets.h"

static int fail(struct buckets_error *e, enum buckets_err code, const char *at, double value, uint64_t prev_ns)
{
	if (e) {
		e->code = code;
		e->at = at;
		e->len = at ? strcspn(at, ", ") : 0;
		e->value = value;
		e->prev_ns = prev_ns;
	}
	return -1;
}

/* llround for 0 < v <= 1e18, without libm (the shim does not link it) */
static uint64_t round_ns(double v)
{
	uint64_t r = (uint64_t)v;

	return v - (double)r >= 0.5 ? r + 1 : r;
}

int buckets__parse(const char *list, uint64_t ns[OBS_MAX_BOUNDS], struct buckets_error *e)
{
	const char *p = list;
	int n = 0;

	while (*p) {
		char *end;
		double v, x, d;
		uint64_t r;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (!strncmp(p, "+Inf", 4) || !strncmp(p, "inf", 3))
			return fail(e, BUCKETS_INF, p, 0, 0);
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || (*end && *end != ',' && !isspace((unsigned char)*end)))
			return fail(e, BUCKETS_NOT_NUMBER, p, 0, 0);
		x = v * 1e9;
		if (!(v > 0) || !isfinite(v) || x > 1e18)
			return fail(e, BUCKETS_NOT_POSITIVE, p, v, 0);
		r = round_ns(x);
		d = x - (double)r;
		if ((d < 0 ? -d : d) > 1e-6 * x + 1e-3 || r == 0)
			return fail(e, BUCKETS_NOT_WHOLE_NS, p, v, 0);
		if (n == OBS_MAX_BOUNDS)
			return fail(e, BUCKETS_TOO_MANY, p, v, 0);
		ns[n] = r;
		if (n && ns[n] <= ns[n - 1])
			return fail(e, BUCKETS_NOT_ASCENDING, p, v, ns[n - 1]);
		n++;
		p = end;
	}
	return n ? n : fail(e, BUCKETS_EMPTY, NULL, 0, 0);
}
