/* test_h2_session.c -- HTTP/2 and gRPC end to end without the kernel: a libnghttp2 client and server talk
 * in memory; the exact bytes each one sent go, in the order they were sent, through the framer
 * (lib/proto/h2_frame.c) and the session (collector/proto/h2_session.c) as a traced server (or client) sees
 * them; the exchanges that come out are checked field by field. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "lib/proto/h2_frame.h"
#include "lib/proto/registry.h"
#include "proto/h2_fields.h"
#include "proto/h2_session.h"

#include "h2_pair.h"

/* ---- what the collector makes of the bytes ---- */

#define XMAX 16

static struct obs_exchange got[XMAX];
static struct trace_ctx got_ctx[XMAX];
static int ngot, nreq;

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	(void)ctx;
	ck_assert_int_lt(nreq, XMAX);
	got_ctx[nreq++] = *in;
	x->pid = 4242; /* what the receiver stamps must reach on_exchange: the same exchange */
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	(void)ctx;
	ck_assert_int_lt(ngot, XMAX);
	ck_assert_int_eq(x->pid, 4242);
	got[ngot++] = *x;
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static void emit(void *ctx, const struct h2_ev *ev, const void *block)
{
	h2_session__event(ctx, ev, block);
}

/* OBS_H2_SEEDS=dir: each replay is also written there as a seed of tests/fuzz/fuzz_h2_session.c */
static void write_seed(const struct pair *p, int from, bool traced_server, bool preface)
{
	const char *dir = getenv("OBS_H2_SEEDS");
	static int n;
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/nghttp2-%02d", dir, n++);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputc((preface ? 1 : 0) | (traced_server ? 2 : 0), f);
	for (int i = from; i < p->n; i++) {
		bool in = p->log[i].from_client == traced_server;

		fputc(in ? 0 : 1, f);
		fputc(p->log[i].len & 0xff, f);
		fputc(p->log[i].len >> 8 & 0xff, f);
		fwrite(p->log[i].data, 1, p->log[i].len, f);
	}
	fclose(f);
}

static int gap_chunk = -1; /* this chunk's bytes cross uncaptured (a gap) */

/* the log from chunk @from on through a framer and a session, seen from the server (or the client) */
static struct h2_session *replay(struct pair *p, int from, bool traced_server, struct h2_session_stats *st)
{
	static const struct obs_addr local = { .family = 2, .port = 7201 }, peer = { .family = 2, .port = 40000 };
	struct h2_session *s = h2_session__new(&sink, NULL, &local, &peer);
	static struct h2_frame f;
	bool started = false;

	ngot = nreq = 0;
	memset(got, 0, sizeof(got));
	ck_assert_ptr_nonnull(s);
	for (int i = from; i < p->n; i++) {
		const struct chunk *c = &p->log[i];
		enum proto_dir dir = c->from_client == traced_server ? PROTO_IN : PROTO_OUT;

		if (!started) {
			bool preface = h2_frame__detect(c->data, c->len, dir) == PROTO_YES;

			h2_frame__init(&f, preface, dir);
			write_seed(p, from, traced_server, preface);
			started = true;
		}
		h2_frame__feed(&f, dir, i == gap_chunk ? NULL : c->data, i == gap_chunk ? 0 : c->len, c->len,
			       1000 * (i + 1), emit, s);
	}
	h2_session__close(s, 1000000);
	h2_session__stats(s, st);
	return s;
}

static void check_call(const struct obs_exchange *x, uint32_t stream, const char *path, const char *code, int nresp)
{
	ck_assert_int_eq(x->proto, OBS_PROTO_GRPC);
	ck_assert_uint_eq(x->stream, stream);
	ck_assert_str_eq(x->op, "POST");
	ck_assert_str_eq(x->target, path);
	ck_assert_str_eq(x->host, "localhost:7201");
	ck_assert_str_eq(x->agent, "grpc-c/1.51.1");
	ck_assert_int_eq(x->status, 200);
	ck_assert_str_eq(x->code, code);
	ck_assert_int_eq(x->error, strcmp(code, "0") != 0);
	ck_assert_int_eq(x->incomplete, 0);
	ck_assert_int_eq(x->version, 2);
	ck_assert_uint_eq(x->request_msgs, 1);
	ck_assert_uint_eq(x->request_bytes, 15);
	ck_assert_uint_eq(x->response_msgs, nresp);
	ck_assert_uint_eq(x->response_bytes, 25 * nresp);
	ck_assert_uint_gt(x->end_ns, x->start_ns);
	ck_assert_int_eq(x->local.port, 7201);
	ck_assert_int_eq(x->peer.port, 40000);
}

