/* test_h2_frame_streams.c -- the HTTP/2 framer on many concurrent gRPC streams written by libnghttp2: DATA of
 * different streams interleaved, more streams open than H2_FRAME_STREAMS; message counts per stream are exact
 * for every stream followed, and said unsure for the others. */
#include <check.h>
#include <stdlib.h>

#include "h2_wire.h"
#include "lib/proto/h2_frame.h"

#define CALLS 40 /* streams opened at once (> H2_FRAME_STREAMS) */

struct per_stream {
	uint32_t msgs, frames, unsure, ends, headers;
};

struct tally {
	struct per_stream s[2 * CALLS + 2]; /* by stream id */
	uint32_t switches, last, lost;
	char order[4096]; /* "H1 D3 ..." for a failing assertion */
};

static void on_ev(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct tally *t = ctx;
	struct per_stream *s;
	size_t n = strlen(t->order);

	(void)block;
	if (ev->type == H2_EV_LOST)
		t->lost++;
	if (ev->type != H2_EV_DATA && ev->type != H2_EV_HEADERS)
		return;
	if (ev->type == H2_EV_HEADERS && (ev->flags & H2_EVF_MORE))
		return; /* a block's last piece stands for it */
	ck_assert_uint_lt(ev->stream, 2 * CALLS + 2);
	s = &t->s[ev->stream];
	if (n + 16 < sizeof(t->order))
		snprintf(t->order + n, sizeof(t->order) - n, "%c%u ", ev->type == H2_EV_DATA ? 'D' : 'H', ev->stream);
	if (ev->type == H2_EV_HEADERS) {
		s->headers++;
		return;
	}
	t->switches += t->last && t->last != ev->stream;
	t->last = ev->stream;
	s->frames++;
	s->msgs += ev->value;
	s->unsure += !!(ev->flags & H2_EVF_MSGS_UNSURE);
	s->ends += !!(ev->flags & H2_EVF_END_STREAM);
}

/* call i: 1 + i % 3 messages of i * 7 % 300, 5 and 100 bytes, in DATA frames of at most 150 bytes */
static uint32_t msgs_of(int i)
{
	return 1 + (uint32_t)(i % 3);
}

static void client_bytes(struct wire *w)
{
	static uint8_t bodies[CALLS][1024];
	static struct body bd[CALLS];
	nghttp2_data_provider dp[CALLS];
	nghttp2_session_callbacks *cbs;
	nghttp2_session *c;
	nghttp2_nv req[] = { NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/s.Svc/Method"),
			     NV(":authority", "127.0.0.1:7100"), NV("content-type", "application/grpc") };

	w->len = 0;
	ck_assert_int_eq(nghttp2_session_callbacks_new(&cbs), 0);
	nghttp2_session_callbacks_set_send_callback(cbs, on_send);
	ck_assert_int_eq(nghttp2_session_client_new(&c, cbs, w), 0);
	ck_assert_int_eq(nghttp2_submit_settings(c, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	for (int i = 0; i < CALLS; i++) {
		uint32_t sizes[3] = { (uint32_t)(i * 7 % 300), 5, 100 };

		bd[i] = (struct body){ .p = bodies[i], .chunk = 150 };
		bd[i].len = grpc_body(bodies[i], sizes, (int)msgs_of(i));
		dp[i] = (nghttp2_data_provider){ .source.ptr = &bd[i], .read_callback = on_read };
		ck_assert_int_eq(nghttp2_submit_request(c, NULL, req, sizeof(req) / sizeof(req[0]), &dp[i], NULL),
				 1 + 2 * i);
	}
	ck_assert_int_eq(nghttp2_session_send(c), 0);
	nghttp2_session_del(c);
	nghttp2_session_callbacks_del(cbs);
}

START_TEST(concurrent_streams)
{
	static struct wire w;
	static struct h2_frame f;
	static struct tally t;
	uint64_t r = 0x2545f4914f6cdd1dull;
	uint32_t exact = 0;

	client_bytes(&w);
	for (int run = 0; run < 50; run++) {
		memset(&t, 0, sizeof(t));
		h2_frame__init(&f, true, PROTO_OUT);
		for (size_t at = 0; at < w.len;) { /* random cuts; the first run whole */
			size_t k = w.len - at;

			r = r * 6364136223846793005ull + 1442695040888963407ull;
			if (run)
				k = 1 + (r >> 33) % (k < 700 ? k : 700);
			h2_frame__feed(&f, PROTO_OUT, w.b + at, k, k, at, on_ev, &t);
			at += k;
		}
		ck_assert_uint_eq(t.lost, 0);
		ck_assert_uint_eq(h2_frame__errors(&f), 0);
		ck_assert_msg(t.switches > CALLS, "DATA of the streams not interleaved: %s", t.order);
		exact = 0;
		for (int i = 0; i < CALLS; i++) {
			const struct per_stream *s = &t.s[1 + 2 * i];

			ck_assert_uint_eq(s->headers, 1);
			ck_assert_uint_eq(s->ends, 1);
			ck_assert_uint_ge(s->frames, 1);
			if (s->unsure) { /* forgotten: every DATA frame of it says so */
				ck_assert_uint_eq(s->unsure, s->frames);
				continue;
			}
			ck_assert_msg(s->msgs == msgs_of(i), "stream %d: %u messages, sent %u (%s)", 1 + 2 * i, s->msgs,
				      msgs_of(i), t.order);
			exact++;
		}
		/* all 40 HEADERS come before the DATA: the 32 newest streams are followed */
		ck_assert_msg(exact == H2_FRAME_STREAMS, "%u streams exact (%s)", exact, t.order);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("h2_frame_streams");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_streams);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
