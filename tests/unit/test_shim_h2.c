/* test_shim_h2.c -- the shim's HTTP/2 traceparent injection (preload/inject_h2.c) on real frames from libnghttp2:
 * a client session writes them, the plan rewrites one, a server session decodes what went out (the field there,
 * every header of the program's intact, the dynamic tables still in step); every skip reason; byte counts; and the
 * whole path through netcap.c on a loopback connection while a thread serves a traced HTTP/1 request */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/tracectx.h"
#include "preload/h2cap.h"
#include "preload/inject_h2.h"
#include "preload/netcap.h"
#include "preload/seg.h"

#define BUF 65536

/* ---- a client session: each nghttp2_session_send() is one write ---- */

struct wbuf {
	uint8_t b[BUF];
	size_t n;
};

static ssize_t send_cb(nghttp2_session *ss, const uint8_t *data, size_t len, int flags, void *ud)
{
	struct wbuf *w = ud;

	(void)ss, (void)flags;
	ck_assert_uint_le(w->n + len, sizeof(w->b));
	memcpy(w->b + w->n, data, len);
	w->n += len;
	return (ssize_t)len;
}

static size_t pad_to;

static ssize_t pad_cb(nghttp2_session *ss, const nghttp2_frame *f, size_t max, void *ud)
{
	(void)ss, (void)ud;
	return f->hd.type == NGHTTP2_HEADERS && f->hd.length + pad_to <= max ? (ssize_t)(f->hd.length + pad_to)
									     : (ssize_t)f->hd.length;
}

static nghttp2_session *client(struct wbuf *w, bool padded)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *ss;

	ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, send_cb);
	if (padded)
		nghttp2_session_callbacks_set_select_padding_callback(cb, pad_cb);
	ck_assert_int_eq(nghttp2_session_client_new(&ss, cb, w), 0);
	nghttp2_session_callbacks_del(cb);
	return ss;
}

