/* exporter_send.c -- the exporter's sender thread: batches encoded, gzipped and POSTed over libcurl (OTLP/HTTP, or
 * OTLP/gRPC's unary calls over HTTP/2), with retries */
#include <ctype.h>
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
#include <zlib.h>

#include "export/exporter_send.h"
#include "base/log.h"
#include "export/otlp.h"
#include "export/otlp_json.h"
#include "export/otlp_grpc.h"
#include "export/otlpresp.h"
#include "lib/clock.h"

const struct otlp_signal exporter_signals[SIG_COUNT] = {
	[SIG_TRACES] = { "spans", "/v1/traces", "/opentelemetry.proto.collector.trace.v1.TraceService/Export" },
	[SIG_LOGS] = { "log records", "/v1/logs", "/opentelemetry.proto.collector.logs.v1.LogsService/Export" },
	[SIG_METRICS] = { "metric data points", "/v1/metrics",
			  "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" },
};

/* ---- HTTP ------------------------------------------------------------------------------------------- */

static bool curl_error_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_LOGIN_DENIED:
		return false;
	default:
		return true;
	}
}

static bool status_retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

enum send_result { SEND_OK, SEND_RETRY, SEND_FAIL };

static bool past_flush_deadline(struct exporter *e)
{
	bool past;

	pthread_mutex_lock(&e->lock);
	past = e->stopping && mono_ns() >= e->flush_deadline_ns;
	pthread_mutex_unlock(&e->lock);
	return past;
}

/* curl_easy_perform(), but through a multi handle polled every 100 ms, so that the shutdown deadline
 * cuts a hanging request short instead of waiting out its timeout */
