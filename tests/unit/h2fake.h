/* h2fake.h -- a scripted h2c server (nghttp2) for the OTLP/gRPC exporter's tests: answers call K with script[K] (the
 * last one repeats), keeps the first call's request headers and every request body.  Header-only: test files
 * include it. */
#ifndef OBSPROBE_H2FAKE_H
#define OBSPROBE_H2FAKE_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nghttp2/nghttp2.h>

struct h2fake_resp {
	const char *status;	   /* ":status", e.g. "200" */
	const char *ctype;	   /* content-type, NULL = none */
	const char *grpc_status;   /* NULL = none */
	const char *grpc_message;  /* NULL = none */
	const char *details;	   /* grpc-status-details-bin (base64), NULL = none */
	const char *encoding;	   /* grpc-encoding of the answer, NULL = none */
	const uint8_t *body;	   /* response body (with the gRPC prefix), sent in DATA before the trailers */
	size_t body_len;	   /* 0: trailers-only (the status in the headers) */
};

struct h2fake {
	int lfd, port;
	pthread_t thread;
	const struct h2fake_resp *script;
	int nscript;
	pthread_mutex_t lock;
	int calls;
	char headers[2048]; /* the first call's request headers, "name: value\n" each */
	uint8_t bodies[8][65536];
	size_t body_len[8];
	/* per connection */
	int fd;
	const struct h2fake_resp *cur;
	size_t sent;
};

static ssize_t h2fake_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
	ssize_t n = send(((struct h2fake *)ud)->fd, data, len, MSG_NOSIGNAL);

	(void)s, (void)flags;
	return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

#define H2FAKE_NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE }

static void h2fake_status_nv(const struct h2fake_resp *r, nghttp2_nv *nv, size_t *n)
{
	if (r->grpc_status)
		nv[(*n)++] = (nghttp2_nv)H2FAKE_NV("grpc-status", r->grpc_status);
	if (r->grpc_message)
		nv[(*n)++] = (nghttp2_nv)H2FAKE_NV("grpc-message", r->grpc_message);
	if (r->details)
		nv[(*n)++] = (nghttp2_nv)H2FAKE_NV("grpc-status-details-bin", r->details);
}

static ssize_t h2fake_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			   nghttp2_data_source *src, void *ud)
{
	struct h2fake *f = ud;
	const struct h2fake_resp *r = f->cur;
	size_t n = r->body_len - f->sent;
	nghttp2_nv nv[4];
	size_t nnv = 0;

	(void)src;
	if (n > len)
		n = len;
	memcpy(buf, r->body + f->sent, n);
	f->sent += n;
	if (f->sent == r->body_len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		h2fake_status_nv(r, nv, &nnv);
		if (nnv) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			nghttp2_submit_trailer(s, id, nv, nnv);
		}
	}
	return (ssize_t)n;
}

static int h2fake_frame(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
	struct h2fake *f = ud;
	const struct h2fake_resp *r;
	nghttp2_nv nv[8];
	size_t n = 0;
	nghttp2_data_provider dp = { .read_callback = h2fake_read };

	if (!((fr->hd.type == NGHTTP2_DATA || fr->hd.type == NGHTTP2_HEADERS) && (fr->hd.flags & NGHTTP2_FLAG_END_STREAM)))
		return 0;
	pthread_mutex_lock(&f->lock);
	r = &f->script[f->calls < f->nscript ? f->calls : f->nscript - 1];
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	f->cur = r;
	f->sent = 0;
	nv[n++] = (nghttp2_nv)H2FAKE_NV(":status", r->status);
	if (r->ctype)
		nv[n++] = (nghttp2_nv)H2FAKE_NV("content-type", r->ctype);
	if (r->encoding)
		nv[n++] = (nghttp2_nv)H2FAKE_NV("grpc-encoding", r->encoding);
	if (!r->body_len) /* trailers-only */
		h2fake_status_nv(r, nv, &n);
	return nghttp2_submit_response(s, fr->hd.stream_id, nv, n, r->body_len ? &dp : NULL) ? NGHTTP2_ERR_CALLBACK_FAILURE
											       : 0;
}

static int h2fake_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name, size_t nlen,
			 const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2fake *f = ud;
	size_t used = strlen(f->headers);

	(void)s, (void)fr, (void)flags;
	pthread_mutex_lock(&f->lock);
	if (f->calls == 0)
		snprintf(f->headers + used, sizeof(f->headers) - used, "%.*s: %.*s\n", (int)nlen, name, (int)vlen,
			 value);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int h2fake_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
	struct h2fake *f = ud;
	int k;

	(void)s, (void)flags, (void)id;
	pthread_mutex_lock(&f->lock);
	k = f->calls < 8 ? f->calls : 7;
	if (f->body_len[k] + len <= sizeof(f->bodies[k])) {
		memcpy(f->bodies[k] + f->body_len[k], data, len);
		f->body_len[k] += len;
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void *h2fake_loop(void *arg)
{
	struct h2fake *c = arg;
	uint8_t buf[65536];
	int fd;

	while ((fd = accept(c->lfd, NULL, NULL)) >= 0) {
		nghttp2_session_callbacks *cbs;
		nghttp2_session *s;

		c->fd = fd;
		nghttp2_session_callbacks_new(&cbs);
		nghttp2_session_callbacks_set_send_callback(cbs, h2fake_send);
		nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2fake_frame);
		nghttp2_session_callbacks_set_on_header_callback(cbs, h2fake_header);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2fake_data);
		nghttp2_session_server_new(&s, cbs, c);
		nghttp2_session_callbacks_del(cbs);
		nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
		while (nghttp2_session_send(s) == 0 && (nghttp2_session_want_read(s) || nghttp2_session_want_write(s))) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)n) < 0)
				break;
		}
		nghttp2_session_del(s);
		close(fd);
	}
	return NULL;
}

/* Listen on 127.0.0.1 (kernel-chosen port) and serve @script; 0 or -1. */
static int h2fake_start(struct h2fake *c, const struct h2fake_resp *script, int nscript)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(c, 0, sizeof(*c));
	c->script = script;
	c->nscript = nscript;
	pthread_mutex_init(&c->lock, NULL);
	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(c->lfd, 8) ||
	    getsockname(c->lfd, (struct sockaddr *)&a, &alen))
		return -1;
	c->port = ntohs(a.sin_port);
	return pthread_create(&c->thread, NULL, h2fake_loop, c) ? -1 : 0;
}

static void h2fake_stop(struct h2fake *c)
{
	shutdown(c->lfd, SHUT_RDWR);
	pthread_join(c->thread, NULL);
	close(c->lfd);
}

#endif