/* the preface and SETTINGS: the first write */
static void cli_start(nghttp2_session *ss, struct wbuf *w)
{
	w->n = 0;
	ck_assert_int_eq(nghttp2_submit_settings(ss, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	ck_assert_int_eq(nghttp2_session_send(ss), 0);
	ck_assert_uint_gt(w->n, H2_PREFACE_LEN);
}

#define NV(n, v)                                                                               \
	{                                                                                      \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

/* a gRPC-like request (@extra: one more field, NULL none): its HEADERS frame, one write */
static int32_t cli_request(nghttp2_session *ss, struct wbuf *w, const nghttp2_nv *extra,
			   const nghttp2_priority_spec *pri)
{
	nghttp2_nv nv[8] = {
		NV(":method", "POST"),
		NV(":scheme", "http"),
		NV(":path", "/pkg.Echo/Say"),
		NV(":authority", "127.0.0.1:7300"),
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
	};
	int n = 6;
	int32_t id;

	if (extra)
		nv[n++] = *extra;
	w->n = 0;
	id = nghttp2_submit_request(ss, pri, nv, n, NULL, NULL);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(nghttp2_session_send(ss), 0);
	return id;
}

/* ---- a server session decoding what went out ---- */

struct seen {
	int headers;	  /* header fields of the last block */
	int blocks;	  /* complete header blocks */
	char tp[128];	  /* the last traceparent value, "" none */
	char path[64];	  /* the last :path */
	int traceparents; /* traceparent fields seen in all */
};

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nl, const uint8_t *value,
		     size_t vl, uint8_t flags, void *ud)
{
	struct seen *sn = ud;

	(void)ss, (void)f, (void)flags;
	sn->headers++;
	if (nl == 11 && !memcmp(name, "traceparent", 11)) {
		snprintf(sn->tp, sizeof(sn->tp), "%.*s", (int)vl, value);
		sn->traceparents++;
	}
	if (nl == 5 && !memcmp(name, ":path", 5))
		snprintf(sn->path, sizeof(sn->path), "%.*s", (int)vl, value);
	return 0;
}

static int on_begin(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct seen *sn = ud;

	(void)ss, (void)f;
	sn->headers = 0;
	sn->tp[0] = '\0';
	return 0;
}

static int on_frame(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct seen *sn = ud;

	(void)ss;
	if (f->hd.type == NGHTTP2_HEADERS)
		sn->blocks++;
	return 0;
}

static nghttp2_session *server(struct seen *sn)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *ss;

	ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	ck_assert_int_eq(nghttp2_session_server_new(&ss, cb, sn), 0);
	nghttp2_session_callbacks_del(cb);
	return ss;
}

static void srv_recv(nghttp2_session *ss, const uint8_t *b, size_t n)
{
	ck_assert_int_eq(nghttp2_session_mem_recv(ss, b, n), (ssize_t)n);
}

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

/* a frame by hand at @o: its length */
static size_t frame(uint8_t *o, uint8_t type, uint8_t flags, uint32_t stream, const void *payload, size_t len)
{
	o[0] = (uint8_t)(len >> 16), o[1] = (uint8_t)(len >> 8), o[2] = (uint8_t)len;
	o[3] = type, o[4] = flags;
	o[5] = (uint8_t)(stream >> 24), o[6] = (uint8_t)(stream >> 16), o[7] = (uint8_t)(stream >> 8);
	o[8] = (uint8_t)stream;
	memcpy(o + H2_FRAME_HEAD, payload, len);
	return H2_FRAME_HEAD + len;
}

/* :method GET, :scheme http, :path / (static table), then a literal field of the given name form */
static const uint8_t lit_block[] = { 0x82, 0x86, 0x84, 0x00, 0x0b, 't', 'r',  'a', 'c', 'e',
				     'p',  'a',	 'r',  'e',  'n',  't', 0x03, 'a', 'b', 'c' };
static const uint8_t plain_block[] = { 0x82, 0x86, 0x84 };

/* a tracker past the preface and SETTINGS */
static void proven(struct inject_h2_track *t)
{
	uint8_t b[64];

	inject_h2__track_init(t);
	inject_h2__track(t, (const uint8_t *)H2_PREFACE, H2_PREFACE_LEN);
	inject_h2__track(t, b, frame(b, 4, 0, 0, NULL, 0));
	ck_assert(inject_h2__proven(t));
}

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

/* ---- through netcap.c, on loopback, as shim.c's wrappers drive it ---- */

static struct obs_segment *s;

static void setup(void)
{
	s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	s->h.magic = OBS_SEG_MAGIC;
	s->h.version = OBS_SEG_VERSION;
	s->h.header_size = sizeof(s->h);
	s->h.total_size = sizeof(*s);
	s->h.pid = getpid();
	s->h.nslots = SEG_NSLOTS;
	unsetenv("OBSPROBE_BUCKETS");
	seg__use(s);
	memset(&netcap_serving, 0, sizeof(netcap_serving));
}

static void teardown(void)
{
	seg__use(NULL);
	free(s);
}

static void tcp_pair(int *cli, int *srv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept(l, NULL, NULL);
	ck_assert_int_ge(*srv, 0);
	close(l);
	netcap__opened(*cli, OBS_FD_OUTBOUND, (struct sockaddr *)&a, sizeof(a));
	netcap__opened(*srv, OBS_FD_INBOUND, NULL, 0);
}

static void forget(int fd)
{
	netcap__fd_closed(fd);
	netcap__conn_close(fd);
	close(fd);
}

/* the program's write of @b (@n bytes) on @fd, seen by the shim */
static void program_write(int fd, const uint8_t *b, size_t n)
{
	struct iovec v = { (void *)b, n };

	ck_assert_int_eq(write(fd, b, n), (ssize_t)n);
	netcap__data(fd, 1, &v, 1, n);
}

static size_t recv_all(int fd, uint8_t *b, size_t want)
{
	size_t got = 0;

	while (got < want) {
		ssize_t k = recv(fd, b + got, want - got, 0);

		ck_assert_int_gt(k, 0);
		got += (size_t)k;
	}
	return got;
}

START_TEST(through_netcap_while_serving)
{
	static const char in[] = "GET /in HTTP/1.1\r\nHost: a\r\n"
				 "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n";
	struct wbuf *w = calloc(1, sizeof(*w));
	nghttp2_session *c = client(w, false);
	struct seen sn = { 0 };
	nghttp2_session *sv = server(&sn);
	const struct inject_plan *p;
	uint8_t *wire = calloc(1, BUF), ping[32];
	struct iovec iov[2];
	int up, srv, cli, peer;
	size_t np, want;
	ssize_t r;
	char tp[64];
	struct iovec v = { (void *)in, sizeof(in) - 1 };

	tcp_pair(&up, &srv);
	tcp_pair(&cli, &peer);
	netcap__data(srv, 0, &v, 1, v.iov_len); /* this thread serves a traced request now */
	ck_assert(netcap_serving.active);
	ck_assert(netcap__injectable(cli));
	cli_start(c, w);
	program_write(cli, w->b, w->n); /* the preface: the connection is proven HTTP/2 */
	ck_assert_uint_eq(recv_all(peer, wire, w->n), w->n);
	srv_recv(sv, wire, w->n);
	/* a PING and the HEADERS frame in one write of two iovecs, the frame in the second */
	np = frame(ping, 6, 0, 0, "12345678", 8);
	cli_request(c, w, NULL, NULL);
	iov[0] = (struct iovec){ ping, np };
	iov[1] = (struct iovec){ w->b, w->n };
	p = netcap__inject_plan(cli, iov, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->line, np);
	ck_assert_uint_eq(p->hdrlen, INJH2_FIELD_LEN);
	r = netcap__inject_done(cli, writev(cli, p->iov, p->iovcnt));
	ck_assert_int_eq(r, (ssize_t)(np + w->n)); /* the program told its own bytes */
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 1);
	want = np + w->n + INJH2_FIELD_LEN;
	ck_assert_uint_eq(recv_all(peer, wire, want), want);
	srv_recv(sv, wire, want);
	ck_assert_int_eq(sn.blocks, 1);
	ck_assert_int_eq(sn.headers, 7);
	/* the serving trace, a span id of its own (the client exchange's), sampled */
	ck_assert_uint_eq(strlen(sn.tp), 55);
	ck_assert_int_eq(memcmp(sn.tp, "00-0af7651916cd43dd8448eb211c80319c-", 36), 0);
	ck_assert_int_ne(memcmp(sn.tp + 36, "b7ad6b7169203331", 16), 0);
	tracectx__format_traceparent(tp, sizeof(tp), netcap_serving.trace_id, netcap_serving.span_id, true);
	ck_assert_int_ne(memcmp(sn.tp + 36, tp + 36, 16), 0); /* not the server span's own id either */
	ck_assert_str_eq(sn.tp + 52, "-01");
	/* written bytes the shim could not follow (another thread held the connection): never again on it */
	cli_request(c, w, NULL, NULL);
	p = netcap__inject_plan(cli, &(struct iovec){ w->b, w->n }, 1); /* holds the connection ... */
	ck_assert_ptr_nonnull(p);
	{
		struct iovec other = { ping, np };

		netcap__data(cli, 1, &other, 1, np); /* ... while "another thread" wrote a PING */
		ck_assert_uint_eq(s->h.lost[SEG_LOST_BUSY], 1);
	}
	r = netcap__inject_done(cli, writev(cli, p->iov, p->iovcnt));
	ck_assert_int_eq(r, (ssize_t)w->n);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 2);
	cli_request(c, w, NULL, NULL);
	ck_assert_ptr_null(netcap__inject_plan(cli, &(struct iovec){ w->b, w->n }, 1));
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 2);
	netcap_serving.active = false;
	ck_assert(!netcap__injectable(cli));
	forget(cli);
	forget(peer);
	forget(up);
	forget(srv);
	nghttp2_session_del(c);
	nghttp2_session_del(sv);
	free(wire);
	free(w);
}
END_TEST