/* ---- the calls ---- */

/* three unary calls on one connection: the second and third requests' fields are dynamic-table references */
START_TEST(unary_calls_and_table_reuse)
{
	nghttp2_nv tp[] = { NV("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") };
	static const uint8_t tid[16] = { 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c };
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int before;

	pair_open(&p, NULL, 0, 0);
	for (int i = 0; i < 3; i++) {
		int32_t id = call_start(&p, "/pkg.Echo/Say", tp, i == 0);

		call_answer(&p, id, 1, "0");
	}
	before = p.n;
	/* the same, seen by the server and by the client */
	for (int server = 1; server >= 0; server--) {
		s = replay(&p, 0, server, &st);
		ck_assert_int_eq(ngot, 3);
		ck_assert_int_eq(nreq, 3);
		for (int i = 0; i < 3; i++) {
			check_call(&got[i], 1 + 2 * i, "/pkg.Echo/Say", "0", 1);
			ck_assert_int_eq(got[i].kind, server ? OBS_X_SERVER : OBS_X_CLIENT);
		}
		ck_assert(got_ctx[0].valid);
		ck_assert_mem_eq(got_ctx[0].trace_id, tid, 16);
		ck_assert(!got_ctx[1].valid);
		ck_assert_uint_eq(st.blocks, 9);
		ck_assert_uint_eq(st.blocks_lost + st.streams_lost + st.streams_overflow, 0);
		h2_session__free(s);
	}
	ck_assert_int_eq(p.n, before);
	pair_close(&p);
}
END_TEST

/* a server-streaming call: five response messages in one stream */
START_TEST(server_streaming)
{
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Feed/List", NULL, 0);
	call_answer(&p, id, 5, "0");
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 1);
	check_call(&got[0], 1, "/pkg.Feed/List", "0", 5);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* the server fails the call at once: HEADERS with grpc-status and END_STREAM (trailers-only) */
START_TEST(trailers_only_error)
{
	nghttp2_nv only[] = { NV(":status", "200"), NV("content-type", "application/grpc"), NV("grpc-status", "14"),
			      NV("grpc-message", "down") };
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/Fail", NULL, 0);
	ck_assert_int_eq(nghttp2_submit_response(p.srv, id, only, 4, NULL), 0);
	pump(&p);
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 1);
	ck_assert_str_eq(got[0].code, "14");
	ck_assert_int_eq(got[0].error, 1);
	ck_assert_int_eq(got[0].status, 200);
	ck_assert_int_eq(got[0].incomplete, 0);
	ck_assert_uint_eq(got[0].response_msgs, 0);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* RST_STREAM ends a call unanswered; the connection goes on */
START_TEST(rst_stream)
{
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	ck_assert_int_eq(nghttp2_submit_rst_stream(p.srv, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL), 0);
	pump(&p);
	id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	call_answer(&p, id, 1, "0");
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 2);
	ck_assert_int_eq(got[0].incomplete, 1);
	ck_assert_int_eq(got[0].status, 0);
	ck_assert_str_eq(got[0].code, "");
	ck_assert_int_eq(got[0].error, 1);
	check_call(&got[1], 3, "/pkg.Echo/Say", "0", 1);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* GOAWAY with last-stream-id 1: stream 3 ends unanswered at once, stream 1 is still answered */
START_TEST(goaway)
{
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t a, b;

	pair_open(&p, NULL, 0, 0);
	a = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	b = call_start(&p, "/pkg.Echo/Other", NULL, 0);
	ck_assert_int_eq(b, 3);
	ck_assert_int_eq(nghttp2_submit_goaway(p.srv, NGHTTP2_FLAG_NONE, a, NGHTTP2_NO_ERROR, NULL, 0), 0);
	pump(&p);
	call_answer(&p, a, 1, "0");
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 2);
	ck_assert_uint_eq(got[0].stream, 3);
	ck_assert_int_eq(got[0].incomplete, 1);
	ck_assert_str_eq(got[0].target, "/pkg.Echo/Other");
	check_call(&got[1], 1, "/pkg.Echo/Say", "0", 1);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* the server's SETTINGS_HEADER_TABLE_SIZE (after the first call filled the table) lets the client's encoder
 * grow its table: its next block starts with a table size update to 65536, which only an inflater told of
 * the other direction's SETTINGS accepts (over the 4096 default it is a decoding error) */
