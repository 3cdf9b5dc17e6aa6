/* test_shim_tls.c -- the shim's TLS capture against a fake libssl: the SSL* -> fd table (socket I/O inside the call,
 * reads answered from OpenSSL's buffer, SSL_get_fd, SSL_free), plaintext into the socket's parser with the TLS flag,
 * raw TLS bytes never parsed, and traceparent inside SSL writes: the stable buffer kept until the retry, the program's
 * own byte counts, and the outcomes (injected, no_slot, not_exact, failed) */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "preload/netcap.h"
#include "preload/netutil.h"
#include "preload/seg.h"
#include "preload/tlscap.h"

static struct obs_segment *s;

/* ---- the fake libssl: an SSL* is a struct fake, its socket I/O reported as shim.c's wrappers would ---- */
struct fake {
	int fd;		  /* the socket its BIO uses (SSL_get_fd says -1 when @bio_custom) */
	bool bio_custom;  /* curl's way: SSL_get_fd cannot tell */
	long mode;	  /* SSL_CTRL_MODE */
	int want;	  /* the next writes that return WANT_WRITE (-1, errno EAGAIN) */
	long short_write; /* > 0: the next write takes only this much (a partial count) */
	const char *in;	  /* plaintext the next read returns */
	bool buffered;	  /* the next read is answered from the buffer: no socket I/O */
	/* what the last write got */
	const void *got_buf;
	size_t got_len;
	char got[32768];
	int writes, frees;
};

static void socket_io(struct fake *f, int dir)
{
	struct iovec v = { (void *)"\x17\x03\x03\x00\x10", 5 }; /* an application data record */

	netcap__data(f->fd, dir, &v, 1, v.iov_len);
}

static int f_write(SSL *ssl, const void *buf, int num)
{
	struct fake *f = (struct fake *)ssl;

	f->writes++;
	f->got_buf = buf;
	f->got_len = (size_t)num;
	memcpy(f->got, buf, (size_t)num < sizeof(f->got) ? (size_t)num : sizeof(f->got));
	socket_io(f, 1);
	if (f->want) {
		f->want--;
		errno = EAGAIN;
		return -1;
	}
	errno = 4242; /* whatever the library leaves: the program sees it */
	if (f->short_write > 0 && f->short_write < num) {
		num = (int)f->short_write;
		f->short_write = 0;
	}
	return num;
}

static int f_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
	int r = f_write(ssl, buf, (int)num);

	if (r <= 0)
		return 0;
	*written = (size_t)r;
	return 1;
}

static int f_read(SSL *ssl, void *buf, int num)
{
	struct fake *f = (struct fake *)ssl;
	size_t n = strlen(f->in);

	if (!f->buffered)
		socket_io(f, 0);
	f->buffered = false;
	if (n > (size_t)num)
		n = (size_t)num;
	memcpy(buf, f->in, n);
	return (int)n;
}

static int f_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	*readbytes = (size_t)f_read(ssl, buf, (int)num);
	return 1;
}

static int f_get_fd(const SSL *ssl)
{
	const struct fake *f = (const struct fake *)ssl;

	return f->bio_custom ? -1 : f->fd;
}

static long f_ctrl(SSL *ssl, int cmd, long larg, void *parg)
{
	(void)parg;
	ck_assert_int_eq(cmd, 33);
	ck_assert_int_eq(larg, 0);
	return ((struct fake *)ssl)->mode;
}

static void f_free(SSL *ssl)
{
	((struct fake *)ssl)->frees++;
}

static int f_handshake(SSL *ssl)
{
	socket_io((struct fake *)ssl, 1);
	return 1;
}

static const struct tlscap_real fake_ssl = {
	.read = f_read,
	.read_ex = f_read_ex,
	.write = f_write,
	.write_ex = f_write_ex,
	.get_fd = f_get_fd,
	.ctrl = f_ctrl,
	.free = f_free,
	.do_handshake = f_handshake,
	.connect = f_handshake,
	.accept = f_handshake,
	.shutdown = f_handshake,
};

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
	tlscap__use_real(&fake_ssl);
}

