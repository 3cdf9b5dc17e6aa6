/* test_shim_h2.c -- the shim's HTTP/2 traceparent injection (preload/inject_h2.c) on real frames from libnghttp2:
 * a client session writes them, the plan rewrites one, a server session decodes what went out (the field there,
 * every header of the program's intact, the dynamic tables still in step); every skip reason; byte counts.  The path
 * through netcap.c and h2cap.c's records: test_shim_h2_capture.c */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "h2_inject_wire.h"

/* the planned write, flat */
static size_t flatten(const struct inject_h2_plan *p, uint8_t *out)
{
	size_t n = 0;

	for (int i = 0; i < p->iovcnt; i++) {
		memcpy(out + n, p->iov[i].iov_base, p->iov[i].iov_len);
		n += p->iov[i].iov_len;
	}
	return n;
}

static const uint8_t trace_id[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
static const uint8_t span_id[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
#define WANT_TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static enum injh2_result plan1(struct inject_h2_plan *p, const struct inject_h2_track *t, const struct wbuf *w,
			       size_t copylen)
{
	struct iovec v = { (void *)w->b, w->n };

	return inject_h2__plan(p, t, &v, 1, w->b, copylen, trace_id, span_id, true);
}

static struct inject_h2_plan plan;
static uint8_t out[BUF];

/* a tracker past the preface and SETTINGS */
static void proven(struct inject_h2_track *t)
{
	uint8_t b[64];

	inject_h2__track_init(t);
	inject_h2__track(t, (const uint8_t *)H2_PREFACE, H2_PREFACE_LEN);
	inject_h2__track(t, b, frame(b, 4, 0, 0, NULL, 0));
	ck_assert(inject_h2__proven(t));
}

/* RFC 7541 Appendix B: the codes of the letters of "traceparent" (code, bits), packed MSB first, EOS-padded */
START_TEST(huffman_name_from_the_rfc_table)
{
	static const struct {
		char c;
		uint32_t code;
		int bits;
	} tab[] = { { 'a', 0x3, 5 },  { 'c', 0x4, 5 },	{ 'e', 0x5, 5 }, { 'n', 0x2a, 6 },
		    { 'p', 0x2b, 6 }, { 'r', 0x2c, 6 }, { 't', 0x9, 5 } };
	uint8_t enc[16] = { 0 }, blk[256];
	nghttp2_hd_deflater *d;
	nghttp2_nv nv = NV("traceparent", WANT_TP);
	uint64_t acc = 0;
	int nbits = 0;
	ssize_t n;

	for (const char *s = "traceparent"; *s; s++)
		for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
			if (tab[i].c == *s) {
				acc = acc << tab[i].bits | tab[i].code;
				nbits += tab[i].bits;
			}
	ck_assert_int_eq(nbits, 59);
	acc = acc << 5 | 0x1f; /* the EOS prefix pads to a byte */
	for (int i = 0; i < 8; i++)
		enc[i] = (uint8_t)(acc >> (56 - 8 * i));
	ck_assert_int_eq(memcmp(enc, INJH2_NAME_HUFF, INJH2_NAME_HUFF_LEN), 0);
	/* and libnghttp2's encoder writes the name so: a literal field, its name Huffman-coded (H bit, length 8) */
	nv.flags = NGHTTP2_NV_FLAG_NO_INDEX;
	ck_assert_int_eq(nghttp2_hd_deflate_new(&d, 4096), 0);
	n = nghttp2_hd_deflate_hd(d, blk, sizeof(blk), &nv, 1);
	ck_assert_int_gt(n, 10);
	ck_assert_uint_eq(blk[0], 0x10); /* literal never indexed, new name */
	ck_assert_uint_eq(blk[1], 0x80 | 8);
	ck_assert_int_eq(memcmp(blk + 2, INJH2_NAME_HUFF, 8), 0);
	nghttp2_hd_deflate_del(d);
}
END_TEST

/* one request of a client proven HTTP/2 gets the field; the server decodes it and every header of the program;
 * the second request (dynamic table references) decodes the same: no table changed */
static void injects_case(bool padded, bool priority)
{
	struct wbuf *w = calloc(1, sizeof(*w));
	struct inject_h2_track t;
	struct seen sn = { 0 };
	nghttp2_session *c = client(w, padded), *sv = server(&sn);
	nghttp2_priority_spec pri;
	size_t n, sent;
	bool cut;

	pad_to = 10;
	nghttp2_priority_spec_init(&pri, 0, 200, 0);
	inject_h2__track_init(&t);
	cli_start(c, w);
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NOT_FOLLOWING); /* the preface not yet gone */
	inject_h2__track(&t, w->b, w->n);
	ck_assert(inject_h2__proven(&t));
	srv_recv(sv, w->b, w->n);
	for (int round = 0; round < 2; round++) {
		int32_t id = cli_request(c, w, NULL, priority ? &pri : NULL);

		ck_assert_int_eq(id, 1 + 2 * round);
		ck_assert_uint_eq(w->b[3], NGHTTP2_HEADERS);
		ck_assert_uint_eq(!!(w->b[4] & NGHTTP2_FLAG_PADDED), padded);
		ck_assert_uint_eq(!!(w->b[4] & NGHTTP2_FLAG_PRIORITY), priority);
		ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_OK);
		ck_assert_uint_eq(plan.stream, (uint32_t)id);
		ck_assert_uint_eq(plan.at, 0);
		ck_assert_uint_eq(plan.plen, w->n);
		ck_assert_uint_eq(plan.flen, w->n + INJH2_FIELD_LEN);
		n = flatten(&plan, out);
		ck_assert_uint_eq(n, plan.flen);
		ck_assert_uint_eq((uint32_t)out[0] << 16 | out[1] << 8 | out[2], n - H2_FRAME_HEAD);
		srv_recv(sv, out, n);
		ck_assert_int_eq(sn.blocks, round + 1);
		ck_assert_int_eq(sn.headers, 7); /* the program's six and ours */
		ck_assert_str_eq(sn.tp, WANT_TP);
		ck_assert_str_eq(sn.path, "/pkg.Echo/Say");
		/* the program is told its own bytes */
		ck_assert_int_eq(inject_h2__count(&plan, (ssize_t)n, &cut, &sent), (ssize_t)w->n);
		ck_assert(!cut);
		inject_h2__track(&t, w->b, w->n); /* the program's bytes, as netcap.c feeds them */
		ck_assert_uint_eq(t.max_stream, (uint32_t)id);
		ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NONE); /* the same stream again: not a new one */
	}
	ck_assert_int_eq(sn.traceparents, 2);
	nghttp2_session_del(c);
	nghttp2_session_del(sv);
	free(w);
}

