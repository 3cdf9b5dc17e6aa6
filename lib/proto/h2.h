/* h2.h -- HTTP/2 as both capture paths see it: frames (lib/proto/http2.c, pure, in the shim and the
 * collector) become events; HPACK decoding and streams are the collector's (collector/proto/h2_session.c,
 * libnghttp2's inflater), because the shim must stay free of libnghttp2 and of allocation.
 *
 * The framer turns a connection's bytes, each direction on its own, into a sequence of struct h2_ev,
 * given to the sink's on_h2() (proto.h) in the order the bytes crossed the socket.  A header block
 * (HEADERS or PUSH_PROMISE and its CONTINUATIONs) comes as H2_EV_HEADERS pieces, as its bytes arrive
 * (padding and priority fields removed; the framer buffers nothing but frame heads): H2_EVF_MORE on every
 * piece but the last.  The receiver assembles the block and decodes it: HPACK state advances block by
 * block and every block of a direction must reach the decoder in order, or that state is lost (H2_EV_LOST). */
#ifndef OBSPROBE_H2_H
#define OBSPROBE_H2_H

#include <stdint.h>

/* the connection preface a client sends first (RFC 9113 3.4) */
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define H2_FRAME_HEAD 9
#define H2_BLOCK_MAX 65536 /* the longest header block the collector assembles; longer: its direction is lost */

enum h2_ev_type {
	H2_EV_HEADERS = 1,  /* a piece of a header block of @stream: @len bytes given with it; H2_EVF_MORE: the
			     * block goes on; on the last piece H2_EVF_END_STREAM as the HEADERS frame said */
	H2_EV_DATA = 2,	    /* a DATA frame: @len payload bytes (not passed on), H2_EVF_END_STREAM; @value: gRPC
			     * messages whose 5-byte prefix began in it (H2_EVF_MSGS_UNSURE: a prefix fell in a gap) */
	H2_EV_RST = 3,	    /* RST_STREAM of @stream, error code @value */
	H2_EV_GOAWAY = 4,   /* GOAWAY: last stream id @stream, error code @value */
	H2_EV_SETTINGS = 5, /* a SETTINGS frame (not an ACK) carrying SETTINGS_HEADER_TABLE_SIZE = @value */
	H2_EV_LOST = 6,	    /* framing lost in this direction (a gap over a frame head, a cut block, garbage):
			     * nothing more comes for @dir; HPACK state of @dir is gone */
	H2_EV_PREFACE = 7,  /* the client preface crossed in @dir (so the other side is the server) */
};

#define H2_EVF_END_STREAM 1u
#define H2_EVF_PUSH 2u	      /* H2_EV_HEADERS from a PUSH_PROMISE: @value is the promised stream */
#define H2_EVF_MSGS_UNSURE 4u /* H2_EV_DATA: the message count may be short */
#define H2_EVF_MORE 8u	      /* H2_EV_HEADERS: more pieces of this block follow */

struct h2_ev {
	uint8_t type;  /* enum h2_ev_type */
	uint8_t dir;   /* enum proto_dir: PROTO_IN the traced side read it, PROTO_OUT wrote it */
	uint8_t flags; /* H2_EVF_* */
	uint8_t pad;
	uint32_t stream;
	uint32_t len;	/* H2_EV_HEADERS: bytes of the block given with the event; H2_EV_DATA: payload bytes */
	uint32_t value; /* see the types */
	uint64_t ts_ns; /* CLOCK_MONOTONIC of the read/write that completed the frame */
};

_Static_assert(sizeof(struct h2_ev) == 24, "h2_ev layout (the shim sends it in its segment)");

#endif