static void teardown(void)
{
	tlscap__use_real(NULL);
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

static bool next_exchange(struct obs_exchange *x)
{
	struct obs_seg_rec r;

	if (!obs_seg_ring_get(s, &r))
		return false;
	ck_assert_uint_eq(r.type, OBS_REC_EXCHANGE);
	memcpy(x, r.data, sizeof(*x));
	return true;
}

static void raw(int fd, int dir, const char *bytes)
{
	struct iovec v = { (void *)bytes, strlen(bytes) };

	netcap__data(fd, dir, &v, 1, v.iov_len);
}

#define SSLP(f) ((SSL *)(f))

START_TEST(ssl_meets_its_socket)
{
	struct fake a = { .in = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" }, b = { 0 }, c = { .bio_custom = true };
	char buf[256];
	int cli, srv;

	tcp_pair(&cli, &srv);
	a.fd = srv;
	ck_assert_int_eq(tlscap__fd_of(SSLP(&a)), -1);
	/* the handshake's socket I/O: the socket is a's, marked TLS before a byte is parsed */
	ck_assert_int_eq(SSL_accept(SSLP(&a)), 1);
	ck_assert_int_eq(tlscap__fd_of(SSLP(&a)), srv);
	ck_assert(netcap__fd_class(srv) & OBS_FD_TLS);
	ck_assert(!netcap__fd_class(cli) || !(netcap__fd_class(cli) & OBS_FD_TLS));
	/* a read answered from OpenSSL's buffer (no socket I/O) still reaches srv's parser, by the table */
	a.buffered = true;
	ck_assert_int_eq(SSL_read(SSLP(&a), buf, sizeof(buf)), (int)strlen(a.in));
	ck_assert(netcap_serving.active);
	ck_assert_int_eq(SSL_write(SSLP(&a), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38), 38);
	ck_assert(!netcap_serving.active);
	/* SSL_get_fd when the SSL made no I/O yet (b), nothing at all for a custom BIO (c): counted lost */
	b.fd = cli;
	b.buffered = true;
	b.in = "HTTP/1.1 200 OK\r\n";
	ck_assert_int_eq(SSL_read(SSLP(&b), buf, sizeof(buf)), 17);
	ck_assert_int_eq(tlscap__fd_of(SSLP(&b)), cli);
	c.fd = cli;
	c.buffered = true;
	c.in = "x";
	ck_assert_int_eq(SSL_read(SSLP(&c), buf, sizeof(buf)), 1);
	ck_assert_uint_eq(s->h.lost[SEG_LOST_TLS_NO_SOCKET], 1);
	/* SSL_free forgets it, and the real SSL_free runs */
	SSL_free(SSLP(&a));
	ck_assert_int_eq(a.frees, 1);
	ck_assert_int_eq(tlscap__fd_of(SSLP(&a)), -1);
	ck_assert_int_eq(tlscap__fd_of(SSLP(&b)), cli);
}
END_TEST

START_TEST(table_bucket_full_falls_back)
{
	static struct fake many[64];
	int cli, srv, kept = 0;

	tcp_pair(&cli, &srv);
	for (int i = 0; i < 64; i++) {
		many[i].fd = srv;
		ck_assert_int_eq(SSL_do_handshake(SSLP(&many[i])), 1);
		kept += tlscap__fd_of(SSLP(&many[i])) == srv;
	}
	ck_assert_int_eq(kept, 64); /* 64 SSLs spread over 1024 buckets of 4 */
	for (int i = 0; i < 64; i++)
		SSL_free(SSLP(&many[i]));
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(tlscap__fd_of(SSLP(&many[i])), -1);
}
END_TEST

START_TEST(plaintext_flagged_and_ciphertext_never_parsed)
{
	struct fake a = { .in = "GET /t HTTP/1.1\r\nHost: x\r\n\r\n" };
	struct obs_exchange x;
	char buf[256];
	int cli, srv, cli2, srv2;

	tcp_pair(&cli, &srv);
	a.fd = srv;
	/* the raw bytes of srv before the first SSL call: a ClientHello record header -- recognised, not parsed */
	raw(srv, 0, "\x16\x03\x01\x02\x00\x01");
	ck_assert(netcap__fd_class(srv) & OBS_FD_TLS);
	raw(srv, 0, "GET /raw HTTP/1.1\r\nHost: x\r\n\r\n"); /* raw bytes of a TLS socket: ignored */
	ck_assert(!netcap_serving.active);
	ck_assert_int_eq(SSL_read_ex(SSLP(&a), buf, sizeof(buf), &(size_t){ 0 }), 1);
	ck_assert(netcap_serving.active);
	ck_assert_int_eq(SSL_write_ex(SSLP(&a), "HTTP/1.1 204 No Content\r\n\r\n", 27, &(size_t){ 0 }), 1);
	ck_assert(next_exchange(&x));
	ck_assert_str_eq(x.target, "/t");
	ck_assert_uint_eq(x.status, 204);
	ck_assert_uint_eq(x.flags & OBS_X_F_TLS, OBS_X_F_TLS);
	ck_assert(!x.incomplete);
	ck_assert(!next_exchange(&x));
	/* a plain connection is not flagged, and its first bytes are not taken for TLS */
	tcp_pair(&cli2, &srv2);
	raw(srv2, 0, "GET /p HTTP/1.1\r\nHost: x\r\n\r\n");
	raw(srv2, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	ck_assert(next_exchange(&x));
	ck_assert_uint_eq(x.flags, 0);
	ck_assert(!(netcap__fd_class(srv2) & OBS_FD_TLS));
	/* a clear prefix then TLS (PostgreSQL's SSLRequest and 'S'): the plaintext goes to a fresh parser, the prefix's
	 * pending request is not ended by it */
	{
		struct fake b = { .in = "GET /after HTTP/1.1\r\nHost: x\r\n\r\n" };
		int c3, s3;

		tcp_pair(&c3, &s3);
		b.fd = s3;
		raw(s3, 0, "GET /prefix HTTP/1.1\r\n");
		ck_assert_int_eq(SSL_accept(SSLP(&b)), 1);
		ck_assert_int_gt(SSL_read(SSLP(&b), buf, sizeof(buf)), 0);
		ck_assert_int_eq(SSL_write(SSLP(&b), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38), 38);
		ck_assert(next_exchange(&x));
		ck_assert_str_eq(x.target, "/after");
		ck_assert_uint_eq(x.flags, OBS_X_F_TLS);
		ck_assert(!next_exchange(&x));
	}
	/* the record check itself */
	ck_assert(netutil__tls_record((const uint8_t *)"\x16\x03\x01\x00\x05", 5));
	ck_assert(netutil__tls_record((const uint8_t *)"\x16\x03\x03\x00\x40\x02", 6));
	ck_assert(!netutil__tls_record((const uint8_t *)"\x16\x03\x03\x00\x40\x0b", 6)); /* not a hello */
	ck_assert(!netutil__tls_record((const uint8_t *)"\x16\x03\x05", 3));
	ck_assert(!netutil__tls_record((const uint8_t *)"\x16\x03\x01\xff\xff", 5)); /* too long a record */
	ck_assert(!netutil__tls_record((const uint8_t *)"\x16\x03", 2));
	ck_assert(!netutil__tls_record((const uint8_t *)"GET", 3));
}
END_TEST

/* a serving thread (a request read on an inbound TLS socket) with an outbound TLS connection @out */
static void serving_with_outbound(struct fake *in, struct fake *out)
{
	int cli, srv, up, peer;
	char buf[128];

	tcp_pair(&up, &srv);
	tcp_pair(&cli, &peer);
	in->fd = srv;
	in->in = "GET /in HTTP/1.1\r\nHost: a\r\n\r\n";
	ck_assert_int_gt(SSL_read(SSLP(in), buf, sizeof(buf)), 0);
	ck_assert(netcap_serving.active);
	out->fd = cli;
	ck_assert_int_eq(SSL_connect(SSLP(out)), 1);
	ck_assert(netcap__tls_injectable(cli));
}

static const char req[] = "GET /down HTTP/1.1\r\nHost: b\r\n\r\n";
#define REQ_LEN ((int)sizeof(req) - 1)
#define LINE_LEN 20 /* "GET /down HTTP/1.1\r\n" */

/* @got holds @req with a traceparent for the serving trace right after the request line */
static size_t check_injected(const struct fake *f)
{
	char tp[80], hex[33];

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", netcap_serving.trace_id[i]);
	snprintf(tp, sizeof(tp), "traceparent: 00-%s-", hex);
	ck_assert_int_eq(memcmp(f->got, req, LINE_LEN), 0);
	ck_assert_int_eq(memcmp(f->got + LINE_LEN, tp, strlen(tp)), 0);
	ck_assert_int_eq(memcmp(f->got + f->got_len - (REQ_LEN - LINE_LEN), req + LINE_LEN, REQ_LEN - LINE_LEN), 0);
	return f->got_len - REQ_LEN;
}

START_TEST(injection_with_own_counts)
{
	struct fake in = { 0 }, out = { 0 };
	struct obs_exchange x;
	size_t hdr, w = 77;
	char buf[64];

	serving_with_outbound(&in, &out);
	ck_assert_int_eq(SSL_write(SSLP(&out), req, REQ_LEN), REQ_LEN); /* the program's own count */
	ck_assert_int_eq(errno, 4242);					/* the library's errno */
	hdr = check_injected(&out);
	ck_assert_uint_eq(hdr, 70); /* "traceparent: 00-<32>-<16>-01\r\n" */
	ck_assert_ptr_ne(out.got_buf, req);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 1);
	ck_assert_int_eq(tlscap__slots_held(), 0);
	/* the answer ends a client exchange whose span is the one on the wire */
	out.in = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	ck_assert_int_gt(SSL_read(SSLP(&out), buf, sizeof(buf)), 0);
	ck_assert(next_exchange(&x));
	ck_assert_uint_eq(x.kind, 3);
	ck_assert_uint_eq(x.flags & OBS_X_F_TLS, OBS_X_F_TLS);
	ck_assert_int_eq(memcmp(x.trace_id, netcap_serving.trace_id, 16), 0);
	ck_assert_int_eq(memcmp(x.parent_id, netcap_serving.span_id, 8), 0);
	for (int i = 0; i < 8; i++)
		snprintf(buf + 2 * i, 3, "%02x", x.span_id[i]);
	ck_assert_int_eq(memcmp(out.got + LINE_LEN + 16 + 33, buf, 16), 0);
	/* SSL_write_ex: *written is the program's count */
	ck_assert_int_eq(SSL_write_ex(SSLP(&out), req, REQ_LEN, &w), 1);
	ck_assert_uint_eq(w, REQ_LEN);
	check_injected(&out);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 2);
	/* a request carrying its own traceparent, and a body: sent as they are, not counted */
	ck_assert_int_eq(SSL_write(SSLP(&out), "GET / HTTP/1.1\r\ntraceparent: x\r\n\r\n", 35), 35);
	ck_assert_uint_eq(out.got_len, 35);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 2);
}
END_TEST

