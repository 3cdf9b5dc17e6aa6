/* sampler.c -- head sampling consistent by trace id, and a token bucket for --max-spans-per-second */
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

void ratelimit__init(struct ratelimit *r, double per_second)
{
	r->rate = per_second;
	r->tokens = per_second > 0 ? per_second : 0;
	r->last_ns = 0;
}

bool ratelimit__allow(struct ratelimit *r, uint64_t now_ns)
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
	if (r->tokens < 1.0 - 1e-6) /* refills add up in floating point: forgive the rounding */
		return false;
	r->tokens -= 1.0;
	return true;
}
