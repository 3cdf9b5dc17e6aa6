/* test_h2_frame.c -- the HTTP/2 framer (lib/proto/h2_frame.c) on bytes libnghttp2 wrote: a client and a
 * server session, and header blocks from its HPACK deflater in hand-built frames; split at every byte,
 * with gaps and garbage.  Events are logged as text and compared exactly. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2_wire.h"
#include "lib/proto/h2_frame.h"

/* ---- what the framer said --------------------------------------------------------------------- */

struct seen {
	char log[8192];		/* one line per event, header pieces of a block merged */
	uint8_t block[2][8192]; /* the block bytes given, by direction */
	size_t block_len[2];
	int pieces, events;
	uint64_t last_ts;
	bool open[2]; /* a block is being given in pieces */
};

static void on_ev(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);
	char *o = s->log + n;
	size_t room = sizeof(s->log) - n;

	s->events++;
	s->last_ts = ev->ts_ns;
	ck_assert_uint_le(ev->dir, 1);
	switch (ev->type) {
	case H2_EV_HEADERS:
		s->pieces++;
		ck_assert(ev->len == 0 || block != NULL);
		ck_assert_uint_le(s->block_len[ev->dir] + ev->len, sizeof(s->block[0]));
		if (ev->len)
			memcpy(s->block[ev->dir] + s->block_len[ev->dir], block, ev->len);
		s->block_len[ev->dir] += ev->len;
		if (ev->flags & H2_EVF_MORE) {
			s->open[ev->dir] = true;
			return;
		}
		s->open[ev->dir] = false;
		snprintf(o, room, "%d H s%u%s%s v%u\n", ev->dir, ev->stream, ev->flags & H2_EVF_END_STREAM ? " es" : "",
			 ev->flags & H2_EVF_PUSH ? " push" : "", ev->value);
		return;
	case H2_EV_DATA:
		snprintf(o, room, "%d D s%u len%u m%u%s%s\n", ev->dir, ev->stream, ev->len, ev->value,
			 ev->flags & H2_EVF_END_STREAM ? " es" : "", ev->flags & H2_EVF_MSGS_UNSURE ? " unsure" : "");
		break;
	case H2_EV_RST:
		snprintf(o, room, "%d RST s%u e%u\n", ev->dir, ev->stream, ev->value);
		break;
	case H2_EV_GOAWAY:
		snprintf(o, room, "%d GOAWAY last%u e%u\n", ev->dir, ev->stream, ev->value);
		break;
	case H2_EV_SETTINGS:
		snprintf(o, room, "%d SETTINGS %u\n", ev->dir, ev->value);
		break;
	case H2_EV_LOST: /* may cut a block */
		snprintf(o, room, "%d LOST\n", ev->dir);
		s->open[ev->dir] = false;
		break;
	case H2_EV_PREFACE:
		snprintf(o, room, "%d PREFACE\n", ev->dir);
		break;
	default:
		ck_abort_msg("event type %d", ev->type);
	}
	ck_assert_msg(!s->open[ev->dir], "an event inside an open header block");
}

/* @len bytes in feeds of @step bytes (0: one feed), the first cut at @first: the clock of the last feed */
static uint64_t feed_split(struct h2_frame *f, struct seen *s, enum proto_dir dir, const uint8_t *b, size_t len,
			   size_t first, size_t step)
{
	size_t at = 0;
	uint64_t now = 0;

	if (first && first < len) {
		now = 1;
		h2_frame__feed(f, dir, b, first, first, 1, on_ev, s);
		at = first;
	}
	while (at < len) {
		size_t k = step && step < len - at ? step : len - at;

		now = 2 + at;
		h2_frame__feed(f, dir, b + at, k, k, now, on_ev, s);
		at += k;
	}
	return now;
}

static const char CLIENT_LOG[] = "1 PREFACE\n"
				 "1 SETTINGS 8192\n"
				 "1 H s1 v0\n"
				 "1 D s1 len1000 m2\n" /* messages 1 (15 bytes) and 2 begin */
				 "1 D s1 len1000 m0\n"
				 "1 D s1 len25 m1 es\n"; /* the empty third message */
static const char SERVER_LOG[] = "0 H s1 v0\n"
				 "0 D s1 len1000 m1\n"
				 "0 D s1 len517 m1\n"
				 "0 H s1 es v0\n";