START_TEST(retry_gets_the_same_buffer)
{
	struct fake in = { 0 }, out = { 0 };
	char moved[sizeof(req)];
	const void *first;
	size_t w = 77;

	serving_with_outbound(&in, &out);
	out.want = 2;
	ck_assert_int_eq(SSL_write(SSLP(&out), req, REQ_LEN), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(tlscap__slots_held(), 1);
	first = out.got_buf;
	check_injected(&out);
	/* the retry, from a moved copy of the same bytes: OpenSSL gets the same buffer and length again */
	memcpy(moved, req, sizeof(req));
	ck_assert_int_eq(SSL_write_ex(SSLP(&out), moved, REQ_LEN, &w), 0);
	ck_assert_uint_eq(w, 77); /* a failed call's count untouched */
	ck_assert_ptr_eq(out.got_buf, first);
	ck_assert_int_eq(SSL_write(SSLP(&out), moved, REQ_LEN), REQ_LEN);
	ck_assert_ptr_eq(out.got_buf, first);
	ck_assert_int_eq(out.writes, 3);
	ck_assert_int_eq(tlscap__slots_held(), 0);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 1);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_FAILED], 0);
}
END_TEST

START_TEST(given_up_writes_drop_the_slot)
{
	struct fake in = { 0 }, out = { 0 };
	static const char other[] = "GET /othr HTTP/1.1\r\nHost: b\r\n\r\n"; /* same length, other bytes */

	serving_with_outbound(&in, &out);
	out.want = 1;
	ck_assert_int_eq(SSL_write(SSLP(&out), req, REQ_LEN), -1);
	ck_assert_int_eq(tlscap__slots_held(), 1);
	/* another write: the slot is dropped (failed) and this one is planned on its own */
	ck_assert_int_eq(SSL_write(SSLP(&out), other, REQ_LEN), REQ_LEN);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_FAILED], 1);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 1);
	ck_assert_int_eq(memcmp(out.got, other, LINE_LEN), 0);
	ck_assert_int_eq(tlscap__slots_held(), 0);
	/* SSL_free while a write waits */
	out.want = 1;
	ck_assert_int_eq(SSL_write(SSLP(&out), req, REQ_LEN), -1);
	ck_assert_int_eq(tlscap__slots_held(), 1);
	SSL_free(SSLP(&out));
	ck_assert_int_eq(tlscap__slots_held(), 0);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_FAILED], 2);
	ck_assert_int_eq(out.frees, 1);
}
END_TEST

