/* h2cap.h -- the shim's HTTP/2: framed events of a connection into its segment (OBS_REC_H2, abi/segment.h), its
 * outgoing bytes followed for traceparent injection (inject_h2.h), and that injection planned and finished.
 *
 * netcap.c owns the connection (struct shim_conn, its lock) and embeds a struct h2cap_conn in it; everything
 * here runs with that connection locked: open, close and h2cap__claim whole; once claimed, an event, the outgoing
 * bytes and injection with one direction's lock only (the other direction may run at once): id is fixed by then,
 * lost/dead are atomic, the rest is the outgoing direction's alone.  No allocation: the injection's buffers are a
 * small pool mapped once. */
#ifndef OBSPROBE_PRELOAD_H2CAP_H
#define OBSPROBE_PRELOAD_H2CAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "abi/exchange.h"
#include "abi/segment.h"
#include "lib/proto/h2.h"
#include "preload/inject.h"
#include "preload/inject_h2.h"

#define H2CAP_BUFS 8 /* injections being written at once per process (threads past that skip, counted no_slot) */
#define H2CAP_HELD 6 /* a client's answer records held until its request's are out (see h2cap__settle) */

struct h2cap_conn {
	uint64_t id;	     /* the connection id its records carry; 0 until its first record or h2cap__claim */
	uint8_t lost;	     /* a record could not be written: H2_EV_LOST owed for the directions not yet sent (bits,
			      * atomic) */
	uint8_t dead;	     /* LOST sent (or owed): nothing more of it goes out but the close (atomic) */
	uint8_t inj_pending; /* a traceparent went out in the HEADERS frame of @inj_stream (outgoing direction's) */
	uint8_t inj_sampled;
	uint8_t out_missed; /* written bytes went by unseen (another thread held the connection): set unlocked */
	uint32_t inj_stream;
	uint8_t inj_trace_id[16], inj_parent_id[8], inj_span_id[8];
	struct inject_h2_track out; /* the program's outgoing bytes */
	/* A client connection's request goes into the segment after its write returned, and its answer may be read
	 * (by another thread) before that: an answer to a request not yet recorded is held here, with what is read
	 * after it, until the request is recorded (the collector pairs them in the order records come) */
	uint8_t role;	    /* atomic: 1 a client (the preface went out), 2 a server (it came in), 0 not yet known */
	uint8_t held_any;   /* atomic: records are held */
	uint8_t nheld;	    /* the incoming direction's (or whole-lock holder's) */
	uint32_t out_top;   /* atomic: the highest stream whose request block went out whole (~0: wait for none) */
	uint32_t held_need; /* the stream whose request the held records wait for */
	uint32_t held_len[H2CAP_HELD];
	struct obs_seg_h2 held[H2CAP_HELD];
};

/* the connection (re)starts: a previous one's session is closed first */
void h2cap__open(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer, uint64_t now_ns);
/* its parser claimed it (whole lock held): its id is fixed now, before its directions are fed apart */
void h2cap__claim(struct h2cap_conn *h);
/* its parser's event (proto_sink.on_h2) */
void h2cap__event(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer,
		  const struct h2_ev *ev, const void *block);
/* records held that may go now (incoming direction's or whole lock held): true when some are still held */
bool h2cap__settle(struct h2cap_conn *h);
/* records are held */
static inline bool h2cap__holding(const struct h2cap_conn *h)
{
	return __atomic_load_n(&h->held_any, __ATOMIC_SEQ_CST);
}
/* the connection closed at @now_ns: the collector frees its session */
void h2cap__close(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer, uint64_t now_ns);
/* @len bytes the program wrote on it (@buf NULL: a gap) */
static inline void h2cap__out(struct h2cap_conn *h, const void *buf, size_t len)
{
	if (__atomic_load_n(&h->out_missed, __ATOMIC_RELAXED))
		h->out.state = INJH2_DEAD;
	if (h->out.state != INJH2_DEAD)
		inject_h2__track(&h->out, buf, len);
}
/* bytes it wrote were not seen (called without the connection's lock): frames are no longer followed */
static inline void h2cap__missed(struct h2cap_conn *h)
{
	__atomic_store_n(&h->out_missed, 1, __ATOMIC_RELAXED);
}

/* Plan a write of the program's @mine (@iovcnt, copied) on @fd while this thread serves @trace_id/@span_id (the
 * socket's room checked first, else counted no_room): true with
 * the write to make in @out->iov/iovcnt (@out->line: the program's bytes before our frame, @out->need: through
 * its end, @out->hdrlen: the bytes we add).  A buffer is held until h2cap__inject_done() (same thread). */
bool h2cap__inject_plan(struct h2cap_conn *h, int fd, const struct iovec *mine, int iovcnt, const uint8_t trace_id[16],
			const uint8_t span_id[8], bool sampled, struct inject_plan *out);
/* the planned write on @fd returned @r: what the program is told; the outcome counted, the buffer given back */
ssize_t h2cap__inject_done(struct h2cap_conn *h, int fd, ssize_t r);
/* give the held buffer back unused (the write was not made) */
void h2cap__inject_drop(void);

/* ---- inside TLS (netcap__tls_inject_plan's rules; the write built flat in tlscap.c's stable buffer) ---- */
struct netcap_tls_inj;
/* Plan an SSL write of the program's @buf (@n bytes, unread) with our field, built in @out (@cap; NULL: none):
 * the bytes to write (@n + the field) or 0, counted when the rules admitted it (no_slot, not_exact when @partial) */
size_t h2cap__tls_plan(struct h2cap_conn *h, const void *buf, size_t n, char *out, size_t cap, bool partial,
		       const uint8_t trace_id[16], const uint8_t span_id[8], bool sampled, struct netcap_tls_inj *meta);
/* the program's bytes in a planned @flat write (HTTP/1 or HTTP/2): iovecs into @mine (4), their count */
int h2cap__tls_mine(const struct netcap_tls_inj *meta, const char *flat, struct iovec mine[4]);
/* a planned write went out whole: the stream it opened carries our span id */
void h2cap__tls_done(struct h2cap_conn *h, const struct netcap_tls_inj *meta);

#endif
