/* h2_pair.h -- for the HTTP/2 unit tests: a libnghttp2 client and server talking in memory, every chunk each
 * one sent kept in order (the exact bytes a traced process would read and write), and gRPC calls made on them */
#ifndef OBSPROBE_TEST_H2_PAIR_H
#define OBSPROBE_TEST_H2_PAIR_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>


#define CHUNKS 512

struct chunk {
	bool from_client;
	size_t len;
	uint8_t *data;
};

struct pair {
	nghttp2_session *cli, *srv;
	struct chunk log[CHUNKS];
	int n, fed; /* chunks sent, chunks given to the peer */
	bool sending_client;
	bool deaf; /* the server gets nothing more (what it would refuse is still on the wire) */
};

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
	struct pair *p = user;

	(void)s, (void)flags;
	ck_assert_int_lt(p->n, CHUNKS);
	p->log[p->n].from_client = p->sending_client;
	p->log[p->n].len = len;
	p->log[p->n].data = malloc(len);
	memcpy(p->log[p->n++].data, data, len);
	return (ssize_t)len;
}

/* everything either side has to send crosses to the other */
static void pump(struct pair *p)
{
	for (int round = 0; round < 16; round++) {
		p->sending_client = true;
		ck_assert_int_eq(nghttp2_session_send(p->cli), 0);
		p->sending_client = false;
		ck_assert_int_eq(nghttp2_session_send(p->srv), 0);
		if (p->fed == p->n)
			return;
		for (; p->fed < p->n; p->fed++) {
			struct chunk *c = &p->log[p->fed];

			if (p->deaf && c->from_client)
				continue;
			ck_assert_int_eq(nghttp2_session_mem_recv(c->from_client ? p->srv : p->cli, c->data, c->len),
					 (ssize_t)c->len);
		}
	}
	ck_abort_msg("the sessions never went quiet");
}

/* @deflate_max: the client's encoder may use a table up to so large, when the server allows it (0: 4096) */
static void pair_open(struct pair *p, const nghttp2_settings_entry *srv_settings, int nsrv, size_t deflate_max)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(nghttp2_session_callbacks_new(&cbs), 0);
	nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
	ck_assert_int_eq(nghttp2_option_new(&opt), 0);
	if (deflate_max)
		nghttp2_option_set_max_deflate_dynamic_table_size(opt, deflate_max);
	nghttp2_option_set_max_send_header_block_length(opt, 200000); /* (over H2_BLOCK_MAX: it is counted) */
	ck_assert_int_eq(nghttp2_session_client_new2(&p->cli, cbs, p, opt), 0);
	nghttp2_option_del(opt);
	ck_assert_int_eq(nghttp2_session_server_new(&p->srv, cbs, p), 0);
	nghttp2_session_callbacks_del(cbs);
	ck_assert_int_eq(nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	ck_assert_int_eq(nghttp2_submit_settings(p->srv, NGHTTP2_FLAG_NONE, srv_settings, nsrv), 0);
	pump(p);
}

static void pair_close(struct pair *p)
{
	nghttp2_session_del(p->cli);
	nghttp2_session_del(p->srv);
	for (int i = 0; i < p->n; i++)
		free(p->log[i].data);
}

/* a body given to nghttp2: its bytes, then END_STREAM unless @no_end (trailers follow) */
struct body {
	const uint8_t *p;
	size_t len, off;
	bool no_end;
};

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct body *b = src->ptr;
	size_t n = b->len - b->off < length ? b->len - b->off : length;

	(void)s, (void)id, (void)user;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	if (b->off == b->len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (b->no_end)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return (ssize_t)n;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}

/* gRPC messages: a 5-byte prefix (not compressed, big-endian length) and @len payload bytes each */
static size_t grpc_msgs(uint8_t *out, int n, size_t len)
{
	size_t at = 0;

	for (int i = 0; i < n; i++) {
		out[at++] = 0;
		out[at++] = len >> 24, out[at++] = len >> 16 & 0xff, out[at++] = len >> 8 & 0xff;
		out[at++] = len & 0xff;
		memset(out + at, 'a' + i, len);
		at += len;
	}
	return at;
}

static uint8_t req_msg[64], resp_msgs[256];
static struct body req_body, resp_body;

/* a unary or server-streaming call: one request message, @nresp response messages, grpc-status @code */
static int32_t call_start(struct pair *p, const char *path, const nghttp2_nv *extra, int nextra)
{
	nghttp2_nv nva[12] = {
		NV(":method", "POST"),
		NV(":scheme", "http"),
		NV(":authority", "localhost:7201"),
		{ (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), NGHTTP2_NV_FLAG_NONE },
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
		NV("user-agent", "grpc-c/1.51.1"),
	};
	nghttp2_data_provider prd = { .source.ptr = &req_body, .read_callback = body_read };
	int32_t id;

	if (nextra)
		memcpy(nva + 7, extra, nextra * sizeof(*extra));
	req_body = (struct body){ .p = req_msg, .len = grpc_msgs(req_msg, 1, 10) };
	id = nghttp2_submit_request(p->cli, NULL, nva, 7 + nextra, &prd, NULL);
	ck_assert_int_gt(id, 0);
	pump(p);
	return id;
}

static void call_answer(struct pair *p, int32_t id, int nresp, const char *code)
{
	nghttp2_nv head[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
	nghttp2_nv trailers[] = { { (uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), 0 },
				  NV("grpc-message", "secret words") };
	nghttp2_data_provider prd = { .source.ptr = &resp_body, .read_callback = body_read };

	resp_body = (struct body){ .p = resp_msgs, .len = grpc_msgs(resp_msgs, nresp, 20), .no_end = true };
	ck_assert_int_eq(nghttp2_submit_response(p->srv, id, head, 2, &prd), 0);
	pump(p);
	ck_assert_int_eq(nghttp2_submit_trailer(p->srv, id, trailers, 2), 0);
	pump(p);
}

#endif
