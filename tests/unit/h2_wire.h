/* h2_wire.h -- HTTP/2 bytes for the tests, written by libnghttp2: one gRPC call (a client and a server session),
 * header blocks from its HPACK deflater in hand-built frames, and its inflater to read blocks back */
#ifndef OBSPROBE_TEST_H2_WIRE_H
#define OBSPROBE_TEST_H2_WIRE_H

#include <check.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- bytes from libnghttp2 -------------------------------------------------------------------- */

struct wire {
	uint8_t b[65536];
	size_t len;
};

static inline ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags, void *ud)
{
	struct wire *w = ud;

	(void)session;
	(void)flags;
	ck_assert_uint_le(w->len + length, sizeof(w->b));
	memcpy(w->b + w->len, data, length);
	w->len += length;
	return (ssize_t)length;
}

/* a DATA source: the gRPC messages of @grpc_body, at most @chunk bytes per frame */
struct body {
	const uint8_t *p;
	size_t len, at, chunk;
	bool trailers; /* the stream ends with a HEADERS frame, not with the last DATA */
};

static inline ssize_t on_read(nghttp2_session *session, int32_t stream, uint8_t *buf, size_t length, uint32_t *flags,
			      nghttp2_data_source *src, void *ud)
{
	struct body *b = src->ptr;
	size_t k = b->len - b->at;

	(void)session, (void)stream, (void)ud;
	if (k > length)
		k = length;
	if (k > b->chunk)
		k = b->chunk;
	memcpy(buf, b->p + b->at, k);
	b->at += k;
	if (b->at == b->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF | (b->trailers ? NGHTTP2_DATA_FLAG_NO_END_STREAM : 0);
	return (ssize_t)k;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}

/* gRPC messages of sizes @sizes (a 5-byte prefix each; payload bytes 'a'+i) */
static inline size_t grpc_body(uint8_t *out, const uint32_t *sizes, int n)
{
	size_t at = 0;

	for (int i = 0; i < n; i++) {
		out[at] = 0;
		out[at + 1] = sizes[i] >> 24, out[at + 2] = sizes[i] >> 16, out[at + 3] = sizes[i] >> 8;
		out[at + 4] = sizes[i];
		memset(out + at + 5, 'a' + i, sizes[i]);
		at += 5 + sizes[i];
	}
	return at;
}

static uint8_t req_body[8192], resp_body[8192];
static size_t req_body_len, resp_body_len;

/* one gRPC call: the client's bytes (preface, SETTINGS with a table size, HEADERS, 3 messages in DATA frames of
 * at most 1000 bytes) and the server's (SETTINGS, ACK, HEADERS, 2 messages, trailers) */
static inline void grpc_call(struct wire *cli, struct wire *srv)
{
	static const uint32_t req_sizes[] = { 10, 2000, 0 }, resp_sizes[] = { 1500, 7 };
	nghttp2_session_callbacks *cbs;
	nghttp2_session *c, *s;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 8192 },
					{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
	nghttp2_nv req[] = { NV(":method", "POST"),
			     NV(":scheme", "http"),
			     NV(":path", "/pkg.Greeter/SayHello"),
			     NV(":authority", "127.0.0.1:7100"),
			     NV("content-type", "application/grpc"),
			     NV("te", "trailers") };
	nghttp2_nv resp[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
	nghttp2_nv trailers[] = { NV("grpc-status", "5"), NV("grpc-message", "not found") };
	struct body rb = { .p = req_body, .chunk = 1000 }, sb = { .p = resp_body, .chunk = 1000, .trailers = true };
	nghttp2_data_provider rp = { .source.ptr = &rb, .read_callback = on_read };
	nghttp2_data_provider sp = { .source.ptr = &sb, .read_callback = on_read };
	int32_t id;

	rb.len = req_body_len = grpc_body(req_body, req_sizes, 3);
	sb.len = resp_body_len = grpc_body(resp_body, resp_sizes, 2);
	cli->len = srv->len = 0;
	ck_assert_int_eq(nghttp2_session_callbacks_new(&cbs), 0);
	nghttp2_session_callbacks_set_send_callback(cbs, on_send);
	ck_assert_int_eq(nghttp2_session_client_new(&c, cbs, cli), 0);
	ck_assert_int_eq(nghttp2_session_server_new(&s, cbs, srv), 0);
	ck_assert_int_eq(nghttp2_submit_settings(c, NGHTTP2_FLAG_NONE, iv, 2), 0);
	id = nghttp2_submit_request(c, NULL, req, sizeof(req) / sizeof(req[0]), &rp, NULL);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(nghttp2_session_send(c), 0);
	ck_assert_int_eq(nghttp2_session_mem_recv(s, cli->b, cli->len), (ssize_t)cli->len);
	ck_assert_int_eq(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	ck_assert_int_eq(nghttp2_submit_response(s, id, resp, 2, &sp), 0);
	ck_assert_int_eq(nghttp2_session_send(s), 0);
	ck_assert_int_eq(nghttp2_submit_headers(s, NGHTTP2_FLAG_END_STREAM, id, NULL, trailers, 2, NULL), 0);
	ck_assert_int_eq(nghttp2_session_send(s), 0);
	nghttp2_session_del(c);
	nghttp2_session_del(s);
	nghttp2_session_callbacks_del(cbs);
}

/* the header fields of a block, "name=value;" each, through libnghttp2's inflater */
static inline void inflate(nghttp2_hd_inflater *inf, const uint8_t *in, size_t len, char *out, size_t room)
{
	out[0] = 0;
	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t k = nghttp2_hd_inflate_hd2(inf, &nv, &fl, in, len, 1);
		size_t n = strlen(out);

		ck_assert_int_ge(k, 0);
		in += k;
		len -= (size_t)k;
		if (fl & NGHTTP2_HD_INFLATE_EMIT)
			snprintf(out + n, room - n, "%.*s=%.*s;", (int)nv.namelen, nv.name, (int)nv.valuelen, nv.value);
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(inf);
			break;
		}
		if (!k && !len)
			break;
	}
	ck_assert_uint_eq(len, 0);
}

/* a frame head at @p: the bytes after it */
static inline uint8_t *head(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
	p[0] = len >> 16, p[1] = len >> 8, p[2] = len, p[3] = type, p[4] = flags;
	p[5] = stream >> 24, p[6] = stream >> 16, p[7] = stream >> 8, p[8] = stream;
	return p + 9;
}

static inline size_t deflate(uint8_t *out, size_t room)
{
	nghttp2_hd_deflater *def;
	nghttp2_nv nv[] = { NV(":method", "GET"),
			    NV(":scheme", "https"),
			    NV(":path", "/a/long/path/for/splitting"),
			    NV(":authority", "example.com"),
			    NV("user-agent", "test_h2_frame/1.0"),
			    NV("x-custom", "0123456789abcdef0123456789abcdef") };
	ssize_t n;

	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	n = nghttp2_hd_deflate_hd(def, out, room, nv, sizeof(nv) / sizeof(nv[0]));
	ck_assert_int_gt(n, 40);
	nghttp2_hd_deflate_del(def);
	return (size_t)n;
}

#endif