static CURLcode perform(struct exporter *e)
{
	CURLcode rc = CURLE_GOT_NOTHING;
	CURLMsg *msg;
	int running = 1, left;
	bool done = false;

	if (curl_multi_add_handle(e->multi, e->curl) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (!done) { /* bounded: CURLOPT_TIMEOUT_MS ends the transfer */
		if (curl_multi_perform(e->multi, &running) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		while ((msg = curl_multi_info_read(e->multi, &left))) {
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == e->curl) {
				rc = msg->data.result;
				done = true;
			}
		}
		if (done || !running)
			break;
		if (past_flush_deadline(e)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		curl_multi_poll(e->multi, NULL, 0, 100, NULL);
	}
	curl_multi_remove_handle(e->multi, e->curl);
	return rc;
}

/* A gRPC call's outcome from its HTTP status, headers and trailers (the OTLP retry rules) */
static enum send_result grpc_result(struct exporter *e, long status, char *why, size_t whylen)
{
	char *ct = NULL, nb[16];
	long ver = 0;
	int code = e->gst.code;
	const char *name;

	curl_easy_getinfo(e->curl, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(e->curl, CURLINFO_CONTENT_TYPE, &ct);
	if (ver != CURL_HTTP_VERSION_2_0) {
		snprintf(why, whylen,
			 "the receiver did not answer HTTP/2 (is it OTLP/gRPC? OTLP/HTTP listens on 4318)");
		return SEND_FAIL;
	}
	if (status != 200 && code < 0) { /* the mapping is only for an answer without grpc-status */
		code = otlp_grpc__from_http(status);
		snprintf(why, whylen, "HTTP %ld (gRPC %s)", status, otlp_grpc__code_name(code, nb, sizeof(nb)));
		return otlp_grpc__retryable(code, false) ? SEND_RETRY : SEND_FAIL;
	}
	if (status != 200 && code == GRPC_OK)
		code = GRPC_UNKNOWN; /* an intermediary's error with a status that says otherwise */
	if (status == 200 && e->resp_cut) {
		snprintf(why, whylen, "the response is longer than %d bytes", RESP_MAX);
		return SEND_FAIL;
	}
	if (status == 200 && (code < 0 || !ct || strncasecmp(ct, "application/grpc", 16))) {
		snprintf(why, whylen, "%s",
			 code < 0 ? "the receiver answered without a grpc-status"
				  : "the answer is not application/grpc");
		return SEND_FAIL;
	}
	if (code == GRPC_OK)
		return SEND_OK;
	name = otlp_grpc__code_name(code, nb, sizeof(nb));
	snprintf(why, whylen, "gRPC %s%s%.160s%s", name, e->gst.msg[0] ? ": " : "", e->gst.msg,
		 e->gst.bad_details ? " (grpc-status-details-bin does not decode)" : "");
	e->retry_after_ms = e->gst.retry_delay_ms;
	return otlp_grpc__retryable(code, e->gst.retry_delay_ms >= 0) ? SEND_RETRY : SEND_FAIL;
}

static enum send_result http_post(struct exporter *e, const char *url, const void *body, size_t len, long timeout_ms,
				  char *why, size_t whylen)
{
	long status = 0;
	CURLcode rc;

	e->retry_after_ms = -1;
	e->resp_len = 0;
	e->resp_cut = false;
	otlp_grpc__status_reset(&e->gst);
	if (e->grpc && exporter_send__grpc_headers(e, timeout_ms)) {
		snprintf(why, whylen, "out of memory");
		return SEND_RETRY;
	}
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	rc = perform(e);
	if (rc == CURLE_WRITE_ERROR && e->resp_cut)
		rc = CURLE_OK; /* the status came; a body past RESP_MAX is not needed (gRPC: its trailers are) */
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(why, whylen, "shutdown deadline reached");
		return SEND_FAIL;
	}
	if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_WEIRD_SERVER_REPLY || (e->grpc && rc == CURLE_HTTP2)) {
		/* the URL was checked to be http(s): this is an answer that is not HTTP/1.x (HTTP/0.9 refused), or
		 * (gRPC) not HTTP/2 */
		snprintf(why, whylen, "%s",
			 e->grpc ? "the receiver did not answer HTTP/2 (is it OTLP/gRPC? OTLP/HTTP listens on 4318)"
				 : "the receiver did not answer HTTP (is it OTLP/HTTP? OTLP/gRPC listens on 4317)");
		pthread_mutex_lock(&e->lock);
		e->last_status = -1;
		pthread_mutex_unlock(&e->lock);
		return SEND_FAIL;
	}
	if (rc != CURLE_OK) {
		/* libcurl's HTTP/2 says "nothing" when an HTTP/1.x server answers the preface: a hint, and retried
		 * as a gRPC client would (UNAVAILABLE) */
		snprintf(why, whylen, "%s%s", curl_easy_strerror(rc),
			 e->grpc && rc == CURLE_GOT_NOTHING ? " (is it an HTTP/2 server? OTLP/gRPC listens on 4317)"
							    : "");
		pthread_mutex_lock(&e->lock);
		e->last_status = -1;
		pthread_mutex_unlock(&e->lock);
		return curl_error_retryable(rc) ? SEND_RETRY : SEND_FAIL;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	pthread_mutex_lock(&e->lock);
	e->last_status = (int)status;
	pthread_mutex_unlock(&e->lock);
	if (e->grpc)
		return grpc_result(e, status, why, whylen);
	if (status >= 200 && status < 300)
		return SEND_OK;
	snprintf(why, whylen, "HTTP %ld", status);
	return status_retryable(status) ? SEND_RETRY : SEND_FAIL;
}

/* ---- the sender ------------------------------------------------------------------------------------- */

static uint64_t jitter(struct exporter *e, uint64_t ms)
{
	/* xorshift64: the delay is ms/2 .. ms, so many collectors do not retry in lockstep */
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return ms / 2 + (ms ? e->rng % (ms / 2 + 1) : 0);
}

/* Wait until @until_ns (monotonic) or a shutdown; called with the lock held. */
static void wait_until(struct exporter *e, uint64_t until_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(until_ns / 1000000000ull),
		.tv_nsec = (long)(until_ns % 1000000000ull),
	};

	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

/* A 2xx can carry partial_success: how many of the @n items the receiver turned down (said once, then with -v).
 * A body that does not decode is a full success: the status says so. */
static size_t rejected_items(struct exporter *e, struct queue *q, size_t n)
{
	char msg[256];
	char *ct = NULL;
	uint64_t rej = 0;
	bool json = e->json;
	uint8_t tmp[RESP_MAX];
	const uint8_t *body = (const uint8_t *)e->resp;
	size_t len = e->resp_len;
	int bad = e->resp_cut;

	if (!e->grpc && curl_easy_getinfo(e->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		json = !strncasecmp(ct, "application/json", 16);
	if (e->grpc)
		bad = bad || exporter_send__grpc_message(e, tmp, &body, &len);
	if (bad || otlpresp__parse(body, len, json, &rej, msg, sizeof(msg))) {
		vlog("otlp: %s answered %s with a body that is not an export response: taken as accepted", q->url,
		     e->grpc ? "OK" : "2xx");
		return 0;
	}
	if (!rej) {
		if (msg[0])
			vlog("otlp: %s accepted every one of %zu %s, with a warning: %s", q->url, n, q->what, msg);
		return 0;
	}
	if (rej > n)
		rej = n;
	if (!e->rejecting)
		elog("otlp: %s rejected %llu of %zu %s (partial success: %s); they are counted as export_failed "
		     "(-v shows every such answer)",
		     q->url, (unsigned long long)rej, n, q->what, msg[0] ? msg : "no reason given");
	else
		vlog("otlp: %s rejected %llu of %zu %s: %s", q->url, (unsigned long long)rej, n, q->what, msg);
	e->rejecting = true;
	return (size_t)rej;
}

/* Send one encoded batch of @n items with retries; returns true if the receiver took it, with the number of
 * items it turned down all the same (partial success: never retried) in @rejected. */
static bool send_batch(struct exporter *e, struct queue *q, size_t n, size_t *rejected)
{
	const struct otlp_buf *body = e->grpc ? &e->frame : e->gzip ? &e->gz : &e->body;
	uint64_t start = mono_ns(), budget_end = start + ms_ns(e->o.retry_budget_ms),
		 backoff = (uint64_t)e->o.backoff_ms;
	char why[256] = "";
	enum send_result r;

	for (int attempt = 1;; attempt++) {
		long timeout = e->o.timeout_ms;
		uint64_t now = mono_ns(), delay_ms, deadline, wake;
		bool stopping;

		pthread_mutex_lock(&e->lock);
		stopping = e->stopping;
		deadline = stopping && e->flush_deadline_ns < budget_end ? e->flush_deadline_ns : budget_end;
		if (!stopping || now < e->flush_deadline_ns) {
			e->requests++;
			e->retries += attempt > 1;
		}
		pthread_mutex_unlock(&e->lock);
		if (stopping) {
			if (now >= e->flush_deadline_ns) {
				snprintf(why, sizeof(why), "%s", "shutdown deadline reached");
				break;
			}
			if ((long)((e->flush_deadline_ns - now) / 1000000) < timeout)
				timeout = (long)((e->flush_deadline_ns - now) / 1000000) + 1;
		}
		r = http_post(e, q->url, body->data, body->len, timeout, why, sizeof(why));
		if (r == SEND_OK) {
			*rejected = rejected_items(e, q, n);
			if (e->failing)
				ilog("otlp: export to %s works again", q->url);
			e->failing = false;
			return true;
		}
		vlog("otlp: export of %zu %s to %s: %s (attempt %d)", n, q->what, q->url, why, attempt);
		if (r == SEND_FAIL || attempt >= e->o.max_attempts)
			break;
		/* the receiver's Retry-After wins over our backoff; the retry budget bounds both */
		if (e->retry_after_ms >= 0)
			delay_ms = (uint64_t)(e->retry_after_ms > 3600000 ? 3600000 : e->retry_after_ms);
		else
			delay_ms = jitter(e, backoff);
		backoff = backoff * 2 > (uint64_t)e->o.max_backoff_ms ? (uint64_t)e->o.max_backoff_ms : backoff * 2;
		wake = mono_ns() + ms_ns((long)delay_ms);
		if (wake >= deadline) {
			snprintf(why + strlen(why), sizeof(why) - strlen(why), ", no time left to retry");
			break;
		}
		/* sleep, but wake for a shutdown and give up if the retry would land past the flush deadline */
		pthread_mutex_lock(&e->lock);
		while (mono_ns() < wake && !(e->stopping && wake >= e->flush_deadline_ns))
			wait_until(e, wake);
		stopping = e->stopping && wake >= e->flush_deadline_ns;
		pthread_mutex_unlock(&e->lock);
		if (stopping) {
			snprintf(why + strlen(why), sizeof(why) - strlen(why), ", shutdown deadline reached");
			break;
		}
	}
	if (!e->failing)
		elog("otlp: export to %s failed: %s; %s are dropped and counted as export_failed until it works "
		     "(-v shows every attempt)",
		     q->url, why, q->what);
	e->failing = true;
	return false;
}

/* e->body encoded: gzip it when gzip is on, and (gRPC) make it one length-prefixed message, flagged when compressed */
static int finish_body(struct exporter *e)
{
	const struct otlp_buf *m = e->gzip ? &e->gz : &e->body;
	uint8_t prefix[GRPC_PREFIX];
	int err = e->gzip ? exporter_send__gzip(&e->gz, &e->body) : 0;

	if (err || !e->grpc)
		return err;
	otlp_grpc__prefix(prefix, e->gzip, (uint32_t)m->len);
	otlp_buf__reset(&e->frame);
	err = otlp_buf__append(&e->frame, prefix, sizeof(prefix));
	return err ? err : otlp_buf__append(&e->frame, m->data, m->len);
}

static int encode(struct exporter *e, struct queue *q, const void *items, size_t n)
{
	int err;

	otlp_buf__reset(&e->body);
	if (q == &e->spans)
		err = e->json ? otlp__traces_json(&e->body, items, n, &e->origin)
			      : otlp__traces_pb(&e->body, items, n, &e->origin);
	else
		err = e->json ? otlp__logs_json(&e->body, items, n, &e->origin)
			      : otlp__logs_pb(&e->body, items, n, &e->origin);
	return err ? err : finish_body(e);
}

/* An empty ring gives back the pages past its first @keep slots (they read as zeros when touched again). */
static void queue_release(struct queue *q, size_t keep)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off;

	if (q->touched <= keep)
		return;
	off = (keep * q->item_size + page - 1) / page * page;
	if (off < q->map_len && !madvise(q->slots + off, q->map_len - off, MADV_DONTNEED))
		q->touched = keep;
}

/* Claim, encode, release and send the oldest batch of @q; called and returns with the lock held. */
static void export_batch(struct exporter *e, struct queue *q)
{
	size_t n = q->count, head = q->head, rejected = 0;
	bool ok;
	int err;

	if (n > (size_t)e->o.batch_max)
		n = (size_t)e->o.batch_max;
	if (n > q->cap - head) /* the encoders want a contiguous array: the wrapped rest goes next time */
		n = q->cap - head;
	q->claimed = n;
	pthread_mutex_unlock(&e->lock);

	err = encode(e, q, q->slots + head * q->item_size, n);

	pthread_mutex_lock(&e->lock);
	q->head = (q->head + n) % q->cap;
	q->count -= n;
	q->claimed = 0;
	if (!q->count) {
		q->head = 0;
		queue_release(q, (size_t)e->o.batch_max);
	}
	pthread_mutex_unlock(&e->lock);

	if (err) {
		elog("otlp: encoding %zu %s: %s", n, q->what, strerror(-err));
		ok = false;
	} else {
		ok = send_batch(e, q, n, &rejected);
	}

	pthread_mutex_lock(&e->lock);
	if (ok) {
		q->exported += n - rejected;
		q->export_failed += rejected;
	} else {
		q->export_failed += n;
	}
}

/* Push the metrics once: encode what the producer gives now, send it like a batch (its items are data points);
 * called and returns with the lock held. */
static void export_metrics(struct exporter *e)
{
	size_t n = 0, rejected = 0;
	bool ok = false;
	int err;

	e->metric_pushes++;
	pthread_mutex_unlock(&e->lock);
	otlp_buf__reset(&e->body);
	err = e->o.metrics_collect(e->o.metrics_ctx, &e->body, e->json, &e->origin, &n);
	if (!err && n)
		err = finish_body(e);
	if (err)
		elog("otlp: encoding %zu metric data points: %s", n, strerror(-err));
	else if (n)
		ok = send_batch(e, &e->metrics, n, &rejected);
	pthread_mutex_lock(&e->lock);
	if (ok) {
		e->metrics.exported += n - rejected;
		e->metrics.export_failed += rejected;
	} else {
		e->metrics.export_failed += n;
	}
}

static bool batch_ready(const struct exporter *e, const struct queue *q, uint64_t now)
{
	if (!q->count)
		return false;
	return q->count >= (size_t)e->o.batch_max || e->stopping || now >= q->first_ns + ms_ns(e->o.batch_delay_ms);
}

void *exporter_send__main(void *arg)
{
	struct exporter *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		uint64_t now = mono_ns(), wake = UINT64_MAX;
		bool spans_ready, logs_ready, metrics_due;

		if (e->stopping && now >= e->flush_deadline_ns)
			break;
		spans_ready = batch_ready(e, &e->spans, now);
		logs_ready = batch_ready(e, &e->logs, now);
		/* periodically, and once at shutdown when the spans and log records queued then are out */
		metrics_due = e->o.metrics_collect && !e->metrics_final_done &&
			      (e->stopping ? !e->spans.count && !e->logs.count : now >= e->metrics_next_ns);
		if (spans_ready)
			export_batch(e, &e->spans);
		if (logs_ready)
			export_batch(e, &e->logs);
		if (metrics_due) {
			e->metrics_final_done = e->stopping;
			export_metrics(e);
			e->metrics_next_ns = mono_ns() + ms_ns(e->o.metrics_interval_ms);
		}
		if (spans_ready || logs_ready || metrics_due)
			continue;
		if (e->stopping) /* and nothing queued */
			break;
		if (e->o.metrics_collect)
			wake = e->metrics_next_ns;
		if (e->spans.count && e->spans.first_ns + ms_ns(e->o.batch_delay_ms) < wake)
			wake = e->spans.first_ns + ms_ns(e->o.batch_delay_ms);
		if (e->logs.count && e->logs.first_ns + ms_ns(e->o.batch_delay_ms) < wake)
			wake = e->logs.first_ns + ms_ns(e->o.batch_delay_ms);
		if (wake == UINT64_MAX)
			pthread_cond_wait(&e->cond, &e->lock);
		else
			wait_until(e, wake);
	}
	/* past the flush deadline: what is left was never sent */
	e->spans.export_failed += e->spans.count;
	e->logs.export_failed += e->logs.count;
	if (e->spans.count || e->logs.count)
		elog("otlp: shutdown: %zu spans and %zu log records not sent in %d ms, counted as export_failed",
		     e->spans.count, e->logs.count, e->o.flush_timeout_ms);
	if (e->o.metrics_collect && !e->metrics_final_done)
		elog("otlp: shutdown: the final metrics push was not made in %d ms", e->o.flush_timeout_ms);
	e->spans.count = e->logs.count = 0;
	e->spans.head = e->logs.head = 0;
	pthread_mutex_unlock(&e->lock);
	return NULL;
}
