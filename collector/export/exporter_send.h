/* exporter_send.h -- the exporter's state, shared by its API (exporter.c) and its sender thread (exporter_send.c) */
#ifndef OBSPROBE_EXPORTER_SEND_H
#define OBSPROBE_EXPORTER_SEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "export/exporter.h"
#include "export/otlp.h"
#include "export/otlp_grpc.h"

#define RESP_MAX 16384 /* response body kept for partial_success; a longer one ends the transfer */

/* The OTLP signals: where each goes over OTLP/HTTP and OTLP/gRPC.  A new signal is one more entry (and its
 * queue and encoder). */
enum otlp_signal_id { SIG_TRACES, SIG_LOGS, SIG_METRICS, SIG_COUNT };
struct otlp_signal {
	const char *what;	 /* "spans", "log records": for messages */
	const char *http_path;	 /* appended to the endpoint's base URL */
	const char *grpc_method; /* the endpoint's scheme://authority + this */
};
extern const struct otlp_signal exporter_signals[SIG_COUNT];

/*
 * A ring of fixed-size items.  Producers copy into [head+count) under the exporter's mutex; the sender
 * "claims" the oldest items, encodes them straight from their slots without the lock (producers never
 * write a claimed slot: it still counts as occupied), then releases them before it touches the network.
 * When the ring empties, head goes back to 0, so only the slots of the highest fill level ever get
 * written: the mapped ring costs resident memory for what was queued at once, not for its capacity; and
 * when it empties after a backlog (a slow or absent receiver), the pages past one batch are given back.
 */
struct queue {
	const char *what; /* "spans" / "logs", for messages */
	char *slots;
	size_t item_size, cap;
	size_t head, count; /* occupied: [head, head+count) modulo cap */
	size_t claimed;	    /* the first `claimed` occupied items are being encoded */
	size_t touched;	    /* slots [0, touched) may be resident */
	size_t map_len;
	uint64_t first_ns; /* when the oldest unclaimed item arrived */
	char url[1024];
	uint64_t exported, queue_full, export_failed;
};

struct exporter {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* wakes the sender: a batch filled, first item queued, shutdown */
	pthread_t thread;
	bool started, stopping;
	uint64_t flush_deadline_ns;

	struct queue spans, logs;
	struct queue metrics;	  /* no slots: a push encodes a snapshot (o.metrics_collect); url and counters */
	uint64_t metrics_next_ns; /* the next periodic push (monotonic) */
	bool metrics_final_done;  /* the push at shutdown */
	uint64_t metric_pushes;
	struct exporter_opts o; /* with defaults filled in; pointers not kept */
	char host[256];
	char instance_id[EXPORTER_INSTANCE_ID_MAX + 1];
	struct otlp_host origin; /* .name = host, .instance_id = instance_id */
	bool json, gzip, grpc;

	/* the sender's own state (no lock needed) */
	CURL *curl;
	CURLM *multi;
	struct curl_slist *hdrs, *call_hdrs; /* call_hdrs: gRPC's, with this call's grpc-timeout */
	struct otlp_buf body, gz, frame;     /* the request: encoded, gzipped, gRPC-framed */
	long retry_after_ms;		     /* from the last response (Retry-After, RetryInfo), -1 = none */
	struct grpc_status gst;		     /* the last gRPC call's status */
	bool failing;			     /* the last batch failed: log recovery once */
	bool rejecting;			     /* a partial_success rejection was said already */
	char resp[RESP_MAX];		     /* the last response body, cut at RESP_MAX */
	size_t resp_len;
	bool resp_cut;
	uint64_t rng;

	/* under lock */
	uint64_t requests, retries;
	int last_status;
};

static inline uint64_t ms_ns(long ms)
{
	return (uint64_t)ms * 1000000ull;
}

/* The libcurl handles and the request headers (Content-Type, gzip, gRPC's, the user's "K=V" headers) of @e.
 * 0, -ENOMEM, or -EINVAL after one "otlp: header ..." line. */
int exporter_send__setup_curl(struct exporter *e);

/* gRPC: this call's headers (the fixed ones and grpc-timeout for @timeout_ms) set on the handle; 0 or -1 */
int exporter_send__grpc_headers(struct exporter *e, long timeout_ms);

/* gzip @in into @out (Content-Encoding: gzip, grpc-encoding: gzip); 0, -ENOMEM or -EIO */
int exporter_send__gzip(struct otlp_buf *out, const struct otlp_buf *in);

/* gRPC: the response message of e->resp out of its frame, gunzipped into @tmp (RESP_MAX bytes) when the receiver
 * compressed it; 0, or -1 when the body is not one message */
int exporter_send__grpc_message(struct exporter *e, uint8_t *tmp, const uint8_t **msg, size_t *len);

/* The sender thread (pthread_create start routine, @arg is the exporter): sends batches until the
 * exporter stops and its queues are empty or the flush deadline has passed. */
void *exporter_send__main(void *arg);

#endif
