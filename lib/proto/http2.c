/* http2.c -- HTTP/2 as a struct proto: detection and framing by h2_frame.c, whose events go to the sink's
 * on_h2() (the collector decodes HPACK and makes the exchanges: collector/proto/h2_session.c), and what a
 * non-gRPC HTTP/2 exchange becomes: HTTP/1's metrics and span (SPEC "Traces"), with version 2. */
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/h2_frame.h"
#include "lib/proto/proto.h"

struct http2_conn {
	struct h2_frame f;
	const struct proto_sink *sink;
	void *ctx;
	bool started; /* the framer was told whether the connection starts at the preface */
};

_Static_assert(sizeof(struct http2_conn) <= PROTO_STATE_MAX, "HTTP/2 state fits a proto_conn");

extern const struct proto proto_http1;

static void init(void *state, const struct proto_sink *sink, void *ctx)
{
	struct http2_conn *c = state;

	memset(c, 0, sizeof(*c));
	c->sink = sink;
	c->ctx = ctx;
}

static void emit(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct http2_conn *c = ctx;

	if (c->sink && c->sink->on_h2)
		c->sink->on_h2(c->ctx, ev, block);
}

/* a SETTINGS frame (not an ACK) on stream 0: how a server's side of a connection begins (RFC 9113 3.4) */
static bool server_preface(const uint8_t *p, size_t len)
{
	return len >= H2_FRAME_HEAD && p[3] == 4 && !(p[4] & 1) && !(p[5] & 0x7f) && !p[6] && !p[7] && !p[8] &&
	       (p[0] << 16 | p[1] << 8 | p[2]) % 6 == 0;
}

static void feed(void *state, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	struct http2_conn *c = state;

	if (!c->started) {
		/* the chunk detection claimed: the client preface; or a server's SETTINGS written (or read) before
		 * the client's preface came the other way (a server need not wait for it); else frames of a
		 * connection seen mid-way */
		if (len && h2_frame__detect(buf, len, dir) == PROTO_YES)
			h2_frame__init(&c->f, true, dir);
		else if (server_preface(buf, len))
			h2_frame__init(&c->f, true, !dir);
		else
			h2_frame__init(&c->f, false, dir);
		c->started = true;
	}
	h2_frame__feed(&c->f, dir, buf, len, total, now_ns, emit, c);
}

static void close_conn(void *state, uint64_t now_ns)
{
	(void)state;
	(void)now_ns; /* the framer keeps no exchanges: the receiver ends its streams when the socket closes */
}

static void progress(const void *state, struct proto_progress *out)
{
	const struct http2_conn *c = state;

	out->sure = h2_frame__sure(&c->f); /* each direction's own, read atomically: both may be fed at once */
	out->errors = h2_frame__errors(&c->f);
}

/* HTTP/1's labels and span (OpenTelemetry's HTTP conventions are the same for both versions), version "2" */
static void describe(const struct obs_exchange *x, const struct proto_text *t, bool span, struct proto_desc *d)
{
	proto_http1.describe(x, t, span, d);
	for (int i = 0; i < d->nattrs; i++)
		if (!strcmp(d->attrs[i].key, "network.protocol.version"))
			d->attrs[i].str = "2";
}

const struct proto proto_http2 = {
	.name = "http2",
	.id = OBS_PROTO_HTTP2,
	.caplen = 0, /* frame heads are spread through the bytes: all the capture path copies */
	.state_size = sizeof(struct http2_conn),
	.detect = h2_frame__detect,
	.init = init,
	.feed = feed,
	.close = close_conn,
	.progress = progress,
	.describe = describe,
};