START_TEST(injects_plain)
{
	injects_case(false, false);
}
END_TEST

START_TEST(injects_padded_with_priority)
{
	injects_case(true, true);
}
END_TEST

START_TEST(byte_counts)
{
	bool cut;
	size_t sent;

	plan.at = 100;
	plan.plen = 50;
	plan.flen = 50 + INJH2_FIELD_LEN;
	ck_assert_int_eq(inject_h2__count(&plan, -1, &cut, &sent), -1);
	ck_assert(!cut);
	ck_assert_int_eq(inject_h2__count(&plan, 0, &cut, &sent), 0);
	ck_assert_int_eq(inject_h2__count(&plan, 100, &cut, &sent), 100); /* up to our frame: all the program's */
	ck_assert(!cut);
	ck_assert_int_eq(inject_h2__count(&plan, 101, &cut, &sent), 100); /* inside it: cut, 1 byte of it out */
	ck_assert(cut);
	ck_assert_uint_eq(sent, 1);
	ck_assert_int_eq(inject_h2__count(&plan, 100 + 50 + INJH2_FIELD_LEN - 1, &cut, &sent), 100);
	ck_assert(cut);
	ck_assert_uint_eq(sent, 50 + INJH2_FIELD_LEN - 1);
	ck_assert_int_eq(inject_h2__count(&plan, 100 + 50 + INJH2_FIELD_LEN, &cut, &sent), 150);
	ck_assert(!cut);
	ck_assert_int_eq(inject_h2__count(&plan, 100 + 50 + INJH2_FIELD_LEN + 7, &cut, &sent), 157);
}
END_TEST

START_TEST(skips_its_own_traceparent)
{
	struct wbuf *w = calloc(1, sizeof(*w));
	nghttp2_session *c = client(w, false);
	nghttp2_nv mine = NV("traceparent", WANT_TP);
	struct inject_h2_track t;
	uint8_t b[256];
	size_t n;

	/* Huffman-coded by libnghttp2, in the frame the plan looks at */
	mine.flags = NGHTTP2_NV_FLAG_NO_INDEX;
	inject_h2__track_init(&t);
	cli_start(c, w);
	inject_h2__track(&t, w->b, w->n);
	cli_request(c, w, &mine, NULL);
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_OWN);
	inject_h2__track(&t, w->b, w->n);
	ck_assert(t.own_tp);
	cli_request(c, w, NULL, NULL); /* remembered: never on this connection again */
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_OWN);
	/* as literal bytes */
	proven(&t);
	w->n = frame(w->b, 1, 0x4 | 0x1, 1, lit_block, sizeof(lit_block));
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_OWN);
	/* in an earlier block (into the dynamic table, referred to by index later), split over two writes */
	proven(&t);
	n = frame(b, 1, 0x4 | 0x1, 1, lit_block, sizeof(lit_block));
	inject_h2__track(&t, b, 12);
	inject_h2__track(&t, b + 12, n - 12);
	ck_assert(t.own_tp);
	w->n = frame(w->b, 1, 0x4 | 0x1, 3, plain_block, sizeof(plain_block));
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_OWN);
	/* split over HEADERS and CONTINUATION */
	proven(&t);
	n = frame(b, 1, 0x1, 1, lit_block, 9);
	n += frame(b + n, 9, 0x4, 1, lit_block + 9, sizeof(lit_block) - 9);
	inject_h2__track(&t, b, n);
	ck_assert(t.own_tp);
	nghttp2_session_del(c);
	free(w);
}
END_TEST

