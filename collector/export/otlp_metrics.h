/* otlp_metrics.h -- OTLP metrics: a registry snapshot as an ExportMetricsServiceRequest, protobuf or OTLP/JSON */
#ifndef OBSPROBE_OTLP_METRICS_H
#define OBSPROBE_OTLP_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "export/otlp.h"
#include "signal/metrics.h"

/*
 * The same families, series and numbers as /metrics (docs/SPEC.md, "OTLP metrics"), as the OpenTelemetry
 * Prometheus compatibility rules read our exposition:
 *   - the metric name is the family name without its unit suffix: "..._seconds" families lose "_seconds" and
 *     carry unit "s" (a Prometheus exporter or receiver puts the suffix back); counters never had "_total" here;
 *   - counters are monotonic cumulative Sums (as_int), gauges Gauges (as_double), histograms cumulative
 *     explicit-bucket Histograms in seconds: the --buckets bounds, per-bucket counts with +Inf last, count, sum;
 *   - a histogram bucket's exemplar (the latest sampled span that fell in it) rides on its data point;
 *   - every label is an attribute, "service" included; series are grouped into one ResourceMetrics per service
 *     (service.name, host.name), and the families without a "service" label (the collector's own) under
 *     service.name "obsprobe";
 *   - start_time_unix_nano is when the registry began counting, time_unix_nano when the snapshot was taken.
 * Both return 0 or -ENOMEM (@out unchanged then), and the number of data points written in @npoints.
 */
int otlp__metrics_pb(struct otlp_buf *out, const struct metrics_snapshot *s, const struct otlp_host *host,
		     size_t *npoints);
int otlp__metrics_json(struct otlp_buf *out, const struct metrics_snapshot *s, const struct otlp_host *host,
		       size_t *npoints);

/* The exporter's metrics producer (exporter_opts.metrics_collect) for registry @ctx (a struct metrics): a
 * snapshot, encoded outside the registry lock. */
int otlp_metrics__collect(void *ctx, struct otlp_buf *out, bool json, const struct otlp_host *host, size_t *npoints);

#endif
