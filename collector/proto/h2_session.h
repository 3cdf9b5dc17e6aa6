/* h2_session.h -- one HTTP/2 connection in the collector: the framed events of lib/proto/http2.c (from the
 * eBPF path's demux, or from a shim's segment) through libnghttp2's HPACK inflater, one per direction,
 * into streams, and streams into exchanges (OBS_PROTO_GRPC when content-type is application/grpc, else
 * OBS_PROTO_HTTP2) given to a struct proto_sink exactly as lib/proto parsers give theirs:
 * on_request when a request's headers are decoded (with the context they carry: W3C, B3, grpc-trace-bin),
 * on_exchange when the stream ends (END_STREAM both ways, RST_STREAM, GOAWAY, close).
 *
 * Honest about what it cannot know: a connection first seen mid-way (no preface), or a direction whose
 * framing was lost, makes no guesses: header blocks that need the lost dynamic-table state are counted
 * (h2_session__stats) and their streams dropped, never decoded into wrong names. */
#ifndef OBSPROBE_H2_SESSION_H
#define OBSPROBE_H2_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/proto/h2.h"
#include "lib/proto/proto.h"

struct h2_session;

struct h2_session_stats {
	uint64_t blocks;	   /* header blocks decoded */
	uint64_t blocks_lost;	   /* header blocks not decoded: HPACK state lost or never seen, or a decode error */
	uint64_t streams_lost;	   /* streams that made no exchange because of that */
	uint64_t streams_overflow; /* streams beyond the concurrent-stream cap */
};

/* @local/@peer are copied into every exchange; @sink/@ctx receive them.  NULL on allocation failure. */
struct h2_session *h2_session__new(const struct proto_sink *sink, void *ctx, const struct obs_addr *local,
				   const struct obs_addr *peer);
/* one event of lib/proto/http2.c, with its header block for H2_EV_HEADERS */
void h2_session__event(struct h2_session *s, const struct h2_ev *ev, const void *block);
/* the connection closed at @now_ns: open streams end (incomplete) */
void h2_session__close(struct h2_session *s, uint64_t now_ns);
void h2_session__stats(const struct h2_session *s, struct h2_session_stats *out);
void h2_session__free(struct h2_session *s);

#endif
