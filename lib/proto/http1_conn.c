/* http1_conn.c -- one TCP connection's HTTP/1.x exchanges: request/response pairing over two parsers */
#include <stddef.h>
#include <string.h>

#include "lib/proto/http1_conn.h"

static void copy_cut(char *dst, size_t size, const char *src, uint8_t *truncated)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		*truncated = 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct feed {
	struct http1_conn *c;
	int dir;
};

static void on_begin(void *ctx)
{
	struct feed *f = ctx;

	if (f->c->parser[f->dir].mode != HTTP_RESPONSES)
		f->c->req_begin_ns = f->c->now_ns;
}

static void on_header(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct feed *f = ctx;

	if (f->c->parser[f->dir].msg.is_request)
		ctx_extractor__header(&f->c->ctx, name, nlen, val, vlen);
}

static void on_head(void *ctx, struct http_msg *m)
{
	struct feed *f = ctx;
	struct http1_conn *c = f->c;
	struct obs_exchange *x;
	struct trace_ctx in;

	if (!m->is_request) {
		/* a response: the oldest pending request is the one it answers */
		c->resp_interim = m->status < 200;
		if (c->role == HTTP1_UNKNOWN)
			c->role = f->dir == PROTO_IN ? HTTP1_CLIENT : HTTP1_SERVER;
		if (!c->npending)
			return;
		x = &c->pending[c->head];
		if (strcmp(x->op, "HEAD") == 0)
			m->no_body = true;
		if (!c->resp_interim)
			x->status = m->status;
		return;
	}
	if (c->role == HTTP1_UNKNOWN) {
		c->role = f->dir == PROTO_IN ? HTTP1_SERVER : HTTP1_CLIENT;
		http_parser__init(&c->parser[!f->dir], HTTP_RESPONSES);
	}
	if (c->npending == HTTP1_PIPELINE) {
		c->dropped++; /* the oldest never got its answer: end it as incomplete to make room */
		x = &c->pending[c->head];
		x->incomplete = 1;
		x->end_ns = c->now_ns;
		if (c->cb && c->cb->on_exchange)
			c->cb->on_exchange(c->cb_ctx, x);
		c->head = (c->head + 1) % HTTP1_PIPELINE;
		c->npending--;
	}
	x = &c->pending[(c->head + c->npending) % HTTP1_PIPELINE];
	memset(x, 0, sizeof(*x));
	x->kind = c->role == HTTP1_SERVER ? OBS_X_SERVER : OBS_X_CLIENT;
	x->version = m->version_minor;
	x->start_ns = c->req_begin_ns ? c->req_begin_ns : c->now_ns;
	x->truncated = m->truncated;
	copy_cut(x->op, sizeof(x->op), m->method, &x->truncated);
	copy_cut(x->target, sizeof(x->target), m->target, &x->truncated);
	copy_cut(x->host, sizeof(x->host), m->host, &x->truncated);
	copy_cut(x->agent, sizeof(x->agent), m->user_agent, &x->truncated);
	c->npending++;
	ctx_extractor__finish(&c->ctx, &in);
	ctx_extractor__init(&c->ctx);
	if (in.valid) /* W3C's truncation rule when it does not fit */
		tracectx__truncate_state(x->tracestate, sizeof(x->tracestate), in.tracestate);
	if (c->cb && c->cb->on_request)
		c->cb->on_request(c->cb_ctx, x, &in);
	c->req_begin_ns = 0;
}

static void on_end(void *ctx, const struct http_msg *m)
{
	struct feed *f = ctx;
	struct http1_conn *c = f->c;
	struct obs_exchange *x;

	if (m->is_request) {
		/* the request's body is done; its exchange waits for the response */
		if (c->npending) {
			x = &c->pending[(c->head + c->npending - 1) % HTTP1_PIPELINE];
			x->request_bytes = m->body_bytes;
			x->incomplete |= m->incomplete;
		}
		return;
	}
	if (c->resp_interim) {
		c->resp_interim = 0;
		return;
	}
	if (!c->npending) {
		c->dropped++; /* a response to a request we never saw (attached mid-connection) */
		return;
	}
	x = &c->pending[c->head];
	x->end_ns = c->now_ns;
	x->response_bytes = m->body_bytes;
	x->incomplete |= m->incomplete;
	c->head = (c->head + 1) % HTTP1_PIPELINE;
	c->npending--;
	if (c->cb && c->cb->on_exchange)
		c->cb->on_exchange(c->cb_ctx, x);
}

static const struct http_parser_cb parser_cb = {
	.on_begin = on_begin,
	.on_header = on_header,
	.on_head = on_head,
	.on_end = on_end,
};

/* a direction known to carry responses: their header fields are of no use here (only requests carry context) */
static const struct http_parser_cb response_cb = {
	.on_begin = on_begin,
	.on_head = on_head,
	.on_end = on_end,
};

void http1_conn__init(struct http1_conn *c, const struct proto_sink *cb, void *cb_ctx)
{
	memset(c, 0, offsetof(struct http1_conn, pending));
	c->cb = cb;
	c->cb_ctx = cb_ctx;
	ctx_extractor__init(&c->ctx);
	http_parser__init(&c->parser[PROTO_IN], HTTP_ANY);
	http_parser__init(&c->parser[PROTO_OUT], HTTP_ANY);
}

void http1_conn__data(struct http1_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total,
		      uint64_t time_ns)
{
	struct feed f = { c, dir };
	const struct http_parser_cb *cb = c->parser[dir].mode == HTTP_RESPONSES ? &response_cb : &parser_cb;

	c->now_ns = time_ns;
	if (len)
		http_parser__feed(&c->parser[dir], buf, len, true, cb, &f);
	if (total > len)
		http_parser__gap(&c->parser[dir], total - len, cb, &f);
}

void http1_conn__close(struct http1_conn *c, uint64_t time_ns)
{
	struct feed f = { c, 0 };

	c->now_ns = time_ns;
	for (f.dir = 0; f.dir < 2; f.dir++)
		http_parser__close(&c->parser[f.dir], &parser_cb, &f);
	while (c->npending) {
		struct obs_exchange *x = &c->pending[c->head];

		x->incomplete = 1;
		x->end_ns = time_ns;
		c->head = (c->head + 1) % HTTP1_PIPELINE;
		c->npending--;
		if (c->cb && c->cb->on_exchange)
			c->cb->on_exchange(c->cb_ctx, x);
	}
}

bool http1_conn__injectable(const struct http1_conn *c)
{
	const struct http_parser *out = &c->parser[PROTO_OUT];

	return c->role != HTTP1_SERVER && !out->in_msg && out->mode != HTTP_RESPONSES && !out->errors &&
	       !c->parser[PROTO_IN].errors;
}