/* the client's bytes as a traced client writes them, the server's as it reads them */
static void check_call(const struct wire *cli, const struct wire *srv, size_t first, size_t step)
{
	static struct h2_frame f;
	static struct seen s;
	nghttp2_hd_inflater *inf;
	char fields[1024];
	uint64_t now;

	memset(&s, 0, sizeof(s));
	h2_frame__init(&f, true, PROTO_OUT);
	now = feed_split(&f, &s, PROTO_OUT, cli->b, cli->len, first, step);
	ck_assert_str_eq(s.log, CLIENT_LOG);
	ck_assert_uint_eq(s.last_ts, now); /* the last event: the frame the last feed completed */
	ck_assert_int_eq(nghttp2_hd_inflate_new(&inf), 0);
	inflate(inf, s.block[PROTO_OUT], s.block_len[PROTO_OUT], fields, sizeof(fields));
	ck_assert_str_eq(fields, ":method=POST;:scheme=http;:path=/pkg.Greeter/SayHello;:authority=127.0.0.1:7100;"
				 "content-type=application/grpc;te=trailers;");
	nghttp2_hd_inflate_del(inf);

	s.log[0] = 0;
	now = feed_split(&f, &s, PROTO_IN, srv->b, srv->len, first, step);
	ck_assert_str_eq(s.log, SERVER_LOG);
	ck_assert_uint_eq(s.last_ts, now);
	ck_assert_int_eq(nghttp2_hd_inflate_new(&inf), 0);
	inflate(inf, s.block[PROTO_IN], s.block_len[PROTO_IN], fields, sizeof(fields));
	ck_assert_str_eq(fields, ":status=200;content-type=application/grpc;grpc-status=5;grpc-message=not found;");
	nghttp2_hd_inflate_del(inf);
	ck_assert_uint_eq(h2_frame__errors(&f), 0);
	ck_assert(h2_frame__sure(&f));
}

START_TEST(grpc_call_whole_and_split)
{
	static struct wire cli, srv;

	grpc_call(&cli, &srv);
	check_call(&cli, &srv, 0, 0);
	check_call(&cli, &srv, 0, 1); /* a byte per feed */
	for (size_t cut = 1; cut < cli.len || cut < srv.len; cut++)
		check_call(&cli, &srv, cut, 0);
	for (size_t step = 2; step < 40; step++)
		check_call(&cli, &srv, 0, step);
}
END_TEST

/* ---- hand-built frames around blocks from libnghttp2's deflater ------------------------------- */

static uint8_t blk[512];
static size_t blk_len;

/* a padded HEADERS with priority holding the block's first 10 bytes, CONTINUATION with the next 20, an empty
 * CONTINUATION, one with the rest; then a padded PUSH_PROMISE of stream 1 promising 2 (one frame), a PING,
 * WINDOW_UPDATE, PRIORITY and an unknown frame type */
static size_t blocks(uint8_t *b)
{
	uint8_t *p = b;

	blk_len = deflate(blk, sizeof(blk));
	p = head(p, 1 + 5 + 10 + 7, 1, 0x8 | 0x20 | 0x1, 3);
	*p++ = 7;
	memcpy(p, "\x80\x00\x00\x01\x10", 5), p += 5;
	memcpy(p, blk, 10), p += 10;
	memset(p, 0xee, 7), p += 7;
	p = head(p, 20, 9, 0, 3);
	memcpy(p, blk + 10, 20), p += 20;
	p = head(p, 0, 9, 0, 3);
	p = head(p, blk_len - 30, 9, 0x4, 3);
	memcpy(p, blk + 30, blk_len - 30), p += blk_len - 30;
	p = head(p, 1 + 4 + blk_len + 3, 5, 0x8 | 0x4, 3);
	*p++ = 3;
	memcpy(p, "\x00\x00\x00\x02", 4), p += 4;
	memcpy(p, blk, blk_len), p += blk_len;
	memset(p, 0xee, 3), p += 3;
	p = head(p, 8, 6, 0, 0);
	memset(p, 0x11, 8), p += 8;
	p = head(p, 4, 8, 0, 0);
	memcpy(p, "\x00\x01\x00\x00", 4), p += 4;
	p = head(p, 5, 2, 0, 5);
	memcpy(p, "\x00\x00\x00\x03\x20", 5), p += 5;
	p = head(p, 3, 0x42, 0xff, 9);
	memcpy(p, "xyz", 3), p += 3;
	return (size_t)(p - b);
}

