/* demux_ops.h -- what demux.c holds in the reorder queue for a request between its parse and its causal turn:
 * a request's start (struct op_start) and an exchange's end (struct op_end: the exchange, its strings packed), and
 * the causal ids decided when a start is popped, kept by span id until its end is popped (struct causal_ids).
 * Private to demux.c. */
#ifndef OBSPROBE_DEMUX_OPS_H
#define OBSPROBE_DEMUX_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/tracectx.h"

#define OP_START 0x4f500001u /* a request's head was parsed (never an OBS_EV_* type) */
#define OP_END 0x4f500002u   /* an exchange ended */

struct op_start {
	uint32_t type;
	int32_t pid, tid;
	uint32_t stream;
	uint8_t kind, pad[7];
	uint64_t start_ns;
	uint8_t span_id[8];
	uint8_t trace_id[16]; /* provisional: a new trace's id when nothing gives one */
	struct obs_addr local, peer;
	uint8_t in[offsetof(struct trace_ctx, tracestate)]; /* its ids and decision; tracestate is x's */
};

/* an OP_END: this head, x up to its strings, each string's bytes, x from stream on */
struct op_end {
	uint32_t type;
	uint16_t len[6];
};

/* the most an OP_END takes: its head and a whole exchange */
#define OP_END_MAX (sizeof(struct op_end) + sizeof(struct obs_exchange))

/* @x as an OP_END into @out (OP_END_MAX bytes); its size */
size_t op_end__pack(uint8_t *out, const struct obs_exchange *x);
/* an OP_END of @size bytes back into @x; false when it is not one op_end__pack() made */
bool op_end__unpack(struct obs_exchange *x, const uint8_t *rec, size_t size);

/* the causal ids of started requests, by span id: open addressing, grown from 1,024 slots by doubling */
struct causal_ids {
	struct xids *ids;
	uint32_t mask, n;
	uint64_t swept_ns;
};

/* @x's ids (trace, parent, decision), kept under its span id; dropped when the table is at its cap */
void causal_ids__put(struct causal_ids *t, const struct obs_exchange *x);
/* the ids kept for @x's span id onto @x, and forgotten; @x unchanged when there are none */
void causal_ids__take(struct causal_ids *t, struct obs_exchange *x);
/* now and then (@now_ns, CLOCK_MONOTONIC): requests whose end never came are forgotten */
void causal_ids__sweep(struct causal_ids *t, uint64_t now_ns);
void causal_ids__free(struct causal_ids *t);

#endif
