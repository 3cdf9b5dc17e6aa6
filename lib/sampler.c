/* sampler.c -- head sampling consistent by trace id, and a token bucket for --max-spans-per-second */
#include <stdlib.h>
#include <string.h>

#include "lib/sampler.h"

bool sampler__keep(double ratio, const uint8_t trace_id[16])
{
	uint64_t v = 0;

	if (ratio >= 1.0)
		return true;
	if (!(ratio > 0.0))
		return false;
	for (int i = 8; i < 16; i++)
		v = v << 8 | trace_id[i];
	/* compare in the 53-bit mantissa range: (v >> 11) / 2^53 is uniform in [0, 1) */
	return (double)(v >> 11) < ratio * 9007199254740992.0;
}

bool sampler__adopt(const struct trace_ctx *in, double ratio, uint8_t trace_id[16], uint8_t parent_id[8],
		    uint8_t *sampled)
{
	if (in->valid) {
		memcpy(trace_id, in->trace_id, 16);
		memcpy(parent_id, in->span_id, 8);
	}
	*sampled = in->decided ? in->sampled : sampler__keep(ratio, trace_id);
	return in->valid;
}

bool sampler__parse_ratio(const char *s, double *ratio)
{
	char *e;
	double v;

	if (!s || !*s)
		return false;
	v = strtod(s, &e);
	if (e == s || !(v >= 0 && v <= 1))
		return false;
	*ratio = v;
	return true;
}

void ratelimit__init(struct ratelimit *r, double per_second)
{
	r->rate = per_second;
	r->tokens = per_second > 0 ? per_second : 0;
	r->last_ns = 0;
}

bool ratelimit__ready(struct ratelimit *r, uint64_t now_ns)
{
	if (r->rate <= 0)
		return false;
	if (r->last_ns && now_ns > r->last_ns) {
		r->tokens += (double)(now_ns - r->last_ns) * r->rate / 1e9;
		if (r->tokens > r->rate)
			r->tokens = r->rate;
	}
	if (now_ns > r->last_ns || !r->last_ns)
		r->last_ns = now_ns;
	return r->tokens >= 1.0 - 1e-6; /* refills add up in floating point: forgive the rounding */
}

void ratelimit__take(struct ratelimit *r)
{
	r->tokens -= 1.0;
}

bool ratelimit__allow(struct ratelimit *r, uint64_t now_ns)
{
	if (!ratelimit__ready(r, now_ns))
		return false;
	ratelimit__take(r);
	return true;
}
