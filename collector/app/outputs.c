/* outputs.c -- the redactor, the OTLP exporter, span and log outputs a session starts, polls and reports on */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "app/outputs.h"
#include "base/log.h"
#include "export/otlp_metrics.h"

/* a random (version 4) UUID, as OpenTelemetry suggests for service.instance.id when there is no inherent one */
static void uuid4(char out[37])
{
	uint8_t r[16];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) { /* early boot: unique, not secret */
		uint64_t a = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 40), b = (uint64_t)clock();

		for (int i = 0; i < 8; i++)
			r[i] = (uint8_t)(a >> (8 * i)), r[8 + i] = (uint8_t)(b >> (8 * i));
	}
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

int outputs__start(struct outputs *o, const struct app_opts *opts, struct metrics *m, const char *source)
{
	const char **patterns = calloc((size_t)opts->nredact_patterns + 1, sizeof(*patterns));
	char err[512];

	if (!patterns) {
		elog("out of memory");
		return 1;
	}
	for (int i = 0; i < opts->nredact_patterns; i++)
		patterns[i] = opts->redact_patterns[i];
	o->red = redactor__new(patterns, err, sizeof(err));
	free(patterns);
	if (!o->red) {
		elog("config: redact_patterns: %s", err);
		return 2;
	}
	if (opts->otlp_endpoint && (!opts->no_http || !opts->no_logs || opts->otlp_metrics)) {
		char gen[37];
		const char *iid = opts->service_instance_id;

		if (!iid)
			uuid4(gen), iid = gen;
		struct exporter_opts eo = { .endpoint = opts->otlp_endpoint,
					    .protocol = opts->otlp_grpc	  ? OTLP_GRPC
							: opts->otlp_json ? OTLP_HTTP_JSON
									  : OTLP_HTTP_PROTOBUF,
					    .headers = (const char *const *)opts->otlp_headers,
					    .nheaders = opts->notlp_headers,
					    .timeout_ms = opts->otlp_timeout_ms,
					    .no_gzip = opts->otlp_no_gzip,
					    .metrics_collect = opts->otlp_metrics ? otlp_metrics__collect : NULL,
					    .metrics_ctx = m,
					    .metrics_interval_ms = opts->otlp_metrics_interval_ms,
					    .instance_id = iid };

		o->exp = exporter__new(&eo);
		if (!o->exp)
			return 1; /* it said why */
		ilog("otlp: service.instance.id %s%s", iid,
		     opts->service_instance_id ? "" : " (random; --service-instance-id sets one)");
	}
	if (!opts->no_http) {
		struct traces_opts to = { .metrics = m,
					  .exporter = o->exp,
					  .redactor = o->red,
					  .spans_file = opts->spans_file,
					  .sample_ratio = opts->sample_ratio,
					  .max_spans_per_second = opts->max_spans_per_second,
					  .source = source };

		o->tr = traces__new(&to, err, sizeof(err));
		if (!o->tr) {
			elog("%s", err);
			return 1;
		}
	}
	if (!opts->no_logs) {
		struct logs_opts lo = {
			.metrics = m, .exporter = o->exp, .redactor = o->red, .log_file = opts->log_file
		};

		o->logs = logs__new(&lo, err, sizeof(err));
		if (!o->logs) {
			elog("%s", err);
			return 1;
		}
	}
	return 0;
}

/* the metrics signal's outcomes into obsprobe_metric_points_total (the exporter's counts only grow) */
static void fold_metric_points(struct outputs *o, struct metrics *m)
{
	struct exporter_stats es;

	if (!o->exp)
		return;
	exporter__stats(o->exp, &es);
	if (!es.metric_pushes)
		return;
	series__set_total(metrics__series(m, FAM_METRIC_POINTS, (const char *[]){ "exported" }),
			  es.metric_points_exported);
	series__set_total(metrics__series(m, FAM_METRIC_POINTS, (const char *[]){ "export_failed" }),
			  es.metric_points_export_failed);
}

void outputs__poll(struct outputs *o, struct metrics *m)
{
	metrics__fold_redactor(m, o->red);
	fold_metric_points(o, m);
	if (o->tr)
		traces__poll(o->tr);
	if (o->logs)
		logs__poll(o->logs);
}

void outputs__report_drops(struct outputs *o)
{
	struct exporter_stats es = { 0 };
	struct traces_stats ts = { 0 };

	if (o->exp)
		exporter__stats(o->exp, &es);
	if (o->tr)
		traces__stats(o->tr, &ts);
	if (es.spans_queue_full + es.spans_export_failed + ts.rate_limited)
		elog("WARNING: spans not exported: %llu queue full, %llu export failed, %llu over --max-spans-per-second (obsprobe_spans_total)",
		     (unsigned long long)es.spans_queue_full, (unsigned long long)es.spans_export_failed,
		     (unsigned long long)ts.rate_limited);
	if (es.logs_queue_full + es.logs_export_failed)
		elog("WARNING: log records not exported: %llu queue full, %llu export failed (obsprobe_log_records_total)",
		     (unsigned long long)es.logs_queue_full, (unsigned long long)es.logs_export_failed);
	if (es.metric_points_export_failed)
		elog("WARNING: metric data points not exported: %llu export failed, in %llu pushes "
		     "(obsprobe_metric_points_total)",
		     (unsigned long long)es.metric_points_export_failed, (unsigned long long)es.metric_pushes);
	else if (es.metric_pushes)
		vlog("otlp: %llu metric pushes, %llu data points exported", (unsigned long long)es.metric_pushes,
		     (unsigned long long)es.metric_points_exported);
	if (ts.unredactable)
		elog("WARNING: %llu span attributes dropped: they could not be scanned for secrets",
		     (unsigned long long)ts.unredactable);
	if (ts.file_failed)
		elog("WARNING: %llu span lines not written to --spans-file (a write error; obsprobe_spans_total)",
		     (unsigned long long)ts.file_failed);
	if (logs__file_failed(o->logs))
		elog("WARNING: %llu log records not written to --log-file (a write error; obsprobe_log_records_total)",
		     (unsigned long long)logs__file_failed(o->logs));
}

void outputs__free(struct outputs *o)
{
	traces__free(o->tr);
	logs__free(o->logs);
	exporter__free(o->exp);
	redactor__free(o->red);
	*o = (struct outputs){ 0 };
}
