/* metrics.h -- the collector's metric registry: families, series, exact histograms, exposition */
#ifndef OBSPROBE_METRICS_H
#define OBSPROBE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signal/hist.h"

/* Every family obsprobe exposes (SPEC "Metrics"). Labels are listed in
 * metrics.c; families about traced programs have "service" first. */
enum family_id {
	FAM_FUNCTION_DURATION,	  /* service, function, object */
	FAM_KFUNC_DURATION,	  /* service, function */
	FAM_SYSCALL_DURATION,	  /* service, syscall */
	FAM_SYSCALL_ERRORS,	  /* service, syscall, errno */
	FAM_SOCKET_BYTES,	  /* service, direction, protocol */
	FAM_SOCKET_IO_DURATION,	  /* service, direction, protocol */
	FAM_TCP_CONNECTIONS,	  /* service, direction */
	FAM_TCP_ACTIVE,		  /* service, direction */
	FAM_HTTP_SERVER_DURATION, /* service, http_request_method, http_response_status_code, http_route */
	FAM_HTTP_CLIENT_DURATION, /* service, http_request_method, http_response_status_code, server_address */
	FAM_DB_DURATION,	  /* service, db_system_name, db_operation_name, server_address, error_type */
	FAM_RPC_SERVER_DURATION,  /* service, rpc_system, rpc_service, rpc_method, rpc_grpc_status_code */
	FAM_RPC_CLIENT_DURATION,  /* service, rpc_system, rpc_service, rpc_method, rpc_grpc_status_code */
	FAM_EXCHANGES,		  /* service, protocol, transport: exchanges parsed, by protocol, over tcp or tls */
	FAM_EVENTS,		  /* source */
	FAM_EVENTS_LOST,	  /* source, reason */
	FAM_SPANS,		  /* outcome */
	FAM_LOG_RECORDS,	  /* outcome */
	FAM_SERIES_OVERFLOW,	  /* metric */
	FAM_PROBE_OVERHEAD,	  /* probe */
	FAM_BUILD_INFO,		  /* version, libbpf_version */
	FAM_SEGMENTS_REJECTED,	  /* reason: shim segments not read, or not read as their process's */
	FAM_CONTEXT_INJECTIONS,	  /* service, outcome: traceparent the shim added to outgoing requests, or not */
	FAM_REDACTIONS,		  /* rule: secrets replaced (signal/redact.h) */
	FAM_REDACTED_TEXTS,	  /* outcome: texts redaction cut (truncated) or refused (failed) */
	FAM_LOG_LINES,		  /* outcome: lines assembled from stdout/stderr writes (signal/logline.h) */
	FAM_METRIC_POINTS,	  /* outcome: data points pushed over OTLP (--otlp-metrics) */
	FAM_PROBE_CPU,		  /* program: BPF run time (kernel statistics), counted in ns, shown in seconds */
	FAM_PROBE_RUNS,		  /* program */
	FAM_SHED,		  /* what: steps the overhead budget took (--max-overhead) */
	FAM_PUSHES,		  /* outcome: pushes to a Pushgateway (run --pushgateway) */
	FAM_RING_WAKEUPS,	  /* ring: early drains a ring past half full asked for */
	FAM__COUNT,
};

#define METRICS_MAX_LABELS 7 /* a family's own, and the two container labels (--container-labels) */
#define METRICS_OVERFLOW_VALUE "__overflow__"

struct metrics;
struct series;

struct metrics_opts {
	const uint64_t *bounds_ns; /* histogram upper bounds, ascending, without +Inf */
	int nbounds;
	int max_series; /* per family, then folding into __overflow__; 0 = default 2000 */
	/* --container-labels: the RED families (HTTP, DB, RPC durations) end with container_id, k8s_pod_uid */
	bool container_labels;
	int max_containers; /* distinct (container_id, k8s_pod_uid) pairs, then __overflow__; 0 = default 256 */
};

struct metrics *metrics__new(const struct metrics_opts *opts);
void metrics__free(struct metrics *m);

/* Find or create the series of @fam with label @values (one per label of the
 * family, in order).  Past max_series the extra label sets fold into one
 * series whose non-service labels are "__overflow__", and the fold is counted.
 * The pointer stays valid until metrics__free(). Thread-safe. */
struct series *metrics__series(struct metrics *m, enum family_id fam, const char *const *values);
/* The same; *@folded says whether the label set went to __overflow__ (then the fold was counted, and is counted
 * again at each lookup).  A series that did not fold may be kept by the caller: series are never removed. */
struct series *metrics__series_folded(struct metrics *m, enum family_id fam, const char *const *values, bool *folded);