START_TEST(skips_what_it_may_not_change)
{
	struct wbuf *w = calloc(1, sizeof(*w));
	nghttp2_session *c = client(w, false);
	struct inject_h2_track t;
	char *big = malloc(16400);
	nghttp2_nv nv;
	size_t n;

	/* a block going on in CONTINUATION */
	proven(&t);
	n = frame(w->b, 1, 0x1, 1, plain_block, 2);
	n += frame(w->b + n, 9, 0x4, 1, plain_block + 2, 1);
	w->n = n;
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_CONTINUATION);
	/* the frame does not end in the write */
	w->n = frame(w->b, 1, 0x4, 1, plain_block, sizeof(plain_block));
	{
		struct iovec v = { w->b, w->n - 1 };

		ck_assert_int_eq(inject_h2__plan(&plan, &t, &v, 1, w->b, w->n - 1, trace_id, span_id, true),
				 INJH2_NOT_WHOLE);
	}
	/* nothing but DATA, SETTINGS, PING */
	n = frame(w->b, 0, 0, 1, "abc", 3);
	n += frame(w->b + n, 4, 0, 0, NULL, 0);
	n += frame(w->b + n, 6, 0, 0, "12345678", 8);
	w->n = n;
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NONE);
	/* an even (server) stream, and trailers on a stream already open */
	w->n = frame(w->b, 1, 0x4, 2, plain_block, sizeof(plain_block));
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NONE);
	w->n = frame(w->b, 1, 0x4, 5, plain_block, sizeof(plain_block));
	inject_h2__track(&t, w->b, w->n);
	w->n = frame(w->b, 1, 0x4 | 0x1, 5, plain_block, sizeof(plain_block));
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NONE);
	/* past 16384 with the field: a real frame from libnghttp2 with a long value ('X' has an 8-bit code) */
	memset(big, 'X', 16300);
	big[16300] = '\0';
	nv = (nghttp2_nv){ (uint8_t *)"x-big", (uint8_t *)big, 5, 16300, NGHTTP2_NV_FLAG_NO_INDEX };
	inject_h2__track_init(&t);
	cli_start(c, w);
	inject_h2__track(&t, w->b, w->n);
	cli_request(c, w, &nv, NULL);
	n = (size_t)w->b[0] << 16 | w->b[1] << 8 | w->b[2];
	ck_assert_uint_gt(n + INJH2_FIELD_LEN, INJH2_FRAME_MAX);
	ck_assert_uint_le(n, INJH2_FRAME_MAX);
	ck_assert_uint_eq(w->b[4] & NGHTTP2_FLAG_END_HEADERS, NGHTTP2_FLAG_END_HEADERS);
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_TOO_BIG);
	/* not following: no preface (HTTP/1), the preface cut short, a gap */
	inject_h2__track_init(&t);
	inject_h2__track(&t, (const uint8_t *)"GET / HTTP/1.1\r\n", 16);
	ck_assert_uint_eq(t.state, INJH2_DEAD);
	w->n = frame(w->b, 1, 0x4, 1, plain_block, sizeof(plain_block));
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NOT_FOLLOWING);
	inject_h2__track_init(&t);
	inject_h2__track(&t, (const uint8_t *)H2_PREFACE, 10);
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NOT_FOLLOWING);
	proven(&t);
	inject_h2__track(&t, NULL, 100);
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NOT_FOLLOWING);
	/* a frame head cut by the last write: where frames start in the next one is not known */
	proven(&t);
	inject_h2__track(&t, w->b, 4);
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_NOT_FOLLOWING);
	/* the rest of a DATA frame begins the write: the HEADERS after it is found */
	proven(&t);
	n = frame(w->b, 0, 0, 1, "abcdef", 6);
	inject_h2__track(&t, w->b, 11); /* head + 2 payload bytes */
	memmove(w->b, w->b + 11, 4);
	w->n = 4 + frame(w->b + 4, 1, 0x4, 3, plain_block, sizeof(plain_block));
	ck_assert_int_eq(plan1(&plan, &t, w, w->n), INJH2_OK);
	ck_assert_uint_eq(plan.at, 4);
	ck_assert_uint_eq(plan.stream, 3);
	nghttp2_session_del(c);
	free(big);
	free(w);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_h2");
	TCase *tc = tcase_create("inject_h2");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, huffman_name_from_the_rfc_table);
	tcase_add_test(tc, injects_plain);
	tcase_add_test(tc, injects_padded_with_priority);
	tcase_add_test(tc, byte_counts);
	tcase_add_test(tc, skips_its_own_traceparent);
	tcase_add_test(tc, skips_what_it_may_not_change);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