START_TEST(inexact_cases_are_left_alone)
{
	static struct fake holders[TLSCAP_SLOTS + 1];
	struct fake in = { 0 }, out = { 0 };
	static char big[TLSCAP_WRITE_MAX + 100];

	serving_with_outbound(&in, &out);
	/* partial-write mode: the count could not be mapped exactly -- unchanged, not_exact */
	out.mode = 1;
	ck_assert_int_eq(SSL_write(SSLP(&out), req, REQ_LEN), REQ_LEN);
	ck_assert_ptr_eq(out.got_buf, req);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_NOT_EXACT], 1);
	out.mode = 0;
	/* a write larger than a slot: no_slot */
	memset(big, 'a', sizeof(big));
	memcpy(big, "POST /u HTTP/1.1\r\nContent-Length: 16430\r\n\r\n", 44);
	ck_assert_int_eq(SSL_write(SSLP(&out), big, (int)sizeof(big)), (int)sizeof(big));
	ck_assert_ptr_eq(out.got_buf, big);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_NO_SLOT], 1);
	/* every slot held by a write waiting for its retry: the next request goes out unchanged, no_slot */
	for (int i = 0; i < TLSCAP_SLOTS + 1; i++) {
		int peer;

		tcp_pair(&holders[i].fd, &peer);
		ck_assert_int_eq(SSL_connect(SSLP(&holders[i])), 1);
		holders[i].want = 1;
		ck_assert_int_eq(SSL_write(SSLP(&holders[i]), req, REQ_LEN), -1);
	}
	ck_assert_int_eq(tlscap__slots_held(), TLSCAP_SLOTS);
	ck_assert_ptr_eq(holders[TLSCAP_SLOTS].got_buf, req);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_NO_SLOT], 2);
	for (int i = 0; i < TLSCAP_SLOTS; i++)
		SSL_free(SSLP(&holders[i]));
	ck_assert_int_eq(tlscap__slots_held(), 0);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_FAILED], TLSCAP_SLOTS);
	/* a count cut inside our lines (a mode changed under us): the program hears of its request line only */
	holders[0].want = 0;
	holders[0].short_write = LINE_LEN + 5;
	ck_assert_int_eq(SSL_write(SSLP(&holders[0]), req, REQ_LEN), LINE_LEN);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_FAILED], TLSCAP_SLOTS + 1);
	holders[1].want = 0;
	holders[1].short_write = 3;
	ck_assert_int_eq(SSL_write(SSLP(&holders[1]), req, REQ_LEN), 3);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 0);
	/* not serving: nothing planned, nothing counted */
	netcap_serving.active = false;
	ck_assert_int_eq(SSL_write(SSLP(&out), req, REQ_LEN), REQ_LEN);
	ck_assert_ptr_eq(out.got_buf, req);
}
END_TEST

START_TEST(not_armed_passes_through)
{
	struct fake a = { .fd = -1, .in = "abc" };
	char buf[8];

	seg__use(NULL);
	seg_armed = false;
	errno = 0;
	ck_assert_int_eq(SSL_read(SSLP(&a), buf, sizeof(buf)), 3);
	ck_assert_int_eq(SSL_write(SSLP(&a), "xy", 2), 2);
	ck_assert_int_eq(errno, 4242);
	ck_assert_int_eq(tlscap__fd_of(SSLP(&a)), -1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_tls");
	TCase *tc = tcase_create("tls");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ssl_meets_its_socket);
	tcase_add_test(tc, table_bucket_full_falls_back);
	tcase_add_test(tc, plaintext_flagged_and_ciphertext_never_parsed);
	tcase_add_test(tc, injection_with_own_counts);
	tcase_add_test(tc, retry_gets_the_same_buffer);
	tcase_add_test(tc, given_up_writes_drop_the_slot);
	tcase_add_test(tc, inexact_cases_are_left_alone);
	tcase_add_test(tc, not_armed_passes_through);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
