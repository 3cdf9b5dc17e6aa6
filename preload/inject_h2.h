/* inject_h2.h -- the shim's pure byte logic for HTTP/2: traceparent put into an outgoing HEADERS frame.
 *
 * Buffers in, results out (no I/O, no globals), like inject.h.  A connection's outgoing bytes (what the program
 * wrote, in order) go through inject_h2__track(): it follows the client preface and the frame boundaries, the
 * highest stream a HEADERS frame opened, and whether the program sends a traceparent of its own (the name as
 * literal bytes or Huffman-coded, anywhere in a header block: never inject on that connection again).
 *
 * inject_h2__plan() looks at one write (its first bytes copied flat) on a connection whose preface this process
 * wrote: the first HEADERS frame in it that opens a new client stream gets a literal header field without
 * indexing (RFC 7541 6.2.2: 0x00, name "traceparent", the value; no Huffman) after its block fragment (before its
 * padding), its length raised.  No peer's dynamic table changes.  The frame is rebuilt whole in the plan and
 * replaces the program's frame in the iovecs; inject_h2__count() tells the program its own bytes. */
#ifndef OBSPROBE_INJECT_H2_H
#define OBSPROBE_INJECT_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "lib/proto/h2.h"
#include "preload/inject.h"

#define INJH2_FRAME_MAX 16384 /* the minimum SETTINGS_MAX_FRAME_SIZE: our frame never grows past it */
#define INJH2_FIELD_LEN 69    /* 0x00, 11, "traceparent", 55, the 55-byte value */
#define INJH2_COPY_MAX (2 * (H2_FRAME_HEAD + INJH2_FRAME_MAX)) /* bytes of a write looked at */
#define INJH2_TAIL 10 /* header block bytes kept to find the name across frame and write bounds */

/* the Huffman code (RFC 7541 Appendix B) of "traceparent", EOS-padded: how a name literal carries it */
#define INJH2_NAME_HUFF "\x4d\x83\x21\x6b\x1d\x85\xa9\x3f"
#define INJH2_NAME_HUFF_LEN 8

enum injh2_state { INJH2_PREFACE = 0, INJH2_FRAMES = 1, INJH2_DEAD = 2 };

struct inject_h2_track {
	uint8_t state;	      /* enum injh2_state: DEAD when the bytes stopped being HTTP/2 we can follow */
	uint8_t preface_have; /* client preface bytes matched */
	uint8_t head_have;    /* bytes of the current frame head collected */
	uint8_t head[H2_FRAME_HEAD];
	uint8_t in_block; /* a header block without END_HEADERS is open: CONTINUATIONs follow */
	uint8_t scan;	  /* the current frame's payload is header block bytes */
	uint8_t own_tp;	  /* the program sent a traceparent on this connection */
	uint8_t ntail;
	uint8_t tail[INJH2_TAIL];
	uint32_t left;	     /* payload bytes of the current frame still to come */
	uint32_t max_stream; /* the highest stream a HEADERS frame opened */
};

/* what inject_h2__plan() found */
enum injh2_result {
	INJH2_OK = 0,	     /* planned */
	INJH2_NONE,	     /* no HEADERS frame opening a client stream starts in the bytes (not counted) */
	INJH2_OWN,	     /* the program's own traceparent is on this connection (not counted, remembered) */
	INJH2_CONTINUATION,  /* the block goes on in CONTINUATION frames: skipped, counted */
	INJH2_TOO_BIG,	     /* the frame would pass 16384 bytes: skipped, counted */
	INJH2_NOT_WHOLE,     /* the frame does not end in this write (or past INJH2_COPY_MAX): skipped, counted */
	INJH2_NOT_FOLLOWING, /* not a connection proven HTTP/2 from its preface, or mid-frame head (not counted) */
};

struct inject_h2_plan {
	struct iovec iov[INJECT_IOV_MAX]; /* the write to make: the program's bytes with our frame for its own */
	int iovcnt;
	size_t at;   /* the program's offset of the frame */
	size_t plen; /* the program's frame (head included) */
	size_t flen; /* ours: plen + INJH2_FIELD_LEN */
	uint32_t stream;
	uint8_t frame[H2_FRAME_HEAD + INJH2_FRAME_MAX];
};

void inject_h2__track_init(struct inject_h2_track *t);
/* @len bytes the program wrote (in order); @buf NULL: a gap of @len bytes nobody saw (following ends) */
void inject_h2__track(struct inject_h2_track *t, const uint8_t *buf, size_t len);
/* the client preface went out and frames are followed */
static inline bool inject_h2__proven(const struct inject_h2_track *t)
{
	return t->state == INJH2_FRAMES;
}

/* Plan the write of @iov (@iovcnt, at most INJECT_IOV_MAX - 2) whose first @copylen bytes are in @copy, the
 * connection's outgoing bytes so far followed by @t.  The iov_base pointers are copied, never read. */
enum injh2_result inject_h2__plan(struct inject_h2_plan *p, const struct inject_h2_track *t, const struct iovec *iov,
				  int iovcnt, const uint8_t *copy, size_t copylen, const uint8_t trace_id[16],
				  const uint8_t span_id[8], bool sampled);

/* The real call took @r bytes of the planned write: what the program is told.  *@cut is set when the call ended
 * inside our frame (then *@sent of its bytes are on the wire and the program is told p->at). */
ssize_t inject_h2__count(const struct inject_h2_plan *p, ssize_t r, bool *cut, size_t *sent);

#endif
