/* conn.h -- one connection's captured bytes, whatever it speaks: detection over the registry, then its parser.
 *
 * Used the same way by both capture paths (the collector keeps one per socket eBPF copies bytes of, the
 * shim one per socket of its process).  Fixed size, no malloc, no I/O.
 *
 * Detection: the first chunks (one read or write each) are shown to every registered protocol's detect();
 * the first that is sure claims the connection (else the first that says maybe) and its parser is fed
 * from that chunk on.  The verdict "capture off" comes when the connection earned PROTO_STRIKES strikes
 * before its parser was sure of it: a strike is a chunk no protocol claimed, a gap before any claimed, or
 * a parse error of the claiming parser.  A gap that follows a strike in its direction is the rest of those
 * bytes: it is no strike, and no parser is told of it.  (For HTTP/1 alone this is the rule of old: two parse errors
 * before the first whole message.)  From then on its bytes are ignored; the caller stops copying them. */
#ifndef OBSPROBE_CONN_H
#define OBSPROBE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/proto/proto.h"

#define PROTO_STATE_MAX 10656 /* the largest parser state (HTTP/1: two parsers, 4 pipelined exchanges: 10656) */
#define PROTO_STRIKES 2

enum proto_verdict {
	PROTO_GOING = 0,   /* nothing new */
	PROTO_CLAIMED = 1, /* this call chose the protocol (proto_conn.proto): its caplen applies from now */
	PROTO_OFF = 2,	   /* not a protocol we parse, or its parser gave up: stop capturing this socket */
};

struct proto_conn {
	const struct proto *proto; /* NULL while detecting */
	uint8_t off;		   /* the verdict was PROTO_OFF: bytes are ignored */
	uint8_t strikes;	   /* before the claim (the parser's errors count after it) */
	uint8_t struck;		   /* bit per direction: its last chunk was a strike */
	uint8_t pad;
	struct obs_addr local, peer; /* copied into each exchange; set them before bytes arrive */
	const struct proto_sink *sink;
	void *ctx;
	_Alignas(16) uint8_t state[PROTO_STATE_MAX];
};

void proto_conn__init(struct proto_conn *c, const struct proto_sink *sink, void *ctx);

/* Bytes that crossed the socket in direction @dir at @now_ns (CLOCK_MONOTONIC): @len captured of @total
 * (a gap when @len is 0).  Exchanges come out through the sink from inside. */
enum proto_verdict proto_conn__feed(struct proto_conn *c, enum proto_dir dir, const void *buf, size_t len,
				    uint64_t total, uint64_t now_ns);
/* @n bytes crossed the socket but were not captured */
enum proto_verdict proto_conn__gap(struct proto_conn *c, enum proto_dir dir, uint64_t n, uint64_t now_ns);

/* The socket closed: pending exchanges end. */
void proto_conn__close(struct proto_conn *c, uint64_t now_ns);

/* the claiming parser's state (proto->state_size bytes), NULL while detecting */
static inline void *proto_conn__state(struct proto_conn *c)
{
	return c->proto ? c->state : NULL;
}

#endif
