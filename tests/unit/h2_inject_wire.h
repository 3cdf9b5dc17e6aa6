/* h2_inject_wire.h -- for the shim's HTTP/2 injection tests: a libnghttp2 client whose every send is one write, a
 * libnghttp2 server decoding what went out, frames made by hand, and the plan of one write */
#ifndef OBSPROBE_TEST_H2_INJECT_WIRE_H
#define OBSPROBE_TEST_H2_INJECT_WIRE_H

#include <check.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preload/inject_h2.h"

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


/* a frame by hand at @o: its length */
static size_t frame(uint8_t *o, uint8_t type, uint8_t flags, uint32_t stream, const void *payload, size_t len)
{
	o[0] = (uint8_t)(len >> 16), o[1] = (uint8_t)(len >> 8), o[2] = (uint8_t)len;
	o[3] = type, o[4] = flags;
	o[5] = (uint8_t)(stream >> 24), o[6] = (uint8_t)(stream >> 16), o[7] = (uint8_t)(stream >> 8);
	o[8] = (uint8_t)stream;
	if (len) /* an empty frame may come with no payload pointer */
		memcpy(o + H2_FRAME_HEAD, payload, len);
	return H2_FRAME_HEAD + len;
}

/* :method GET, :scheme http, :path / (static table), then a literal field of the given name form */
static const uint8_t lit_block[] = { 0x82, 0x86, 0x84, 0x00, 0x0b, 't', 'r',  'a', 'c', 'e',
				     'p',  'a',	 'r',  'e',  'n',  't', 0x03, 'a', 'b', 'c' };
static const uint8_t plain_block[] = { 0x82, 0x86, 0x84 };


#endif