START_TEST(padded_priority_continuation_push)
{
	static uint8_t b[2048];
	static struct h2_frame f;
	static struct seen s;
	size_t len = blocks(b);

	for (size_t step = 0; step < 12; step++) {
		for (size_t first = 0; first < len; first += step ? len : 1) {
			memset(&s, 0, sizeof(s));
			h2_frame__init(&f, false, PROTO_IN);
			feed_split(&f, &s, PROTO_IN, b, len, first, step);
			ck_assert_str_eq(s.log, "0 H s3 es v0\n"
						"0 H s3 push v2\n");
			ck_assert_uint_eq(s.block_len[0], 2 * blk_len); /* no padding, priority or promised id */
			ck_assert_mem_eq(s.block[0], blk, blk_len);
			ck_assert_mem_eq(s.block[0] + blk_len, blk, blk_len);
			ck_assert_uint_eq(h2_frame__errors(&f), 0);
		}
	}
}
END_TEST

/* ---- DATA and gRPC messages, RST_STREAM, GOAWAY ------------------------------------------------ */

static uint8_t *data(uint8_t *p, uint32_t stream, uint8_t flags, const uint8_t *payload, uint32_t len, int pad)
{
	p = head(p, len + (pad >= 0 ? 1 + (uint32_t)pad : 0), 0, flags | (pad >= 0 ? 0x8 : 0), stream);
	if (pad >= 0)
		*p++ = (uint8_t)pad;
	memcpy(p, payload, len), p += len;
	if (pad > 0)
		memset(p, 0, (size_t)pad), p += pad;
	return p;
}

/* a HEADERS frame opening @stream with a 3-byte block (indexed :method GET, :path /, :scheme http) */
static uint8_t *hdrs(uint8_t *p, uint32_t stream, uint8_t flags)
{
	p = head(p, 3, 1, 0x4 | flags, stream);
	memcpy(p, "\x82\x84\x86", 3);
	return p + 3;
}

START_TEST(grpc_messages_across_frames)
{
	static const uint32_t sizes[] = { 3, 0, 20, 1 };
	static uint8_t msgs[64], b[512];
	static struct h2_frame f;
	static struct seen s;
	size_t n = grpc_body(msgs, sizes, 4); /* prefixes at 0, 8, 13, 38; 44 bytes */
	uint8_t *p = b;

	ck_assert_uint_eq(n, 44);
	p = hdrs(p, 1, 0);
	p = data(p, 1, 0, msgs, 10, 2);		/* prefixes at 0, 8 (cut after 2 bytes) */
	p = data(p, 1, 0, msgs + 10, 5, -1);	/* the rest of it, the start of 13 */
	p = data(p, 1, 0, msgs + 15, 0, -1);	/* empty */
	p = data(p, 1, 0, msgs + 15, 20, 0);	/* inside message 3 */
	p = data(p, 1, 0x1, msgs + 35, 9, 250); /* 38 */
	p = data(p, 3, 0x1, msgs, 8, -1);	/* stream 3: HEADERS not seen */
	p = hdrs(p, 5, 0);
	p = head(p, 4, 3, 0, 5); /* RST_STREAM 5 CANCEL */
	memcpy(p, "\x00\x00\x00\x08", 4), p += 4;
	p = data(p, 5, 0, msgs, 8, -1); /* after its reset: untracked */
	p = head(p, 8 + 5, 7, 0, 0);	/* GOAWAY last 5, ENHANCE_YOUR_CALM, debug data */
	memcpy(p,
	       "\x80\x00\x00\x05\x00\x00\x00\x0b"
	       "debug",
	       13),
		p += 13;

	for (size_t step = 0; step < 8; step++) {
		for (size_t first = 0; first < (size_t)(p - b); first += step ? (size_t)(p - b) : 1) {
			memset(&s, 0, sizeof(s));
			h2_frame__init(&f, false, PROTO_IN);
			feed_split(&f, &s, PROTO_OUT, b, (size_t)(p - b), first, step);
			ck_assert_str_eq(s.log, "1 H s1 v0\n"
						"1 D s1 len10 m2\n"
						"1 D s1 len5 m1\n"
						"1 D s1 len0 m0\n"
						"1 D s1 len20 m0\n"
						"1 D s1 len9 m1 es\n"
						"1 D s3 len8 m0 es unsure\n"
						"1 H s5 v0\n"
						"1 RST s5 e8\n"
						"1 D s5 len8 m0 unsure\n"
						"1 GOAWAY last5 e11\n");
			ck_assert_uint_eq(h2_frame__errors(&f), 0);
		}
	}
}
END_TEST

