/* fuzz-srcs: lib/proto/h2_frame.c lib/tracectx.c collector/proto/h2_session.c collector/proto/h2_fields.c */
/* fuzz_h2_session.c -- one HTTP/2 connection's bytes through the framer (lib/proto/h2_frame.c) and the
 * collector's session (HPACK, streams: collector/proto/h2_session.c).
 *
 * Input: byte 0: bit 0 the connection starts at the preface (else it is seen mid-way), bit 1 the preface
 * crosses inbound (a traced server); then operations:
 *   op & 2 == 0  data: u16 LE length L, then L bytes in direction op & 1 (0 in, 1 out)
 *   op & 2 == 2  gap:  u16 LE bytes crossed in direction op & 1, none captured
 * then the connection closes.  (tests/unit/test_h2_session.c writes seeds of real nghttp2 conversations in this
 * format when OBS_H2_SEEDS names a directory.)
 * Checked: every exchange is one that was requested, comes out once, with a known protocol, terminated
 * strings and its stream; after the close every requested exchange has come out; counts only grow; each
 * header block the framer finished (or began, then lost its direction) is either decoded or counted lost. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/h2_frame.h"
#include "proto/h2_session.h"

#define MARK 0x5eed

struct seen {
	uint64_t requests, exchanges, blocks_done; /* blocks finished, or begun when their direction was lost */
	bool open[2];				   /* a block of that direction has begun */
	struct h2_session *s;
};

static bool terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *sn = ctx;

	FUZZ_CHECK(x->pid == 0);
	FUZZ_CHECK(in->valid == 0 || in->valid == 1);
	x->pid = MARK;
	sn->requests++;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *sn = ctx;

	FUZZ_CHECK(x->pid == MARK); /* requested, and not given out before */
	x->pid = 0;
	FUZZ_CHECK(x->proto == OBS_PROTO_HTTP2 || x->proto == OBS_PROTO_GRPC);
	FUZZ_CHECK(x->kind == OBS_X_SERVER || x->kind == OBS_X_CLIENT);
	FUZZ_CHECK(x->stream != 0);
	FUZZ_CHECK(terminated(x->op, sizeof(x->op)) && terminated(x->target, sizeof(x->target)));
	FUZZ_CHECK(terminated(x->host, sizeof(x->host)) && terminated(x->agent, sizeof(x->agent)));
	FUZZ_CHECK(terminated(x->code, sizeof(x->code)) && terminated(x->tracestate, sizeof(x->tracestate)));
	FUZZ_CHECK(x->end_ns >= x->start_ns);
	sn->exchanges++;
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static void emit(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct seen *sn = ctx;

	FUZZ_CHECK(ev->type >= H2_EV_HEADERS && ev->type <= H2_EV_PREFACE);
	FUZZ_CHECK(ev->dir <= PROTO_OUT);
	FUZZ_CHECK(ev->type != H2_EV_HEADERS || !ev->len || block);
	if (ev->type == H2_EV_HEADERS) {
		sn->open[ev->dir] = ev->flags & H2_EVF_MORE;
		if (!(ev->flags & H2_EVF_MORE))
			sn->blocks_done++;
	}
	if (ev->type == H2_EV_LOST && sn->open[ev->dir]) {
		sn->open[ev->dir] = false;
		sn->blocks_done++;
	}
	h2_session__event(sn->s, ev, block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct obs_addr local = { .family = 2, .port = 7200 }, peer = { .family = 2, .port = 40000 };
	struct fz f = { data, size };
	uint8_t mode = fz__u8(&f);
	struct seen sn = { 0 };
	struct h2_session_stats st, before = { 0 };
	static struct h2_frame fr;
	uint64_t now = 1000;

	sn.s = h2_session__new(&sink, &sn, &local, &peer);
	if (!sn.s)
		return 0;
	h2_frame__init(&fr, mode & 1, mode & 2 ? PROTO_IN : PROTO_OUT);
	while (f.n) {
		uint8_t op = fz__u8(&f);
		enum proto_dir dir = op & 1 ? PROTO_OUT : PROTO_IN;
		size_t len;
		const uint8_t *p;

		now += 1000;
		if (op & 2) {
			h2_frame__feed(&fr, dir, NULL, 0, fz__u16(&f) + 1, now, emit, &sn);
		} else {
			p = fz__bytes(&f, fz__u16(&f), &len);
			h2_frame__feed(&fr, dir, p, len, len, now, emit, &sn);
		}
		h2_session__stats(sn.s, &st);
		FUZZ_CHECK(st.blocks >= before.blocks && st.blocks_lost >= before.blocks_lost);
		FUZZ_CHECK(st.streams_lost >= before.streams_lost && st.streams_overflow >= before.streams_overflow);
		before = st;
	}
	h2_session__close(sn.s, now + 1000);
	h2_session__stats(sn.s, &st);
	FUZZ_CHECK(sn.exchanges == sn.requests);
	FUZZ_CHECK(st.blocks + st.blocks_lost == sn.blocks_done);
	h2_session__free(sn.s);
	return 0;
}
