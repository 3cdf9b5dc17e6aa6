/* httpconn.h -- one TCP connection's HTTP/1.x exchanges: request/response pairing over two parsers.
 *
 * Shared by both capture paths: the collector keeps one per (pid, fd) for the bytes eBPF captured,
 * the shim keeps one per socket inside the process.  It never allocates and does no I/O: bytes and
 * timestamps go in, callbacks come out.
 *   on_request   a request head is complete.  The caller gives the exchange its ids (trace, span,
 *                parent, sampled) from the extracted context @in and what the thread is doing.
 *   on_exchange  the response ended (or the connection closed first: status 0, incomplete).
 * The role is learnt from the first request seen: read → this side serves, written → it is a client.
 * Pipelined requests wait in a small queue for their responses, in order. */
#ifndef OBSPROBE_HTTPCONN_H
#define OBSPROBE_HTTPCONN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/proto/http.h"
#include "lib/tracectx.h"

#define HTTPCONN_PIPELINE     4
#define HTTPX_TARGET_MAX      384
#define HTTPX_HOST_MAX	      96
#define HTTPX_UA_MAX	      128
#define HTTPX_TRACESTATE_MAX  192

enum httpconn_dir { HTTPCONN_IN = 0, HTTPCONN_OUT = 1 };
enum httpconn_role { HTTPCONN_UNKNOWN = 0, HTTPCONN_SERVER = 1, HTTPCONN_CLIENT = 2 };

struct httpx_addr {
	uint8_t family; /* AF_INET / AF_INET6 / 0 = unknown */
	uint8_t pad;
	uint16_t port;	/* host order */
	uint8_t addr[16];
};

/* One request/response: what a span and the http_*_request_duration_seconds metrics are made of.
 * Fixed size and pointer-free: the shim sends it through the segment as is. */
struct http_exchange {
	uint8_t kind;	     /* 2 server, 3 client (the OTLP SpanKind numbers) */
	uint8_t sampled;     /* the decision for this trace */
	uint8_t parent_remote; /* the parent came from headers (or another process) */
	uint8_t incomplete;  /* framing lost or the connection closed before the response ended */
	uint8_t truncated;   /* a field was cut to fit */
	uint8_t version_minor;
	uint16_t status;     /* 0: no response */
	int32_t pid, tid;    /* the thread that read (server) or wrote (client) the request */
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
	uint64_t request_bytes, response_bytes; /* bodies */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* zero: a root span */
	struct httpx_addr local, peer;
	char method[HTTP_METHOD_MAX];
	char target[HTTPX_TARGET_MAX];
	char host[HTTPX_HOST_MAX];
	char user_agent[HTTPX_UA_MAX];
	char tracestate[HTTPX_TRACESTATE_MAX];
};

struct httpconn_cb {
	void (*on_request)(void *ctx, struct http_exchange *x, const struct trace_ctx *in);
	void (*on_exchange)(void *ctx, struct http_exchange *x);
};

struct httpconn {
	uint8_t role;		/* enum httpconn_role */
	uint8_t npending;
	uint8_t head;		/* index of the oldest pending exchange */
	uint8_t resp_interim;	/* the response being parsed is a 1xx */
	uint64_t req_begin_ns;
	uint64_t now_ns;	/* time of the bytes being fed */
	uint64_t dropped;	/* requests that found the queue full, responses with no request */
	struct httpx_addr local, peer;
	const struct httpconn_cb *cb;
	void *cb_ctx;
	struct ctx_extractor ctx;
	struct http_exchange pending[HTTPCONN_PIPELINE];
	struct http_parser parser[2]; /* [HTTPCONN_IN], [HTTPCONN_OUT] */
};

void httpconn__init(struct httpconn *c, const struct httpconn_cb *cb, void *cb_ctx);

/* Bytes that crossed the socket in direction @dir at @time_ns: @len captured of @total. */
void httpconn__data(struct httpconn *c, enum httpconn_dir dir, const void *buf, size_t len, uint64_t total,
		    uint64_t time_ns);

/* The socket closed: pending exchanges end (status 0 if unanswered). */
void httpconn__close(struct httpconn *c, uint64_t time_ns);

/* The exchange whose request is the latest one seen (the one being served), or NULL. */
const struct http_exchange *httpconn__current(const struct httpconn *c);

#endif
