/* h2sink.c -- span_bench's OTLP/gRPC sink: an h2c server (nghttp2) on loopback that answers every unary call with
 * a trailers-only OK (grpc-status 0) and discards the request; one connection at a time, as the exporter uses them */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nghttp2/nghttp2.h>

#include "h2sink.h"

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
	int fd = *(int *)ud;
	ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

	(void)s, (void)flags;
	return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	static const nghttp2_nv hdrs[] = { NV(":status", "200"), NV("content-type", "application/grpc"),
					   NV("grpc-status", "0") };

	(void)ud;
	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return nghttp2_submit_response(s, f->hd.stream_id, hdrs, 3, NULL) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	return 0;
}

static void serve(int fd)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_session *s;
	uint8_t buf[65536];

	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
	nghttp2_session_server_new(&s, cbs, &fd);
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

static void *accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0)
		serve(fd);
	return NULL;
}

int h2sink__start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pthread_t t;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) ||
	    pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)fd))
		return -1;
	pthread_detach(t);
	return ntohs(a.sin_port);
}
