/* exporter.c -- OTLP/HTTP and OTLP/gRPC exporter: bounded queues filled by capture, metrics pushes, one sender
 * thread (exporter_send.c) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "export/exporter.h"
#include "export/exporter_send.h"
#include "export/url.h"
#include "base/log.h"
#include "export/otlp.h"
#include "lib/clock.h"

#define DEF_BATCH_MAX 512
#define DEF_BATCH_DELAY_MS 1000
#define DEF_QUEUE 8192
#define DEF_TIMEOUT_MS 10000
#define DEF_MAX_ATTEMPTS 5
#define DEF_RETRY_BUDGET_MS 30000
#define DEF_BACKOFF_MS 500
#define DEF_MAX_BACKOFF_MS 10000
#define DEF_FLUSH_TIMEOUT_MS 3000
#define DEF_METRICS_INTERVAL_MS 60000 /* as OTEL_METRIC_EXPORT_INTERVAL */

/* ---- options ---------------------------------------------------------------------------------------- */

int exporter__check_endpoint(const char *url, char *err, size_t errlen)
{
	const char *why;

	if (!url || !*url) {
		snprintf(err, errlen, "empty URL");
		return -1;
	}
	why = url__check(url);
	if (why)
		snprintf(err, errlen, "'%s' %s", url, why);
	return why ? -1 : 0;
}

static int pick(int v, int def)
{
	return v > 0 ? v : def;
}

/* ---- public ----------------------------------------------------------------------------------------- */