START_TEST(table_size_change)
{
	nghttp2_settings_entry big = { NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 65536 };
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	pair_open(&p, NULL, 0, 65536);
	id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	call_answer(&p, id, 1, "0");
	ck_assert_int_eq(nghttp2_submit_settings(p.srv, NGHTTP2_FLAG_NONE, &big, 1), 0);
	pump(&p);
	for (int i = 0; i < 2; i++) {
		id = call_start(&p, "/pkg.Echo/Again", NULL, 0);
		call_answer(&p, id, 2, "0");
	}
	for (int server = 1; server >= 0; server--) {
		s = replay(&p, 0, server, &st);
		ck_assert_int_eq(ngot, 3);
		check_call(&got[0], 1, "/pkg.Echo/Say", "0", 1);
		check_call(&got[1], 3, "/pkg.Echo/Again", "0", 2);
		check_call(&got[2], 5, "/pkg.Echo/Again", "0", 2);
		ck_assert_uint_eq(st.blocks_lost, 0);
		h2_session__free(s);
	}
	pair_close(&p);
}
END_TEST

/* the server's answer to the first call crosses uncaptured (a gap over its frame heads): its direction is
 * lost; the first call ends unanswered (its outcome never guessed), the second is counted lost */
START_TEST(response_direction_lost)
{
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	gap_chunk = p.n; /* the first chunk the server sends next: the answer's HEADERS */
	call_answer(&p, id, 1, "0");
	ck_assert(!p.log[gap_chunk].from_client);
	id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	call_answer(&p, id, 1, "0");
	s = replay(&p, 0, true, &st);
	gap_chunk = -1;
	ck_assert_int_eq(nreq, 1);
	ck_assert_int_eq(ngot, 1);
	ck_assert_uint_eq(got[0].stream, 1);
	ck_assert_int_eq(got[0].status, 0);
	ck_assert_int_eq(got[0].incomplete, 1);
	ck_assert_str_eq(got[0].code, "");
	ck_assert_uint_eq(st.streams_lost, 1);
	ck_assert_uint_eq(st.blocks, 2); /* the two requests */
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* a connection first seen after its preface and first call: its blocks are counted, never guessed */
START_TEST(midway_counted_lost)
{
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;
	int from;

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
	call_answer(&p, id, 1, "0");
	from = p.n;
	for (int i = 0; i < 2; i++) {
		id = call_start(&p, "/pkg.Echo/Say", NULL, 0);
		call_answer(&p, id, 1, "0");
	}
	s = replay(&p, from, true, &st);
	ck_assert_int_eq(ngot, 0);
	ck_assert_int_eq(nreq, 0);
	ck_assert_uint_eq(st.blocks, 0);
	ck_assert_uint_eq(st.blocks_lost, 6); /* request head, response head, trailers of each call */
	ck_assert_uint_eq(st.streams_lost, 2);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* a head of 20000 bytes crosses as HEADERS + CONTINUATION (assembled: the call is whole, the field cut to fit);
 * one of 80000 is over H2_BLOCK_MAX: counted, and its direction decodes nothing more */
START_TEST(continuation_and_cut_block)
{
	static char big[40001];
	nghttp2_nv extra[] = { { (uint8_t *)"user-agent", (uint8_t *)big, 10, 20000, NGHTTP2_NV_FLAG_NO_INDEX },
			       { (uint8_t *)"x-more", (uint8_t *)big, 6, 40000, NGHTTP2_NV_FLAG_NO_INDEX } };
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	memset(big, '~', sizeof(big) - 1); /* (its Huffman code is longer than a byte: sent raw) */
	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/Say", extra, 1);
	call_answer(&p, id, 1, "0");
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 1);
	ck_assert_uint_eq(st.blocks_lost, 0);
	ck_assert_uint_eq(got[0].stream, 1);
	ck_assert_str_eq(got[0].target, "/pkg.Echo/Say");
	ck_assert_uint_eq(strlen(got[0].agent), OBS_X_AGENT_MAX - 1);
	ck_assert_int_eq(got[0].agent[0], '~');
	ck_assert_int_eq(got[0].truncated, 1);
	ck_assert_str_eq(got[0].code, "0");
	h2_session__free(s);

	extra[0].valuelen = 40000; /* 80000 bytes of fields (nghttp2 sends no single field over 64 KiB) */
	p.deaf = true;
	id = call_start(&p, "/pkg.Echo/Say", extra, 2);
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 1); /* the first call only */
	ck_assert_uint_eq(st.blocks_lost, 1);
	ck_assert_uint_eq(st.streams_lost, 1);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* plain HTTP/2 (not gRPC): HTTP/1's strings, version 2 */
START_TEST(plain_http2)
{
	nghttp2_nv req[] = { NV(":method", "GET"),
			     NV(":scheme", "https"),
			     NV(":authority", "example.test"),
			     NV(":path", "/index.html?q=1"),
			     NV("user-agent", "curl/7.88.1"),
			     NV("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1") };
	nghttp2_nv head[] = { NV(":status", "404"), NV("content-type", "text/html") };
	static const uint8_t hello[] = "hello";
	nghttp2_data_provider prd = { .source.ptr = &resp_body, .read_callback = body_read };
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	pair_open(&p, NULL, 0, 0);
	id = nghttp2_submit_request(p.cli, NULL, req, 6, NULL, NULL);
	pump(&p);
	resp_body = (struct body){ .p = hello, .len = 5 };
	ck_assert_int_eq(nghttp2_submit_response(p.srv, id, head, 2, &prd), 0);
	pump(&p);
	s = replay(&p, 0, false, &st);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got[0].proto, OBS_PROTO_HTTP2);
	ck_assert_int_eq(got[0].kind, OBS_X_CLIENT);
	ck_assert_str_eq(got[0].op, "GET");
	ck_assert_str_eq(got[0].target, "/index.html?q=1");
	ck_assert_str_eq(got[0].host, "example.test");
	ck_assert_int_eq(got[0].status, 404);
	ck_assert_int_eq(got[0].error, 0);
	ck_assert_uint_eq(got[0].response_bytes, 5);
	ck_assert_uint_eq(got[0].request_bytes, 0);
	ck_assert(got_ctx[0].valid);
	ck_assert_int_eq(got_ctx[0].format, CTX_B3);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* grpc-trace-bin: OpenCensus's binary format, base64 (padded or not) */
START_TEST(grpc_trace_bin)
{
	/* 00 | 00 <16 bytes trace> | 01 <8 bytes span> | 02 01 */
	static const char *good = "AABL+S81d7NNpqPOkp0ODkc2AWF2yCCAwAYAAgE=";
	static const uint8_t tid[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t sid[8] = { 0x61, 0x76, 0xc8, 0x20, 0x80, 0xc0, 0x06, 0x00 };
	nghttp2_nv bin[] = { { (uint8_t *)"grpc-trace-bin", (uint8_t *)good, 14, 40, 0 } };
	struct trace_ctx c;
	struct h2_session_stats st;
	struct h2_session *s;
	struct pair p;
	int32_t id;

	ck_assert(h2_fields__trace_bin(good, strlen(good), &c));
	ck_assert_mem_eq(c.trace_id, tid, 16);
	ck_assert_mem_eq(c.span_id, sid, 8);
	ck_assert(c.sampled && c.decided);
	ck_assert(h2_fields__trace_bin(good, strlen(good) - 1, &c)); /* no padding */
	ck_assert(!h2_fields__trace_bin("AQBL", 4, &c));	     /* version 1 */
	ck_assert(!h2_fields__trace_bin("AABL+S81", 8, &c));	     /* cut */
	ck_assert(!h2_fields__trace_bin("AAB*", 4, &c));	     /* not base64 */
	ck_assert(!h2_fields__trace_bin("", 0, &c));

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/Say", bin, 1);
	call_answer(&p, id, 1, "0");
	s = replay(&p, 0, true, &st);
	ck_assert_int_eq(ngot, 1);
	ck_assert(got_ctx[0].valid);
	ck_assert_mem_eq(got_ctx[0].trace_id, tid, 16);
	ck_assert_mem_eq(got_ctx[0].span_id, sid, 8);
	h2_session__free(s);
	pair_close(&p);
}
END_TEST

/* ---- describe ---- */

static bool copy_clean(void *ctx, const char *in, char *out, size_t outlen)
{
	(void)ctx;
	snprintf(out, outlen, "%s", in);
	return true;
}

static const struct proto_attr *attr(const struct proto_desc *d, const char *key)
{
	for (int i = 0; i < d->nattrs; i++)
		if (!strcmp(d->attrs[i].key, key))
			return &d->attrs[i];
	return NULL;
}

START_TEST(describe_grpc)
{
	const struct proto *g = proto__by_id(OBS_PROTO_GRPC), *h = proto__by_id(OBS_PROTO_HTTP2);
	struct proto_text t = { .clean = copy_clean, .peer = "10.0.0.9" };
	struct obs_exchange x = { .proto = OBS_PROTO_GRPC,
				  .kind = OBS_X_SERVER,
				  .status = 200,
				  .local = { .family = 2, .port = 7201 },
				  .peer = { .family = 2, .port = 40000 } };
	static struct proto_desc d;
	const struct proto_attr *a;

	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(proto__by_name("http2")->id, OBS_PROTO_HTTP2);
	strcpy(x.target, "/pkg.Echo/Say");
	strcpy(x.host, "localhost:7201");
	strcpy(x.code, "3"); /* INVALID_ARGUMENT: the caller's fault, not the server's */
	g->describe(&x, &t, true, &d);
	ck_assert_ptr_null(d.lost);
	ck_assert_str_eq(d.labels[0], "grpc");
	ck_assert_str_eq(d.labels[1], "pkg.Echo");
	ck_assert_str_eq(d.labels[2], "Say");
	ck_assert_str_eq(d.labels[3], "3");
	ck_assert_str_eq(d.name, "pkg.Echo/Say");
	ck_assert(!d.error);
	ck_assert_int_eq(attr(&d, "rpc.grpc.status_code")->num, 3);
	ck_assert_ptr_null(attr(&d, "rpc.grpc.status_code")->str);
	ck_assert_str_eq(attr(&d, "rpc.system")->str, "grpc");
	ck_assert_str_eq(attr(&d, "rpc.service")->str, "pkg.Echo");
	ck_assert_str_eq(attr(&d, "rpc.method")->str, "Say");
	ck_assert_str_eq(attr(&d, "server.address")->str, "localhost");
	ck_assert_int_eq(attr(&d, "server.port")->num, 7201);
	ck_assert_str_eq(attr(&d, "network.protocol.version")->str, "2");
	strcpy(x.code, "14"); /* UNAVAILABLE: the server's */
	g->describe(&x, &t, true, &d);
	ck_assert(d.error);
	x.kind = OBS_X_CLIENT; /* a client: every code but OK */
	strcpy(x.code, "3");
	g->describe(&x, &t, true, &d);
	ck_assert(d.error);
	strcpy(x.code, "0");
	g->describe(&x, &t, true, &d);
	ck_assert(!d.error);
	x.code[0] = '\0'; /* no status: an error; with no response either, nothing to record */
	g->describe(&x, &t, true, &d);
	ck_assert(d.error);
	ck_assert_str_eq(d.labels[3], "");
	ck_assert_ptr_null(attr(&d, "rpc.grpc.status_code"));
	x.status = 0;
	g->describe(&x, &t, false, &d);
	ck_assert_str_eq(d.lost, "grpc_unanswered");

	/* HTTP/2: HTTP/1's labels, version 2 */
	x = (struct obs_exchange){ .proto = OBS_PROTO_HTTP2, .kind = OBS_X_SERVER, .status = 200, .version = 2 };
	strcpy(x.op, "GET");
	strcpy(x.target, "/a/1");
	h->describe(&x, &t, true, &d);
	ck_assert_str_eq(d.labels[0], "GET");
	ck_assert_str_eq(d.labels[1], "200");
	a = attr(&d, "network.protocol.version");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->str, "2");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("h2_session");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, unary_calls_and_table_reuse);
	tcase_add_test(tc, server_streaming);
	tcase_add_test(tc, trailers_only_error);
	tcase_add_test(tc, rst_stream);
	tcase_add_test(tc, goaway);
	tcase_add_test(tc, table_size_change);
	tcase_add_test(tc, midway_counted_lost);
	tcase_add_test(tc, response_direction_lost);
	tcase_add_test(tc, continuation_and_cut_block);
	tcase_add_test(tc, plain_http2);
	tcase_add_test(tc, grpc_trace_bin);
	tcase_add_test(tc, describe_grpc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