/* more streams than tracked: the oldest is forgotten, the others stay exact */
START_TEST(stream_slots_evicted_oldest_first)
{
	static uint8_t b[4096];
	static struct h2_frame f;
	static struct seen s;
	static const uint8_t msg[] = "\x00\x00\x00\x00\x01z";
	uint8_t *p = b;

	for (uint32_t i = 0; i <= H2_FRAME_STREAMS; i++)
		p = hdrs(p, 1 + 2 * i, 0);
	p = data(p, 1, 0, msg, 6, -1);
	p = data(p, 3, 0, msg, 6, -1);
	p = data(p, 1 + 2 * H2_FRAME_STREAMS, 0, msg, 6, -1);
	memset(&s, 0, sizeof(s));
	h2_frame__init(&f, false, PROTO_IN);
	h2_frame__feed(&f, PROTO_IN, b, (size_t)(p - b), (size_t)(p - b), 5, on_ev, &s);
	ck_assert_str_eq(strstr(s.log, "0 D"), "0 D s1 len6 m0 unsure\n"
					       "0 D s3 len6 m1\n"
					       "0 D s65 len6 m1\n");
}
END_TEST

/* ---- gaps --------------------------------------------------------------------------------------- */

START_TEST(gaps)
{
	static const uint32_t sizes[] = { 100, 2 };
	static uint8_t msgs[256], b[512];
	static struct h2_frame f;
	static struct seen s;
	size_t n = grpc_body(msgs, sizes, 2); /* prefixes at 0 and 105, 112 bytes */
	uint8_t *p = b, *d1, *d2, *d3;

	p = hdrs(p, 1, 0);
	d1 = p;
	p = data(p, 1, 0, msgs, (uint32_t)n, 20); /* captured: head, pad length, 10 bytes; gap over message 1's body */
	d2 = p;
	p = data(p, 1, 0, msgs, 30, -1); /* captured: head, 2 bytes; gap over the rest of a prefix */
	d3 = p;
	p = data(p, 1, 0, msgs, 30, -1); /* after that: unsure */
	p = hdrs(p, 3, 0);

	memset(&s, 0, sizeof(s));
	h2_frame__init(&f, false, PROTO_IN);
	h2_frame__feed(&f, PROTO_IN, b, (size_t)(d1 - b) + 9 + 1 + 10, (size_t)(d1 - b) + 9 + 1 + 100, 1, on_ev, &s);
	h2_frame__feed(&f, PROTO_IN, NULL, 0, n - 100 + 20, 2, on_ev, &s); /* rest of message 1, 2, padding */
	ck_assert_str_eq(s.log, "0 H s1 v0\n"
				"0 D s1 len112 m1 unsure\n");
	h2_frame__feed(&f, PROTO_IN, d2, 9 + 2, d3 - d2, 3, on_ev, &s);
	h2_frame__feed(&f, PROTO_IN, d3, (size_t)(p - d3), (size_t)(p - d3), 4, on_ev, &s);
	ck_assert_str_eq(s.log, "0 H s1 v0\n"
				"0 D s1 len112 m1 unsure\n"
				"0 D s1 len30 m0 unsure\n" /* the stream's boundaries are gone */
				"0 D s1 len30 m0 unsure\n"
				"0 H s3 v0\n");
	ck_assert_uint_eq(h2_frame__errors(&f), 0);

	/* a gap over message bodies only: exact */
	memset(&s, 0, sizeof(s));
	h2_frame__init(&f, false, PROTO_IN);
	h2_frame__feed(&f, PROTO_IN, b, (size_t)(d1 - b) + 9 + 1 + 5, (size_t)(d1 - b) + 9 + 1 + 105, 1, on_ev, &s);
	h2_frame__feed(&f, PROTO_IN, msgs + 105, 7, 7, 2, on_ev, &s);
	h2_frame__feed(&f, PROTO_IN, NULL, 0, 20, 3, on_ev, &s); /* the padding */
	ck_assert_str_eq(s.log, "0 H s1 v0\n"
				"0 D s1 len112 m2\n");
	ck_assert_uint_eq(s.last_ts, 3);

	/* a gap over a frame head: lost once, then nothing */
	h2_frame__feed(&f, PROTO_IN, d2, 4, 9, 4, on_ev, &s);
	h2_frame__feed(&f, PROTO_IN, d3, (size_t)(p - d3), (size_t)(p - d3), 5, on_ev, &s);
	ck_assert_str_eq(s.log, "0 H s1 v0\n"
				"0 D s1 len112 m2\n"
				"0 LOST\n");
	ck_assert_uint_eq(h2_frame__errors(&f), 0); /* a gap, not an error */

	/* a gap in a header block: lost; the other direction goes on */
	memset(&s, 0, sizeof(s));
	h2_frame__init(&f, false, PROTO_IN);
	h2_frame__feed(&f, PROTO_IN, b, 10, 12, 1, on_ev, &s);
	h2_frame__feed(&f, PROTO_OUT, d3, (size_t)(p - d3), (size_t)(p - d3), 2, on_ev, &s);
	ck_assert_str_eq(s.log, "0 LOST\n"
				"1 D s1 len30 m0 unsure\n"
				"1 H s3 v0\n");
}
END_TEST

