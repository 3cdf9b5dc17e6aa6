/* sampler.h -- head sampling consistent by trace id, and a token bucket for --max-spans-per-second */
#ifndef OBSPROBE_SAMPLER_H
#define OBSPROBE_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/tracectx.h"

/* Keep a trace?  The last 8 bytes of its id (big-endian: W3C says they are random) against
 * @ratio * 2^64: the same id and ratio give the same answer in every process, so a trace is kept or
 * dropped whole.  1.0 keeps all, 0.0 none. */
bool sampler__keep(double ratio, const uint8_t trace_id[16]);

/* The trace an exchange joins when nothing local is its parent (no request this thread serves, no traced
 * client on this host): the caller's when @in is valid -- its trace id into @trace_id, its span into @parent_id,
 * returns true (the parent is remote) -- else a new trace: @trace_id as the caller made it (random), @parent_id
 * untouched, returns false.  *@sampled is the decision that came with the headers (even without ids: "b3: 0"),
 * else sampler__keep(@ratio) on the trace id.  The shim and the collector both decide through this, so one
 * trace id at one ratio is kept or dropped alike in every process. */
bool sampler__adopt(const struct trace_ctx *in, double ratio, uint8_t trace_id[16], uint8_t parent_id[8],
		    uint8_t *sampled);

/* OBSPROBE_SAMPLE_RATIO as the collector passes it to the programs it starts: printf "%.17g" of its double (the
 * shortest form that reads back as the same double, so both sides decide alike).  False, *@ratio untouched,
 * when @s is NULL, empty, not a number or outside 0..1. */
#define SAMPLER_RATIO_FMT "%.17g"
bool sampler__parse_ratio(const char *s, double *ratio);

/* At most @per_second spans a second, bursts up to one second's worth.  <= 0: none pass.
 * Not thread-safe: one collector thread uses it. */
struct ratelimit {
	double rate, tokens;
	uint64_t last_ns;
};

void ratelimit__init(struct ratelimit *r, double per_second);
bool ratelimit__allow(struct ratelimit *r, uint64_t now_ns);
/* the same in two steps, for a caller that learns between them whether it needs the token: ready refills and
 * says whether a token is there, take (only after ready said yes) spends it */
bool ratelimit__ready(struct ratelimit *r, uint64_t now_ns);
void ratelimit__take(struct ratelimit *r);

#endif