static int push(struct exporter *e, struct queue *q, const void *item)
{
	size_t pending, slot;

	pthread_mutex_lock(&e->lock);
	if (e->stopping || q->count == q->cap) {
		q->queue_full++;
		pthread_mutex_unlock(&e->lock);
		return -ENOSPC;
	}
	slot = (q->head + q->count) % q->cap;
	memcpy(q->slots + slot * q->item_size, item, q->item_size);
	if (slot >= q->touched)
		q->touched = slot + 1;
	pending = q->count - q->claimed;
	q->count++;
	if (!pending)
		q->first_ns = mono_ns();
	/* wake the sender to arm its timer, or because a batch is full */
	if (!pending || pending + 1 == (size_t)e->o.batch_max)
		pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int exporter__push_span(struct exporter *e, const struct span *span)
{
	return push(e, &e->spans, span);
}

int exporter__push_log(struct exporter *e, const struct log_record *log)
{
	return push(e, &e->logs, log);
}

void exporter__stats(struct exporter *e, struct exporter_stats *out)
{
	pthread_mutex_lock(&e->lock);
	*out = (struct exporter_stats){
		.spans_exported = e->spans.exported,
		.spans_queue_full = e->spans.queue_full,
		.spans_export_failed = e->spans.export_failed,
		.logs_exported = e->logs.exported,
		.logs_queue_full = e->logs.queue_full,
		.logs_export_failed = e->logs.export_failed,
		.metric_points_exported = e->metrics.exported,
		.metric_points_export_failed = e->metrics.export_failed,
		.metric_pushes = e->metric_pushes,
		.spans_queued = e->spans.count,
		.logs_queued = e->logs.count,
		.requests = e->requests,
		.retries = e->retries,
		.last_status = e->last_status,
	};
	pthread_mutex_unlock(&e->lock);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	/* not thread-safe in older libcurl: once per process */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The URL of @sig: OTLP/HTTP: base + /v1/<signal>; OTLP/gRPC: scheme://authority + /<service>/Export.  An
 * http:// endpoint without a port gets its protocol's OTLP port (https:// keeps 443: hosted receivers). */
static int queue_init(struct queue *q, enum otlp_signal_id sig, size_t item_size, size_t cap, const char *base,
		      bool grpc)
{
	const struct otlp_signal *s = &exporter_signals[sig];
	bool has_port;
	size_t origin = url__origin(base, &has_port), blen = strlen(base);
	char port[8] = "";

	while (blen > origin && base[blen - 1] == '/')
		blen--;
	if (!has_port && !strncasecmp(base, "http://", 7))
		snprintf(port, sizeof(port), ":%d", grpc ? OTLP_GRPC_PORT : OTLP_HTTP_PORT);
	snprintf(q->url, sizeof(q->url), "%.*s%s%.*s%s", (int)origin, base, port, grpc ? 0 : (int)(blen - origin),
		 base + origin, grpc ? s->grpc_method : s->http_path);
	q->what = s->what;
	q->item_size = item_size;
	q->cap = cap;
	q->map_len = cap * item_size;
	if (!cap) /* the metrics signal: nothing queued */
		return 0;
	q->slots = mmap(NULL, q->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->slots == MAP_FAILED) {
		q->slots = NULL;
		return -ENOMEM;
	}
	return 0;
}

struct exporter *exporter__new(const struct exporter_opts *opts)
{
	struct exporter *e = NULL;
	pthread_condattr_t ca;
	char err[512];
	int rc;

	if (exporter__check_endpoint(opts->endpoint, err, sizeof(err))) {
		elog("otlp endpoint: %s", err);
		errno = EINVAL;
		return NULL;
	}
	if (opts->nheaders < 0 || opts->nheaders > EXPORTER_MAX_HEADERS || (opts->nheaders && !opts->headers)) {
		elog("otlp: at most %d headers", EXPORTER_MAX_HEADERS);
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		elog("otlp: libcurl: %s", curl_easy_strerror(curl_init_rc));
		errno = ENOMEM;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->o = *opts;
	e->o.endpoint = NULL;
	e->o.batch_max = pick(opts->batch_max, DEF_BATCH_MAX);
	e->o.batch_delay_ms = pick(opts->batch_delay_ms, DEF_BATCH_DELAY_MS);
	e->o.span_queue = pick(opts->span_queue, DEF_QUEUE);
	e->o.log_queue = pick(opts->log_queue, DEF_QUEUE);
	e->o.timeout_ms = pick(opts->timeout_ms, DEF_TIMEOUT_MS);
	e->o.max_attempts = pick(opts->max_attempts, DEF_MAX_ATTEMPTS);
	e->o.retry_budget_ms = pick(opts->retry_budget_ms, DEF_RETRY_BUDGET_MS);
	e->o.backoff_ms = pick(opts->backoff_ms, DEF_BACKOFF_MS);
	e->o.max_backoff_ms = pick(opts->max_backoff_ms, DEF_MAX_BACKOFF_MS);
	e->o.flush_timeout_ms = pick(opts->flush_timeout_ms, DEF_FLUSH_TIMEOUT_MS);
	e->o.metrics_interval_ms = pick(opts->metrics_interval_ms, DEF_METRICS_INTERVAL_MS);
	e->metrics_next_ns = mono_ns() + ms_ns(e->o.metrics_interval_ms);
	e->json = opts->protocol == OTLP_HTTP_JSON;
	e->grpc = opts->protocol == OTLP_GRPC;
	e->gzip = !opts->no_gzip;
	e->rng = mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)e;
	if (!e->rng)
		e->rng = 1;
	if (opts->host_name)
		snprintf(e->host, sizeof(e->host), "%s", opts->host_name);
	else if (gethostname(e->host, sizeof(e->host) - 1))
		e->host[0] = '\0';
	if (opts->instance_id)
		snprintf(e->instance_id, sizeof(e->instance_id), "%s", opts->instance_id);
	e->origin = (struct otlp_host){ .name = e->host, .instance_id = e->instance_id };
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);

	rc = queue_init(&e->spans, SIG_TRACES, sizeof(struct span), (size_t)e->o.span_queue, opts->endpoint, e->grpc);
	if (!rc)
		rc = queue_init(&e->logs, SIG_LOGS, sizeof(struct log_record), (size_t)e->o.log_queue, opts->endpoint,
				e->grpc);
	if (!rc)
		rc = queue_init(&e->metrics, SIG_METRICS, 0, 0, opts->endpoint, e->grpc);
	if (!rc)
		rc = exporter_send__setup_curl(e);
	if (!rc) {
		rc = -pthread_create(&e->thread, NULL, exporter_send__main, e);
		e->started = !rc;
	}
	if (rc) {
		if (rc != -EINVAL)
			elog("otlp: cannot start the exporter: %s", strerror(-rc));
		exporter__free(e);
		errno = -rc;
		return NULL;
	}
	vlog("otlp: exporting to %s and %s%s%s (%s%s)", e->spans.url, e->logs.url, opts->metrics_collect ? " and " : "",
	     opts->metrics_collect ? e->metrics.url : "",
	     e->grpc   ? "grpc"
	     : e->json ? "http/json"
		       : "http/protobuf",
	     e->gzip ? ", gzip" : "");
	return e;
}

void exporter__shutdown(struct exporter *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	if (!e->stopping) {
		e->stopping = true;
		e->flush_deadline_ns = mono_ns() + ms_ns(e->o.flush_timeout_ms);
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
	if (e->started) {
		pthread_join(e->thread, NULL);
		e->started = false;
	}
}

void exporter__free(struct exporter *e)
{
	if (!e)
		return;
	exporter__shutdown(e);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->hdrs);
	curl_slist_free_all(e->call_hdrs);
	otlp_buf__free(&e->body);
	otlp_buf__free(&e->gz);
	otlp_buf__free(&e->frame);
	if (e->spans.slots)
		munmap(e->spans.slots, e->spans.map_len);
	if (e->logs.slots)
		munmap(e->logs.slots, e->logs.map_len);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
