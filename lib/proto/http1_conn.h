/* http1_conn.h -- one TCP connection's HTTP/1.x exchanges: request/response pairing over two parsers.
 *
 * The state behind lib/proto/http1.c (struct proto_conn holds one when HTTP/1 claimed the connection).
 * It never allocates and does no I/O: bytes and timestamps go in, exchanges come out through the sink.
 *   on_request   a request head is complete: the receiver gives the exchange its ids from the extracted
 *                context @in and what the thread is doing.
 *   on_exchange  the response ended (or the connection closed first: status 0, incomplete).
 * The role is learnt from the first request seen: read -> this side serves, written -> it is a client.
 * Pipelined requests wait in a small queue for their responses, in order. */
#ifndef OBSPROBE_HTTP1_CONN_H
#define OBSPROBE_HTTP1_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/proto/http1_parser.h"
#include "lib/proto/proto.h"
#include "lib/tracectx.h"

#define HTTP1_PIPELINE 4

enum http1_role { HTTP1_UNKNOWN = 0, HTTP1_SERVER = 1, HTTP1_CLIENT = 2 };

struct http1_conn {
	uint8_t role; /* enum http1_role */
	uint8_t npending;
	uint8_t head;	      /* index of the oldest pending exchange */
	uint8_t resp_interim; /* the response being parsed is a 1xx */
	uint64_t req_begin_ns;
	uint64_t now_ns;  /* time of the bytes being fed */
	uint64_t dropped; /* requests that found the queue full, responses with no request */
	const struct proto_sink *cb;
	void *cb_ctx;
	struct ctx_extractor ctx;
	struct obs_exchange pending[HTTP1_PIPELINE];
	struct http_parser parser[2]; /* [PROTO_IN], [PROTO_OUT] */
};

void http1_conn__init(struct http1_conn *c, const struct proto_sink *cb, void *cb_ctx);

/* Bytes that crossed the socket in direction @dir at @time_ns: @len captured of @total. */
void http1_conn__data(struct http1_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total,
		      uint64_t time_ns);

/* The socket closed: pending exchanges end (status 0 if unanswered). */
void http1_conn__close(struct http1_conn *c, uint64_t time_ns);

/* The outgoing side is between HTTP/1 requests of a client, and nothing so far failed to parse: a request
 * head written now may carry one more header (the shim's traceparent injection). */
bool http1_conn__injectable(const struct http1_conn *c);

#endif
