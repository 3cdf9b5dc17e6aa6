/* traces.h -- exchanges of any protocol and function calls become RED metrics, spans and per-thread trace context */
#ifndef OBSPROBE_TRACES_H
#define OBSPROBE_TRACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/exporter.h"
#include "abi/exchange.h"
#include "lib/tracectx.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "export/span.h"

struct traces_opts {
	struct metrics *metrics;
	struct exporter *exporter; /* NULL: no OTLP export */
	struct redactor *redactor; /* required: nothing leaves unredacted */
	const char *spans_file;	   /* --spans-file, NULL = off */
	const char *host_name;	   /* host.name in --spans-file lines */
	const char *source;	   /* "ebpf" / "preload": the obsprobe_events_lost_total label */
	double sample_ratio;	   /* --sample-ratio */
	int max_spans_per_second;  /* --max-spans-per-second */
};

struct traces_stats {
	uint64_t sampled_out, rate_limited, unredactable, incomplete;
	uint64_t written, file_failed; /* --spans-file lines written, not written (a write error, an encoding error) */
};

struct traces;

struct traces *traces__new(const struct traces_opts *opts, char *err, size_t errlen);
void traces__free(struct traces *t);

/* Ids for an exchange whose request head was just seen by thread x->pid/x->tid (eBPF path; the shim
 * decides its own).  Server: the caller's context from @in, else the client span on the other end of
 * the connection when it is traced here (4-tuple), else a new trace; the thread then serves it.
 * Client: a child of what the thread serves, else the context the request itself carries, else new. */
void traces__start_exchange(struct traces *t, struct obs_exchange *x, const struct trace_ctx *in);
/* (x->span_id: the caller's when not zero, else a new one; a new trace's id likewise x->trace_id's when not
 * zero) */

/* The ids traces__start_exchange gives when it knows nothing of the thread or a traced peer: the context
 * @in carries, else a new trace (span id as above).  Pure of the tables: the eBPF path stamps them as the
 * request is parsed, and the causal ones replace them later. */
void traces__provisional(const struct traces *t, struct obs_exchange *x, const struct trace_ctx *in);

/* A finished exchange from either path (times CLOCK_MONOTONIC): the RED metrics always, a span when
 * sampled and under the rate cap. */
void traces__end_exchange(struct traces *t, const struct obs_exchange *x, const struct span_resource *res);

/* A finished --func call (CLOCK_MONOTONIC): an INTERNAL child span when the thread is serving a
 * sampled request and the call lies inside it. */
void traces__call(struct traces *t, int pid, int tid, uint64_t start_ns, uint64_t end_ns, const char *function,
		  const char *object, const struct span_resource *res);

/* What thread @tid of @pid serves now: false outside requests. */
bool traces__current(struct traces *t, int pid, int tid, uint8_t trace_id[16], uint8_t span_id[8]);

/* A process exited: forget its threads. */
void traces__forget_pid(struct traces *t, int pid);

/* Fold the exporter's outcomes into obsprobe_spans_total. */
void traces__poll(struct traces *t);

void traces__stats(const struct traces *t, struct traces_stats *out);

/* Random non-zero ids (also used for trace ids of new traces). */
void traces__random_id(uint8_t *id, size_t len);

/* CLOCK_MONOTONIC ns -> unix epoch ns, with the offset measured at start */
uint64_t traces__to_unix_ns(uint64_t mono_ns);

#endif
