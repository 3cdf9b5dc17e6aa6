/* h2_frame.h -- HTTP/2 framing (RFC 9113 4, 6) of one connection, both directions: bytes in, struct h2_ev out
 * (lib/proto/h2.h).  Pure and fixed-size (it runs in the shim and in a proto_conn's state): it keeps frame
 * heads and per-stream gRPC message boundaries, never payloads. */
#ifndef OBSPROBE_H2_FRAME_H
#define OBSPROBE_H2_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/h2.h"
#include "lib/proto/proto.h"

#define H2_FRAME_STREAMS 32 /* streams per direction whose gRPC message boundaries are followed */
#define H2_FRAME_RSTS 8	    /* resets the other direction may post before this one's next feed */

typedef void (*h2_emit_fn)(void *ctx, const struct h2_ev *ev, const void *block);

struct h2_msg_track {
	uint32_t stream; /* 0 = free */
	uint32_t left;	 /* bytes of the current message still to come; 0: a 5-byte prefix is next */
	uint8_t have;	 /* prefix bytes seen so far (0..4) */
	uint8_t prefix[5];
	uint8_t lost; /* a prefix fell in a gap or the stream began unseen: counts are unsure */
	uint8_t pad;
};

struct h2_frame_dir {
	uint8_t lost;		      /* H2_EV_LOST said: the rest of this direction is ignored */
	uint8_t preface_left;	      /* client preface bytes still to match (OUT from a client / IN at a server) */
	uint8_t head_have;	      /* bytes of the current frame head collected (9: in its payload) */
	uint8_t head[H2_FRAME_HEAD];  /* the frame head being collected */
	uint8_t type, flags, pad_len; /* the current frame's */
	uint8_t fixed;		      /* its fields before the body: pad length, priority, promised id, codes */
	uint32_t stream;	      /* the current frame's stream */
	uint32_t len, pos;	      /* its payload length, bytes of it seen */
	uint32_t acc, code;	      /* fixed fields collected: promised/last stream id, error code */
	uint8_t ent[6];		      /* SETTINGS: the entry cut by a read */
	uint8_t ent_have, has_table;  /* SETTINGS: its bytes; HEADER_TABLE_SIZE was in the frame */
	uint32_t table_size;	      /* SETTINGS: its value */
	uint8_t slot;		      /* DATA: its stream's msgs[] index, H2_FRAME_STREAMS: none */
	uint8_t unsure;		      /* DATA: its message count may be short */
	uint8_t block_end_stream, block_push; /* the open header block's */
	uint32_t msgs;			      /* DATA: message prefixes that began in it */
	uint32_t block_stream;		      /* != 0: inside a header block, CONTINUATION expected next */
	uint32_t promised;		      /* the open block's promised stream (PUSH_PROMISE) */
	struct h2_msg_track track[H2_FRAME_STREAMS];
	/* Written by this direction's feeds only and read (atomically) by the other's: the shim feeds the two
	 * directions of one connection from two threads at once (preload/netcap.c) */
	uint32_t errors; /* framing errors: garbage, impossible frames (each one is an H2_EV_LOST) */
	uint8_t sure;	 /* a whole frame or the preface was framed this way */
	/* streams the other direction reset (RST_STREAM ends both ways): their slots are freed at this
	 * direction's next feed.  One producer (the other direction), one consumer (this one); full: the
	 * slot stays until a new stream takes it */
	uint32_t rst[H2_FRAME_RSTS];
	uint32_t rst_head, rst_tail;
};

struct h2_frame {
	struct h2_frame_dir d[2]; /* by enum proto_dir; each written only by its own direction's feeds */
};

/* framing errors of both directions */
static inline uint64_t h2_frame__errors(const struct h2_frame *f)
{
	return (uint64_t)__atomic_load_n(&f->d[0].errors, __ATOMIC_RELAXED) +
	       __atomic_load_n(&f->d[1].errors, __ATOMIC_RELAXED);
}

/* a whole frame or the preface was framed, either way */
static inline bool h2_frame__sure(const struct h2_frame *f)
{
	return __atomic_load_n(&f->d[0].sure, __ATOMIC_RELAXED) || __atomic_load_n(&f->d[1].sure, __ATOMIC_RELAXED);
}

/* Could @len first bytes of a connection in direction @dir be HTTP/2?  YES for the client preface (or a
 * prefix of it: MAYBE when cut short), MAYBE for a plausible frame head (a connection seen mid-way). */
enum proto_guess h2_frame__detect(const void *buf, size_t len, enum proto_dir dir);
/* @preface: the bytes start at the client preface (detect said so); false: seen mid-way, frames start */
void h2_frame__init(struct h2_frame *f, bool preface, enum proto_dir preface_dir);
/* @len bytes captured of @total that crossed in @dir at @now_ns (len 0: a gap of @total): events out */
void h2_frame__feed(struct h2_frame *f, enum proto_dir dir, const void *buf, size_t len, uint64_t total,
		    uint64_t now_ns, h2_emit_fn emit, void *ctx);

#endif
