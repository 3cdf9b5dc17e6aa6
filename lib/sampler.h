/* sampler.h -- head sampling consistent by trace id, and a token bucket for --max-spans-per-second */
#ifndef OBSPROBE_SAMPLER_H
#define OBSPROBE_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

/* Keep a trace?  The last 8 bytes of its id (big-endian: W3C says they are random) against
 * @ratio * 2^64: the same id and ratio give the same answer in every process, so a trace is kept or
 * dropped whole.  1.0 keeps all, 0.0 none. */
bool sampler__keep(double ratio, const uint8_t trace_id[16]);

/* At most @per_second spans a second, bursts up to one second's worth.  <= 0: none pass.
 * Not thread-safe: one collector thread uses it. */
struct ratelimit {
	double rate, tokens;
	uint64_t last_ns;
};

void ratelimit__init(struct ratelimit *r, double per_second);
bool ratelimit__allow(struct ratelimit *r, uint64_t now_ns);

#endif