/* --container-labels: a process's container as the values of the container labels, interned by the registry (one
 * per distinct pair, valid until metrics__free): found once per process, so that a series lookup compares a
 * pointer, not the strings. */
struct metrics_ctr {
	const char *id, *pod_uid;
	bool folded; /* past max_containers: both "__overflow__", and each lookup with it counts a fold */
};
/* NULL when the registry has no container labels; ("", "") for a process in no container */
const struct metrics_ctr *metrics__ctr(struct metrics *m, const char *id, const char *pod_uid);
/* metrics__series_folded with the container labels of @ctr (NULL: "", ""), for a family that carries them; @values
 * are the family's own labels (metrics__nlabels); without container labels @ctr is ignored.  The plain lookups
 * give a family that carries them "" for both. */
struct series *metrics__series_ctr(struct metrics *m, enum family_id fam, const char *const *values,
				   const struct metrics_ctr *ctr, bool *folded);

/* number of label values @fam takes, without the container labels */
int metrics__nlabels(enum family_id fam);
const struct hist_bounds *metrics__bounds(const struct metrics *m);

/* counters */
void series__add(struct series *s, uint64_t n);
/* a counter that mirrors a cumulative count kept elsewhere: it becomes @total (it never goes down) */
void series__set_total(struct series *s, uint64_t total);
/* gauges */
void series__set(struct series *s, double v);
void series__gauge_add(struct series *s, double delta);
/* histograms: one observation, or deltas already bucketed with the same bounds
 * (buckets non-cumulative, nbounds + 1 entries, last one is +Inf) */
void series__observe_ns(struct series *s, uint64_t ns);
void series__add_hist(struct series *s, const uint64_t *buckets, uint64_t count, uint64_t sum_ns);
/* remember @trace_id/@span_id (hex) as the exemplar of the bucket @ns falls into */
void series__exemplar(struct series *s, uint64_t ns, const char *trace_id, const char *span_id, double unix_ts);

/* Read back (tests, summaries). Returns false when @fam/@values has no series. */
bool metrics__get_hist(struct metrics *m, enum family_id fam, const char *const *values, struct hist *out);

/* Visit every histogram series of @fam; label values as registered. */
typedef void (*metrics_hist_cb)(void *ctx, const char *const *values, const struct hist *h);
void metrics__foreach_hist(struct metrics *m, enum family_id fam, metrics_hist_cb cb, void *ctx);

/* Fold a redactor's counts (redactor__stats) into obsprobe_redactions_total{rule} and
 * obsprobe_redacted_texts_total{outcome}: idempotent, call it where the registry is refreshed. A series
 * appears once its count is not 0. */
struct redactor;
void metrics__fold_redactor(struct metrics *m, const struct redactor *r);

/* Every family's series (with their exemplars) copied under the lock in one go, for an encoder that runs
 * outside it (export/otlp_metrics.h).  The label values stay the registry's: valid until metrics__free(). */
struct family_def;
struct snap;
struct metrics_snapshot {
	const struct family_def *defs; /* [FAM__COUNT] */
	struct snap *sn[FAM__COUNT];   /* family f's series, n[f] of them, in creation order */
	int n[FAM__COUNT];
	struct hist_bounds bounds;
	uint64_t start_unix_ns; /* when the registry began counting (the start of every cumulative value) */
	uint64_t unix_ns;	/* when the copy was taken */
};
/* 0, or -ENOMEM (nothing to free then) */
int metrics__snapshot(struct metrics *m, struct metrics_snapshot *out);
void metrics_snapshot__free(struct metrics_snapshot *s);

/* The exposition, Prometheus text 0.0.4 or OpenMetrics 1.0.0 (with exemplars and "# EOF"), as a stream that
 * /metrics sends as it is read: the series are those there are when it starts; each one's numbers are copied whole
 * when the stream reaches it, without the registry lock (a sequence count per series), then formatted.  So a slow
 * reader makes no writer wait, and memory is the list of series and one chunk, whatever the output's size.
 * metrics__stream: NULL when out of memory.  _read: up to @max bytes, 0 at the end, -1 out of memory.
 * Not thread-safe: one reader per stream (the registry may be written meanwhile). */
struct metrics_stream;
struct metrics_stream *metrics__stream(struct metrics *m, bool openmetrics);
long metrics_stream__read(struct metrics_stream *st, char *dst, size_t max);
void metrics_stream__free(struct metrics_stream *st);

/* The whole exposition at once (tests, summaries): a malloc'd NUL-terminated buffer, NULL when out of memory. */
char *metrics__render(struct metrics *m, bool openmetrics, size_t *len);

#endif
