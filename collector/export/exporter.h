/* exporter.h -- OTLP/HTTP and OTLP/gRPC export of spans, log records and metrics: bounded queues, batching, gzip,
 * retries, never blocking */
#ifndef OBSPROBE_EXPORTER_H
#define OBSPROBE_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/otlp.h"
#include "export/span.h"

#define EXPORTER_MAX_HEADERS 16
#define EXPORTER_INSTANCE_ID_MAX 128 /* service.instance.id bytes */

enum otlp_protocol {
	OTLP_HTTP_PROTOBUF = 0, /* application/x-protobuf (default) */
	OTLP_HTTP_JSON = 1,	/* application/json */
	OTLP_GRPC = 2,		/* unary Export calls over HTTP/2 (h2c for http://, ALPN h2 for https://) */
};

#define OTLP_HTTP_PORT 4318 /* an http:// endpoint without a port gets its protocol's OTLP port */
#define OTLP_GRPC_PORT 4317

/* The metrics signal's producer: encode the current values of every metric into @out (OTLP protobuf, or
 * OTLP/JSON when @json), with @host on every resource; the number of data points in @npoints; 0 or -errno.
 * Called on the sender thread: it must take no lock of the capture path for long. */
typedef int (*exporter_collect_fn)(void *ctx, struct otlp_buf *out, bool json, const struct otlp_host *host,
				   size_t *npoints);

/* Zero means "the default" for every number; a zero-initialised struct plus .endpoint is a working set-up. */
struct exporter_opts {
	const char *endpoint; /* base URL http[s]://host[:port][/prefix]; /v1/traces, /v1/logs appended (gRPC: the
			       * path is the method's, /prefix is ignored) */
	enum otlp_protocol protocol;
	const char *const *headers; /* "Key=Value" strings, sent on every request */
	int nheaders;
	bool no_gzip;		 /* default: gzip request bodies (Content-Encoding: gzip; gRPC: grpc-encoding: gzip) */
	const char *host_name;	 /* host.name on every resource; NULL = gethostname() */
	const char *instance_id; /* service.instance.id on every resource; NULL = omitted */
	int batch_max;		 /* items per request; default 512 */
	int batch_delay_ms;	 /* a non-full batch leaves after this; default 1000 */
	int span_queue;		 /* queued spans before dropping; default 8192 */
	int log_queue;		 /* queued log records before dropping; default 8192 */
	int timeout_ms;		 /* one HTTP request (gRPC: the call's deadline, grpc-timeout); default 10000 */
	int max_attempts;	 /* per batch, first try included; default 5 */
	int retry_budget_ms;	 /* per batch, all retries; default 30000 */
	int backoff_ms;		 /* first retry delay, doubled each time, with jitter; default 500 */
	int max_backoff_ms;	 /* cap of the doubling backoff; default 10000 (Retry-After and gRPC's RetryInfo are
				* obeyed as given, up to an hour) */
	int flush_timeout_ms;	 /* exporter__shutdown()/free() deadline; default 3000 */
	/* metrics (/v1/metrics): pushed every metrics_interval_ms (default 60000) and once more at shutdown,
	 * after the spans and log records queued then; NULL = no metrics signal */
	exporter_collect_fn metrics_collect;
	void *metrics_ctx;
	int metrics_interval_ms;
};

struct exporter_stats {
	uint64_t spans_exported;      /* accepted by the receiver (2xx; gRPC: OK) */
	uint64_t spans_queue_full;    /* dropped at push: queue full or exporter shutting down */
	uint64_t spans_export_failed; /* given up after retries, rejected (4xx, partial success), or unsent at the
				       * shutdown deadline */
	uint64_t logs_exported;
	uint64_t logs_queue_full;
	uint64_t logs_export_failed;
	uint64_t metric_points_exported; /* data points of pushes the receiver took */
	uint64_t metric_points_export_failed;
	uint64_t metric_pushes;		    /* snapshots taken to push (one with no data point sends nothing) */
	uint64_t spans_queued, logs_queued; /* waiting now (including the batch being sent) */
	uint64_t requests;		    /* HTTP requests (gRPC calls) made, retries included */
	uint64_t retries;
	int last_status; /* last HTTP status, 0 = none yet, -1 = connection error */
};

struct exporter;

/* Check an OTLP endpoint against the one rule (export/url.h, url__check), as exporter__new does.
 * Returns 0, or -1 with a reason in @err. */
int exporter__check_endpoint(const char *url, char *err, size_t errlen);

/* Starts the background sender.  On a bad option prints one "obsprobe: otlp: ..." line and returns
 * NULL with errno EINVAL (other failures: ENOMEM etc.). */
struct exporter *exporter__new(const struct exporter_opts *opts);

/* Copy one item into the queue.  Never waits on the network: when the queue is full (or the exporter
 * is shutting down) the item is dropped, counted as queue_full, and -ENOSPC is returned. */
int exporter__push_span(struct exporter *e, const struct span *span);
int exporter__push_log(struct exporter *e, const struct log_record *log);

void exporter__stats(struct exporter *e, struct exporter_stats *out);

/* Send what is queued until the flush deadline (flush_timeout_ms) and stop the sender; what is still
 * queued then is counted as export_failed.  Stats stay readable.  Idempotent. */
void exporter__shutdown(struct exporter *e);

/* exporter__shutdown() if not done, then release everything.  NULL is fine. */
void exporter__free(struct exporter *e);

#endif