/* ---- garbage and impossible frames -------------------------------------------------------------- */

/* @len bytes at @b fed whole (after the preface when @preface): the log, the errors counted */
#define expect(...) expect_at(__LINE__, __VA_ARGS__)
static void expect_at(int line, const void *b, size_t len, bool preface, const char *log, uint64_t errors)
{
	static struct h2_frame f;
	static struct seen s;

	memset(&s, 0, sizeof(s));
	h2_frame__init(&f, preface, PROTO_IN);
	h2_frame__feed(&f, PROTO_IN, b, len, len, 1, on_ev, &s);
	if (f.d[PROTO_IN].lost) /* the rest is ignored */
		h2_frame__feed(&f, PROTO_IN, b, len, len, 1, on_ev, &s);
	ck_assert_msg(!strcmp(s.log, log) && h2_frame__errors(&f) == errors, "line %d: log \"%s\", %lu errors", line,
		      s.log, (unsigned long)h2_frame__errors(&f));
}

START_TEST(garbage)
{
	static uint8_t b[256];
	uint8_t *p;

	expect("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, true, "0 LOST\n", 1);
	/* after the preface, "GET / HTT": a frame of type 0x20 (unknown: skipped by length), 4.6 MB */
	expect("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET / HTTP/1.1\r\n", 40, true, "0 PREFACE\n", 0);
	expect("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x01\x04\x00\x00\x00\x00", 33, true, "0 PREFACE\n0 LOST\n",
	       1);
	/* seen mid-way: a frame of unknown type 0x20, 4.6 MB, skipped (detect never lets HTTP/1 here) */
	expect("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, false, "", 0);
	p = head(b, 3, 1, 0x4, 0); /* HEADERS on stream 0 */
	expect(b, (size_t)(p - b) + 3, false, "0 LOST\n", 1);
	p = head(b, 6, 4, 0, 1); /* SETTINGS on stream 1 */
	expect(b, (size_t)(p - b) + 6, false, "0 LOST\n", 1);
	p = head(b, 7, 4, 0, 0); /* SETTINGS not a multiple of 6 */
	expect(b, (size_t)(p - b) + 7, false, "0 LOST\n", 1);
	p = head(b, 6, 4, 1, 0); /* SETTINGS ACK with a payload */
	expect(b, (size_t)(p - b) + 6, false, "0 LOST\n", 1);
	p = head(b, 4, 3, 0, 0); /* RST_STREAM of stream 0 */
	expect(b, (size_t)(p - b) + 4, false, "0 LOST\n", 1);
	p = head(b, 5, 3, 0, 1); /* RST_STREAM of 5 bytes */
	expect(b, (size_t)(p - b) + 5, false, "0 LOST\n", 1);
	p = head(b, 8, 6, 0, 1); /* PING on a stream */
	expect(b, (size_t)(p - b) + 8, false, "0 LOST\n", 1);
	p = head(b, 4, 7, 0, 0); /* short GOAWAY */
	expect(b, (size_t)(p - b) + 4, false, "0 LOST\n", 1);
	p = head(b, 0, 9, 0x4, 1); /* CONTINUATION without a block */
	expect(b, (size_t)(p - b), false, "0 LOST\n", 1);
	p = head(b, 4, 1, 0x8, 1); /* HEADERS padded by more than its length */
	memcpy(p, "\x04xyz", 4);
	expect(b, (size_t)(p - b) + 4, false, "0 LOST\n", 1);
	p = head(b, 4, 1, 0x20, 1); /* priority fields cut */
	expect(b, (size_t)(p - b) + 4, false, "0 LOST\n", 1);
	p = head(b, 3, 1, 0, 1); /* a block open, then DATA */
	memcpy(p, "\x82\x84\x86", 3), p += 3;
	p = head(p, 0, 0, 0, 1);
	expect(b, (size_t)(p - b), false, "0 LOST\n", 1);
	p = head(b, 3, 1, 0, 1); /* a block open, then a CONTINUATION of another stream */
	memcpy(p, "\x82\x84\x86", 3), p += 3;
	p = head(p, 0, 9, 0x4, 3);
	expect(b, (size_t)(p - b), false, "0 LOST\n", 1);
	p = head(b, 12, 4, 0, 0); /* SETTINGS: ENABLE_PUSH only, then the table size last of two */
	memcpy(p, "\x00\x02\x00\x00\x00\x00\x00\x01\x00\x00\x10\x00", 12), p += 12;
	p = head(p, 6, 4, 0, 0);
	memcpy(p, "\x00\x02\x00\x00\x00\x00", 6), p += 6;
	p = head(p, 12, 4, 0, 0);
	memcpy(p, "\x00\x01\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00", 12), p += 12;
	expect(b, (size_t)(p - b), false, "0 SETTINGS 4096\n0 SETTINGS 65536\n", 0);
}
END_TEST

/* random bytes, random cuts: nothing read or given out of bounds (ASan, make asan), blocks no longer than fed */
START_TEST(random_bytes)
{
	static uint8_t b[4096];
	static struct h2_frame f;
	static struct seen s;
	uint64_t r = 0x9e3779b97f4a7c15ull;
	struct wire *cli = calloc(1, sizeof(*cli)), *srv = calloc(1, sizeof(*srv));

	grpc_call(cli, srv);
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = 0;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		len = (r >> 33) % sizeof(b);
		memcpy(b, iter & 1 ? cli->b : srv->b, len < cli->len ? len : cli->len);
		for (size_t i = 0; i < len; i++) { /* flip a few bytes of real traffic, or all random */
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			if (i >= cli->len || (r >> 60) == 0 || iter % 5 == 0)
				b[i] = (uint8_t)(r >> 40);
		}
		memset(&s, 0, sizeof(s));
		h2_frame__init(&f, iter & 2, PROTO_OUT);
		for (size_t at = 0; at < len;) {
			size_t k, total;

			r = r * 6364136223846793005ull + 1442695040888963407ull;
			k = 1 + (r >> 40) % 300;
			k = k < len - at ? k : len - at;
			total = (r >> 20) % 7 == 0 ? k + (r >> 50) % 64 : k;
			h2_frame__feed(&f, PROTO_OUT, b + at, (r >> 30) % 9 == 0 ? 0 : k, total, at, on_ev, &s);
			at += k;
		}
		ck_assert_uint_le(s.block_len[1], len);
	}
	free(cli);
	free(srv);
}
END_TEST

/* ---- detection --------------------------------------------------------------------------------- */

START_TEST(detect)
{
	static struct wire cli, srv;

	grpc_call(&cli, &srv);
	ck_assert_int_eq(h2_frame__detect(cli.b, cli.len, PROTO_OUT), PROTO_YES);
	ck_assert_int_eq(h2_frame__detect(cli.b, 24, PROTO_IN), PROTO_YES);
	ck_assert_int_eq(h2_frame__detect(cli.b, 23, PROTO_IN), PROTO_MAYBE);
	ck_assert_int_eq(h2_frame__detect("PRI", 3, PROTO_IN), PROTO_MAYBE);
	ck_assert_int_eq(h2_frame__detect(srv.b, srv.len, PROTO_IN), PROTO_MAYBE); /* the server's SETTINGS */
	ck_assert_int_eq(h2_frame__detect(cli.b + 24, cli.len - 24, PROTO_OUT), PROTO_MAYBE);
	ck_assert_int_eq(h2_frame__detect(srv.b, 8, PROTO_IN), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x03\x01\x04\x00\x00\x00\x07", 9, PROTO_OUT), PROTO_MAYBE);
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x03\x01\x04\x00\x00\x00\x08", 9, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x03\x01\x40\x00\x00\x00\x07", 9, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x05\x04\x00\x00\x00\x00\x00", 9, PROTO_IN), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("PRI * HTTP/1.1\r\n", 16, PROTO_IN), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("GET / HTTP/1.1\r\n", 16, PROTO_IN), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("HTTP/1.1 200 OK\r\n", 17, PROTO_IN), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("*1\r\n$4\r\nPING\r\n", 14, PROTO_OUT), PROTO_NO);
	/* PostgreSQL: SSLRequest, a startup message of 260 bytes (as a frame: SETTINGS or HEADERS on an even or
	 * non-zero stream), an authentication request */
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x01\x04\x00\x03\x00\x00user", 12, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("\x00\x00\x01\x01\x00\x03\x00\x00user", 12, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h2_frame__detect("R\x00\x00\x00\x08\x00\x00\x00\x00", 9, PROTO_IN), PROTO_NO);
}
END_TEST

/* ---- corpus for tests/fuzz/fuzz_h2_frame.c (its input format): H2_FRAME_CORPUS=dir build/tests/test_h2_frame -- */

static void op(FILE *out, uint8_t dir, const uint8_t *b, size_t len, size_t extra)
{
	fputc(dir | (extra ? 2 : 0), out);
	fputc((int)(len & 0xff), out);
	fputc((int)(len >> 8), out);
	if (extra)
		fputc((int)extra, out);
	fwrite(b, 1, len, out);
}

/* @cfg, then the two directions' bytes interleaved in pieces of @step, @cut: the client's second piece is cut */
static void capture(const char *dir, const char *name, uint8_t cfg, uint8_t cli_dir, const struct wire *cli,
		    const struct wire *srv, size_t step, bool cut)
{
	char path[512];
	FILE *out;
	size_t a = 0, b = 0;

	snprintf(path, sizeof(path), "%s/capture-%s", dir, name);
	out = fopen(path, "wb");
	ck_assert_ptr_nonnull(out);
	fputc(cfg, out);
	while (a < cli->len || b < srv->len) {
		size_t k = cli->len - a < step ? cli->len - a : step;

		if (k) {
			op(out, cli_dir, cli->b + a, cut && a == step ? k / 2 : k, cut && a == step ? k - k / 2 : 0);
			a += k;
		}
		k = srv->len - b < step ? srv->len - b : step;
		if (k) {
			op(out, !cli_dir, srv->b + b, k, 0);
			b += k;
		}
	}
	fclose(out);
}

START_TEST(write_corpus)
{
	static struct wire cli, srv, hand, none;
	const char *dir = getenv("H2_FRAME_CORPUS");

	grpc_call(&cli, &srv);
	capture(dir, "grpc-client", 3, PROTO_OUT, &cli, &srv, 4096, false);
	capture(dir, "grpc-server-split", 1, PROTO_IN, &cli, &srv, 7, false);
	capture(dir, "grpc-client-cut", 3, PROTO_OUT, &cli, &srv, 200, true);
	hand.len = blocks(hand.b);
	capture(dir, "padded-continuation-push", 0, PROTO_IN, &hand, &none, 4096, false);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	s = suite_create("h2_frame");
	tc = tcase_create("core");
	if (getenv("H2_FRAME_CORPUS")) {
		tcase_add_test(tc, write_corpus);
		goto run;
	}
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, grpc_call_whole_and_split);
	tcase_add_test(tc, padded_priority_continuation_push);
	tcase_add_test(tc, grpc_messages_across_frames);
	tcase_add_test(tc, stream_slots_evicted_oldest_first);
	tcase_add_test(tc, gaps);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, detect);
run:
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
