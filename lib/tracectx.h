/* tracectx.h -- incoming trace context from W3C, B3 (single and multi), AWS X-Ray and Datadog headers.
 * Pure and allocation-free: the shim runs it inside traced programs too. */
#ifndef OBSPROBE_TRACECTX_H
#define OBSPROBE_TRACECTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ctx_format { CTX_NONE = 0, CTX_W3C, CTX_B3, CTX_B3_MULTI, CTX_XRAY, CTX_DATADOG };
#define CTX_STATE_LEN 513    /* tracestate/baggage kept and passed on: 512 characters (W3C's "at least 512") */
#define CTX_STATE_MEMBERS 32 /* tracestate list-members at most */
#define CTX_STATE_BIG 128    /* truncating: members longer than this go first */

struct trace_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];		/* the caller's span: our parent */
	uint8_t sampled;		/* the caller's decision, when decided */
	uint8_t valid;			/* trace_id/span_id come from a well-formed header */
	uint8_t decided;		/* a sampling decision came with the headers (even without ids: "b3: 0") */
	uint8_t format;			/* enum ctx_format used */
	char tracestate[CTX_STATE_LEN]; /* W3C tracestate with a valid traceparent: its members joined by ','
					 * without OWS, truncated to 512 ("" = none, or invalid) */
	char baggage[CTX_STATE_LEN];	/* W3C baggage as received ("" = none, or too long) */
};

#define CTX_VAL_LEN 160 /* raw header values kept; longer ones are malformed for every format but tracestate/baggage */

/* The header values of interest of one request, as its parser hands them over. */
struct ctx_extractor {
	char traceparent[CTX_VAL_LEN], b3[CTX_VAL_LEN], b3_trace[CTX_VAL_LEN], b3_span[CTX_VAL_LEN];
	char b3_sampled[CTX_VAL_LEN], b3_flags[CTX_VAL_LEN], xray[CTX_VAL_LEN], dd_trace[CTX_VAL_LEN];
	char dd_parent[CTX_VAL_LEN], dd_priority[CTX_VAL_LEN];
	char tracestate[CTX_STATE_LEN]; /* the valid members so far, truncated as they arrive */
	char baggage[CTX_STATE_LEN];
	uint16_t seen; /* bit per field: present */
	uint16_t bad;  /* bit per field: repeated or too long (malformed) */
	bool state_bad, baggage_bad;
	bool state_over, state_full;		/* truncating tracestate: big members dropped / no more room */
	uint8_t state_members;			/* tracestate list-members so far (empty ones not counted) */
	uint64_t state_keys[CTX_STATE_MEMBERS]; /* their keys' hashes: a repeated key voids the header */
};

void ctx_extractor__init(struct ctx_extractor *x);
/* @name/@val are not NUL-terminated; the name is case-insensitive, the value trimmed.  Unknown
 * headers cost a length check and at most one comparison. */
void ctx_extractor__header(struct ctx_extractor *x, const char *name, size_t nlen, const char *val, size_t vlen);
/* tracestate (W3C Trace Context §3.3): the lines of the header form one list; list-members are separated
 * by commas with optional spaces and tabs around them, empty members are ignored; at most 32 members;
 * key = simple-key (lcalpha, then up to 255 of a-z 0-9 _ - * /) or tenant@system (tenant: a-z or digit,
 * then up to 240 of those; system: lcalpha, then up to 13); value = 1 to 256 printable ASCII characters
 * (0x20-0x7E) but ',' and '=', not ending in a space; each key once.  A header that breaks any rule is
 * discarded whole.  What is kept and passed on is the members joined by ',' (OWS left out); past 512
 * characters they are truncated by W3C's rule: members over 128 characters go first, then members from
 * the end. */

/* The context, by precedence W3C > B3 single > B3 multi > X-Ray > Datadog.  A malformed header of a
 * format is ignored whole and the next format is tried.  False (out->valid = 0) when none is valid:
 * the caller starts a new trace; out->decided/sampled may still carry a decision ("b3: 0"). */
bool ctx_extractor__finish(const struct ctx_extractor *x, struct trace_ctx *out);

/* "00-<trace>-<span>-<flags>" into @buf (56 bytes with the NUL); returns 55, or -1 if @len is short. */
int tracectx__format_traceparent(char *buf, size_t len, const uint8_t trace_id[16], const uint8_t span_id[8],
				 bool sampled);
/* A valid tracestate list (@src, members joined by ',') into @size bytes by W3C's truncation rule: whole
 * when it fits, else members over 128 characters dropped, then members from the end.  Returns the length. */
size_t tracectx__truncate_state(char *dst, size_t size, const char *src);

#endif