/* ---- h2cap.c: events into OBS_REC_H2 records ---- */

static bool rec_next(struct obs_seg_h2 *r, uint32_t *len)
{
	struct obs_seg_rec raw;

	if (!obs_seg_ring_get(s, &raw))
		return false;
	ck_assert_uint_eq(raw.type, OBS_REC_H2);
	ck_assert_uint_ge(raw.len, OBS_SEG_H2_HEAD);
	memset(r, 0, sizeof(*r));
	memcpy(r, raw.data, raw.len);
	*len = raw.len;
	return true;
}

START_TEST(records_split_context_lost_close)
{
	static struct h2cap_conn h, h2;
	struct obs_addr local = { .family = 2, .port = 7300 }, peer = { .family = 2, .port = 7399 };
	struct h2_ev ev = { .type = H2_EV_HEADERS, .dir = 1, .flags = H2_EVF_END_STREAM, .stream = 1, .len = 2000 };
	struct obs_seg_h2 r;
	uint8_t block[2000], got[2000];
	uint32_t len, off = 0, ids[2];
	int n = 0;

	for (int i = 0; i < 2000; i++)
		block[i] = (uint8_t)(i * 7);
	h2cap__open(&h, &local, &peer, 1);
	netcap_serving.active = true;
	memset(netcap_serving.trace_id, 0xab, 16);
	memset(netcap_serving.span_id, 0xcd, 8);
	h2cap__event(&h, &local, &peer, &ev, block);
	while (rec_next(&r, &len)) {
		ck_assert_uint_eq(len, OBS_SEG_H2_HEAD + r.ev.len);
		ck_assert_uint_eq(r.ev.type, H2_EV_HEADERS);
		ck_assert_uint_eq(r.ev.stream, 1);
		ck_assert_uint_eq(r.conn, h.id);
		ck_assert_int_eq(r.pid, getpid());
		ck_assert_uint_eq(r.local.port, 7300);
		ck_assert_uint_eq(r.peer.port, 7399);
		ck_assert_uint_eq(r.trace_id[0], 0xab);
		ck_assert_uint_eq(r.parent_id[7], 0xcd);
		ck_assert_uint_eq(r.span_id[0], 0); /* nothing injected on it */
		ck_assert_uint_eq(r.ev.flags, n < 2 ? H2_EVF_MORE : H2_EVF_END_STREAM);
		memcpy(got + off, r.block, r.ev.len);
		off += r.ev.len;
		n++;
	}
	ck_assert_int_eq(n, 3); /* 888 + 888 + 224 */
	ck_assert_uint_eq(off, 2000);
	ck_assert_int_eq(memcmp(got, block, 2000), 0);
	ids[0] = (uint32_t)h.id;
	/* the stream a traceparent went out on: its span id with the block */
	h.inj_pending = 1;
	h.inj_stream = 3;
	memset(h.inj_span_id, 0x5a, 8);
	memset(h.inj_trace_id, 0x11, 16);
	ev.stream = 3;
	ev.len = 10;
	h2cap__event(&h, &local, &peer, &ev, block);
	ck_assert(rec_next(&r, &len));
	ck_assert_uint_eq(r.span_id[0], 0x5a);
	ck_assert_uint_eq(r.trace_id[0], 0x11);
	ck_assert_uint_eq(h.inj_pending, 0);
	/* a DATA event carries no bytes; an incoming block no context */
	ev = (struct h2_ev){ .type = H2_EV_DATA, .dir = 0, .stream = 3, .len = 5000, .value = 2 };
	h2cap__event(&h, &local, &peer, &ev, NULL);
	ck_assert(rec_next(&r, &len));
	ck_assert_uint_eq(len, OBS_SEG_H2_HEAD);
	ck_assert_uint_eq(r.ev.len, 5000);
	ck_assert_uint_eq(r.ev.value, 2);
	/* another connection: another id */
	h2cap__open(&h2, &local, &peer, 1);
	h2cap__event(&h2, &local, &peer, &ev, NULL);
	ck_assert(rec_next(&r, &len));
	ids[1] = (uint32_t)r.conn;
	ck_assert_uint_ne(ids[0], ids[1]);
	/* the ring full: the record is lost (counted), then LOST both ways once there is room, nothing more */
	s->h.ring_head += OBS_SEG_RING;
	h2cap__event(&h, &local, &peer, &ev, NULL);
	ck_assert_uint_eq(s->h.lost[SEG_LOST_RING_FULL], 1);
	s->h.ring_head -= OBS_SEG_RING;
	h2cap__event(&h, &local, &peer, &ev, NULL);
	for (int dir = 0; dir < 2; dir++) {
		ck_assert(rec_next(&r, &len));
		ck_assert_uint_eq(r.ev.type, H2_EV_LOST);
		ck_assert_uint_eq(r.ev.dir, dir);
		ck_assert_uint_eq(r.conn, ids[0]);
	}
	ck_assert(!rec_next(&r, &len));
	h2cap__event(&h, &local, &peer, &ev, NULL);
	ck_assert(!rec_next(&r, &len));
	/* the close: one record, and a connection that never had an event sends none */
	h2cap__close(&h, &local, &peer, 9);
	ck_assert(rec_next(&r, &len));
	ck_assert_uint_eq(r.ev.type, OBS_SEG_H2_CLOSE);
	ck_assert_uint_eq(r.conn, ids[0]);
	ck_assert_uint_eq(r.ev.ts_ns, 9);
	h2cap__close(&h, &local, &peer, 10);
	ck_assert(!rec_next(&r, &len));
	netcap_serving.active = false;
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_h2");
	TCase *tc = tcase_create("inject_h2");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, huffman_name_from_the_rfc_table);
	tcase_add_test(tc, injects_plain);
	tcase_add_test(tc, injects_padded_with_priority);
	tcase_add_test(tc, byte_counts);
	tcase_add_test(tc, skips_its_own_traceparent);
	tcase_add_test(tc, skips_what_it_may_not_change);
	tcase_add_test(tc, through_netcap_while_serving);
	tcase_add_test(tc, records_split_context_lost_close);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
