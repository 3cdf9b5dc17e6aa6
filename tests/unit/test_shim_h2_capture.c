/* test_shim_h2_capture.c -- the shim's HTTP/2 capture without LD_PRELOAD: traceparent injection through netcap.c on
 * a loopback connection while the thread serves a traced HTTP/1 request (the program told its own byte counts, the
 * serving trace on the wire, written bytes the shim could not see ending injection on the connection), and
 * h2cap.c's OBS_REC_H2 records (a block split over records, the context, ids, LOST after a full ring, close) */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "h2_inject_wire.h"
#include "lib/tracectx.h"
#include "preload/h2cap.h"
#include "preload/netcap.h"
#include "preload/seg.h"
#include "preload/tlscap.h"

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

/* ---- inside TLS: a fake libssl (tlscap__use_real), its socket I/O reported as shim.c's wrappers would ---- */

struct fake_ssl {
	int fd, writes, want; /* @want: the next writes return WANT_WRITE (-1, EAGAIN) */
	uint8_t got[BUF];     /* what the last write was given */
	size_t got_len;
};

static int f_write(SSL *ssl, const void *buf, int num)
{
	struct fake_ssl *f = (struct fake_ssl *)ssl;
	struct iovec v = { (void *)"\x17\x03\x03\x00\x10", 5 }; /* an application data record on the socket */

	f->writes++;
	ck_assert_int_le(num, (int)sizeof(f->got));
	memcpy(f->got, buf, (size_t)num);
	f->got_len = (size_t)num;
	netcap__data(f->fd, 1, &v, 1, v.iov_len);
	if (f->want) {
		f->want--;
		errno = EAGAIN;
		return -1;
	}
	return num;
}

static int f_get_fd(const SSL *ssl)
{
	return ((const struct fake_ssl *)ssl)->fd;
}

static long f_ctrl(SSL *ssl, int cmd, long larg, void *parg)
{
	(void)ssl, (void)cmd, (void)larg, (void)parg;
	return 0; /* SSL_CTRL_MODE: no partial writes */
}

static const struct tlscap_real fake_lib = { .write = f_write, .get_fd = f_get_fd, .ctrl = f_ctrl };

START_TEST(inside_tls_while_serving)
{
	static const char in[] = "GET /in HTTP/1.1\r\nHost: a\r\n"
				 "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n";
	struct iovec v = { (void *)in, sizeof(in) - 1 };
	static struct fake_ssl f;
	struct wbuf *w = calloc(1, sizeof(*w));
	nghttp2_session *c = client(w, true); /* padded HEADERS: the field goes before the padding */
	struct seen sn = { 0 };
	nghttp2_session *sv = server(&sn);
	int up, srv, peer;
	int r;

	pad_to = 7;
	tlscap__use_real(&fake_lib);
	tcp_pair(&up, &srv);
	tcp_pair(&f.fd, &peer);
	netcap__data(srv, 0, &v, 1, v.iov_len); /* this thread serves a traced request */
	cli_start(c, w);
	ck_assert_int_eq(SSL_write((SSL *)&f, w->b, (int)w->n), (int)w->n); /* the preface: plain, TLS marked */
	srv_recv(sv, f.got, f.got_len);
	ck_assert(netcap__tls_injectable(f.fd));
	/* the request: our field inside the frame, the program told its own count; a WANT_WRITE retry first */
	cli_request(c, w, NULL, NULL);
	f.want = 1;
	ck_assert_int_eq(SSL_write((SSL *)&f, w->b, (int)w->n), -1);
	ck_assert_int_eq(tlscap__slots_held(), 1);
	r = SSL_write((SSL *)&f, w->b, (int)w->n); /* the retry OpenSSL requires: the same bytes */
	ck_assert_int_eq(r, (int)w->n);
	ck_assert_int_eq(tlscap__slots_held(), 0);
	ck_assert_uint_eq(f.got_len, w->n + INJH2_FIELD_LEN);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 1);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_FAILED], 0); /* the retry was known as the same write */
	srv_recv(sv, f.got, f.got_len);
	ck_assert_int_eq(sn.blocks, 1);
	ck_assert_int_eq(sn.headers, 7);
	ck_assert_int_eq(memcmp(sn.tp, "00-0af7651916cd43dd8448eb211c80319c-", 36), 0);
	/* the program's bytes were followed (its own frame length): the next request is injected too */
	cli_request(c, w, NULL, NULL);
	ck_assert_int_eq(SSL_write((SSL *)&f, w->b, (int)w->n), (int)w->n);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 2);
	srv_recv(sv, f.got, f.got_len);
	ck_assert_int_eq(sn.blocks, 2);
	ck_assert_int_eq(sn.traceparents, 2);
	tlscap__use_real(NULL);
	forget(f.fd);
	forget(peer);
	forget(up);
	forget(srv);
	nghttp2_session_del(c);
	nghttp2_session_del(sv);
	free(w);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_h2_capture");
	TCase *tc = tcase_create("capture");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, through_netcap_while_serving);
	tcase_add_test(tc, records_split_context_lost_close);
	tcase_add_test(tc, inside_tls_while_serving);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
