/* test_shim_capture.c -- the shim's capture code without LD_PRELOAD: socket classes, connections opened and
 * closed, bytes fed to the parser ending as exchange records in a segment in memory, traceparent injection
 * planned (and written here, as the wrapper would), log lines recorded and tag plans; and the sampling decision
 * of a shim started with the collector's OBSPROBE_SAMPLE_RATIO against the collector's own */
#include <arpa/inet.h>
#include <check.h>
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/sampler.h"
#include "lib/tracectx.h"
#include "preload/logcap.h"
#include "preload/netcap.h"
#include "preload/seg.h"

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

/* a TCP connection on loopback: *cli connected (classified outbound), *srv accepted (inbound) */
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

static void feed(int fd, int dir, const char *bytes)
{
	struct iovec v = { (void *)bytes, strlen(bytes) };

	netcap__data(fd, dir, &v, 1, v.iov_len);
}

/* the next ring record, which must be of @type */
static void next_rec(uint32_t type, void *out, size_t len)
{
	struct obs_seg_rec r;

	ck_assert_msg(obs_seg_ring_get(s, &r), "no record in the ring");
	ck_assert_uint_eq(r.type, type);
	memcpy(out, r.data, len < r.len ? len : r.len);
}

static void hex_of(char *out, const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

START_TEST(fd_classes_and_connections)
{
	int cli, srv, udp = socket(AF_INET, SOCK_DGRAM, 0), ux[2];

	tcp_pair(&cli, &srv);
	ck_assert_uint_eq(netcap__fd_class(cli), OBS_FD_OUTBOUND | OBS_FD_TCP);
	ck_assert_uint_eq(netcap__fd_class(srv), OBS_FD_INBOUND | OBS_FD_TCP);
	ck_assert_int_eq(netcap__sock_proto(cli), SEG_TCP);
	ck_assert(netcap__has_conn(cli) && netcap__has_conn(srv));
	ck_assert_uint_eq(s->h.conns_opened[SEG_OUTBOUND], 1);
	ck_assert_uint_eq(s->h.conns_opened[SEG_INBOUND], 1);
	/* UDP and unix sockets: a class, no parser, no TCP connection counted */
	netcap__opened(udp, OBS_FD_OUTBOUND, NULL, 0);
	ck_assert_uint_eq(netcap__fd_class(udp), OBS_FD_OUTBOUND | OBS_FD_UDP);
	ck_assert_int_eq(netcap__sock_proto(udp), SEG_UDP);
	ck_assert(!netcap__has_conn(udp));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, ux), 0);
	netcap__opened(ux[0], OBS_FD_INBOUND, NULL, 0);
	ck_assert_uint_eq(netcap__fd_class(ux[0]), OBS_FD_INBOUND | OBS_FD_UNIX);
	ck_assert(!netcap__has_conn(ux[0]));
	ck_assert_uint_eq(s->h.conns_opened[SEG_OUTBOUND] + s->h.conns_opened[SEG_INBOUND], 2);
	/* not a socket, or out of range: nothing */
	netcap__opened(0 - 1, OBS_FD_INBOUND, NULL, 0);
	netcap__opened(OBS_FD_MAX, OBS_FD_INBOUND, NULL, 0);
	ck_assert_int_eq(netcap__sock_proto(-1), -1);
	ck_assert_int_eq(netcap__sock_proto(OBS_FD_MAX + 5), -1);
	/* closed: the class goes, TCP counted closed, the parser ends */
	forget(cli);
	forget(srv);
	forget(udp);
	forget(ux[0]);
	close(ux[1]);
	ck_assert_uint_eq(netcap__fd_class(cli), 0);
	ck_assert(!netcap__has_conn(cli) && !netcap__has_conn(srv));
	ck_assert_uint_eq(s->h.conns_closed[SEG_OUTBOUND], 1);
	ck_assert_uint_eq(s->h.conns_closed[SEG_INBOUND], 1);
	ck_assert_uint_eq(s->h.lost[SEG_LOST_CONNS_FULL], 0);
}
END_TEST

START_TEST(server_exchange_into_the_segment)
{
	static const char tid[] = "0af7651916cd43dd8448eb211c80319c", sid[] = "b7ad6b7169203331";
	struct obs_exchange x;
	char hex[33];
	int cli, srv;

	tcp_pair(&cli, &srv);
	feed(srv, 0, "GET /api/users/7 HTTP/1.1\r\nHost: a\r\n");
	ck_assert(!netcap_serving.active); /* the head is not whole yet */
	feed(srv, 0, "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n");
	ck_assert(netcap_serving.active);
	hex_of(hex, netcap_serving.trace_id, 16);
	ck_assert_str_eq(hex, tid);
	ck_assert(!obs_seg_ring_get(s, &(struct obs_seg_rec){ 0 })); /* nothing until the response ends */
	feed(srv, 1, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
	ck_assert(!netcap_serving.active);
	next_rec(OBS_REC_EXCHANGE, &x, sizeof(x));
	ck_assert_uint_eq(x.kind, 2);
	ck_assert_uint_eq(x.status, 201);
	ck_assert_str_eq(x.op, "GET");
	ck_assert_str_eq(x.target, "/api/users/7");
	ck_assert_int_eq(x.pid, getpid());
	hex_of(hex, x.trace_id, 16);
	ck_assert_str_eq(hex, tid);
	hex_of(hex, x.parent_id, 8);
	ck_assert_str_eq(hex, sid);
	ck_assert(x.parent_remote && x.sampled && !x.incomplete);
	ck_assert_uint_eq(x.response_bytes, 2);
	ck_assert_uint_eq(x.local.family, AF_INET);
	ck_assert_uint_eq(x.peer.family, AF_INET);
	ck_assert_uint_ne(x.peer.port, x.local.port);
	/* a request cut by the connection closing: incomplete, status 0 */
	feed(srv, 0, "GET /gone HTTP/1.1\r\nHost: a\r\n\r\n");
	forget(srv);
	next_rec(OBS_REC_EXCHANGE, &x, sizeof(x));
	ck_assert_str_eq(x.target, "/gone");
	ck_assert(x.incomplete && x.status == 0);
	ck_assert(!x.parent_remote); /* no context came: a new trace */
	forget(cli);
}
END_TEST

/* the wrapper's part of an injection, as shim.c does it: write the plan, report the result */
static ssize_t write_planned(int fd, const struct inject_plan *p)
{
	return netcap__inject_done(fd, writev(fd, p->iov, p->iovcnt));
}

START_TEST(injection_planned_written_and_joined)
{
	static const char head[] = "GET /down HTTP/1.1\r\nHost: b\r\n\r\n";
	const struct inject_plan *p;
	struct obs_exchange x;
	char wire[512], want[128], tp[56];
	struct iovec iov[2] = { { (void *)head, 10 }, { (void *)(head + 10), sizeof(head) - 1 - 10 } };
	int up, srv, cli, peer;
	ssize_t n, got;

	tcp_pair(&up, &srv);		     /* a request comes in on srv ... */
	tcp_pair(&cli, &peer);		     /* ... and this thread calls out on cli */
	ck_assert(!netcap__injectable(cli)); /* not serving */
	feed(srv, 0, "GET /in HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert(netcap__injectable(cli));
	ck_assert(!netcap__injectable(srv)); /* accepted, not connected */
	/* a head that does not end in this write: sent unchanged, and the connection is not left locked */
	iov[1].iov_len -= 2;
	ck_assert_ptr_null(netcap__inject_plan(cli, iov, 2));
	iov[1].iov_len += 2;
	ck_assert_ptr_null(netcap__inject_plan(cli, (const struct iovec *)8, 2)); /* the program's bad pointer */
	/* one whole head: our line after the request line, the program told its own count */
	p = netcap__inject_plan(cli, iov, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->line, strlen("GET /down HTTP/1.1\r\n"));
	ck_assert_uint_eq(p->hdrlen, strlen("traceparent: ") + 55 + 2);
	n = write_planned(cli, p);
	ck_assert_int_eq(n, sizeof(head) - 1);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 1);
	got = recv(peer, wire, sizeof(wire) - 1, 0);
	ck_assert_int_eq(got, (ssize_t)(sizeof(head) - 1 + p->hdrlen));
	wire[got] = '\0';
	/* the client span the wire names: the exchange the response completes */
	feed(cli, 0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	next_rec(OBS_REC_EXCHANGE, &x, sizeof(x));
	ck_assert_uint_eq(x.kind, 3);
	ck_assert_str_eq(x.target, "/down");
	ck_assert_int_eq(memcmp(x.trace_id, netcap_serving.trace_id, 16), 0);
	ck_assert_int_eq(memcmp(x.parent_id, netcap_serving.span_id, 8), 0);
	tracectx__format_traceparent(tp, sizeof(tp), x.trace_id, x.span_id, x.sampled);
	snprintf(want, sizeof(want), "GET /down HTTP/1.1\r\ntraceparent: %s\r\nHost: b\r\n\r\n", tp);
	ck_assert_str_eq(wire, want);
	/* a request carrying its own traceparent is left alone */
	{
		static const char own[] = "GET / HTTP/1.1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-"
					  "b7ad6b7169203331-01\r\n\r\n";
		struct iovec v = { (void *)own, sizeof(own) - 1 };

		ck_assert_ptr_null(netcap__inject_plan(cli, &v, 1));
	}
	/* an error: the program sees it as it came, nothing counted */
	p = netcap__inject_plan(cli, iov, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(netcap__inject_done(cli, -1), -1);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE] + s->h.inject[SEG_INJ_CUT] + s->h.inject[SEG_INJ_NO_ROOM], 1);
	/* the kernel took part of our line: the rest follows (MSG_DONTWAIT), the program is told its request line */
	p = netcap__inject_plan(cli, iov, 2);
	ck_assert_ptr_nonnull(p);
	n = netcap__inject_done(cli, (ssize_t)(p->line + 5));
	ck_assert_int_eq(n, (ssize_t)p->line);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE] + s->h.inject[SEG_INJ_CUT], 2);
	/* the rest of that request is a body being written: never ours to change */
	ck_assert_ptr_null(netcap__inject_plan(cli, iov, 2));
	forget(cli);
	forget(peer);
	forget(up);
	forget(srv);
}
END_TEST

/* a send buffer with no room for the head and our lines: the program's bytes go out as they are (no_room) */
START_TEST(injection_without_room)
{
	static const char head[] = "GET /full HTTP/1.1\r\nHost: b\r\n\r\n";
	struct iovec v = { (void *)head, sizeof(head) - 1 };
	static char junk[65536];
	int up, srv, cli, peer, small = 4096, rounds = 0;

	tcp_pair(&up, &srv);
	tcp_pair(&cli, &peer);
	feed(srv, 0, "GET /in HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	while (send(cli, junk, sizeof(junk), MSG_DONTWAIT) > 0 && rounds < 1000) /* the peer never reads */
		rounds++;
	ck_assert_int_lt(rounds, 1000);
	ck_assert_ptr_null(netcap__inject_plan(cli, &v, 1));
	ck_assert_uint_eq(s->h.inject[SEG_INJ_NO_ROOM], 1);
	ck_assert_uint_eq(s->h.inject[SEG_INJ_DONE], 0);
	ck_assert_ptr_null(netcap__inject_plan(cli, &v, 1)); /* and the connection was given back */
	ck_assert_uint_eq(s->h.inject[SEG_INJ_NO_ROOM], 2);
	ck_assert_uint_eq(s->h.lost[SEG_LOST_BUSY], 0);
	forget(cli);
	forget(peer);
	forget(up);
	forget(srv);
}
END_TEST

START_TEST(log_lines_recorded_and_tag_planned)
{
	static const uint8_t trace[16] = { 0x0a, 0xf7, 0x65 }, span[8] = { 0xb7, 0xad };
	struct obs_seg_log rec;
	const char *line;
	char big[PIPE_BUF];
	size_t len;

	setenv("OBSPROBE_LOG_TAG", "1", 1);
	logcap__init();
	ck_assert(logcap__tag_enabled());
	/* one whole line: tagged before its newline */
	line = logcap__tag_plan("INFO ok\n", 8, trace, span, &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_eq(len, 8 + LOGTAG_LEN);
	ck_assert_int_eq(memcmp(line, "INFO ok trace_id=0af765", 23), 0);
	ck_assert_int_eq(memcmp(line + 7 + 42, " span_id=b7ad", 13), 0);
	ck_assert_int_eq(line[len - 1], '\n');
	/* written whole: the program told its 8 bytes, its own line logged with the ids */
	ck_assert_int_eq(logcap__tag_done(1, 8, len, (ssize_t)len, trace, span), 8);
	next_rec(OBS_REC_LOG, &rec, sizeof(rec));
	ck_assert_uint_eq(rec.stream, 1);
	ck_assert_uint_eq(rec.len, 8);
	ck_assert_int_eq(memcmp(rec.text, "INFO ok\n", 8), 0);
	ck_assert_int_eq(memcmp(rec.trace_id, trace, 16), 0);
	/* cut inside the tag: its text counts; cut in the text: as the kernel said; an error: as it came */
	line = logcap__tag_plan("INFO ok\n", 8, trace, span, &len);
	ck_assert_int_eq(logcap__tag_done(2, 8, len, 20, trace, span), 7);
	next_rec(OBS_REC_LOG, &rec, sizeof(rec));
	ck_assert_uint_eq(rec.len, 7);
	line = logcap__tag_plan("INFO ok\n", 8, trace, span, &len);
	ck_assert_int_eq(logcap__tag_done(2, 8, len, 3, trace, span), 3);
	next_rec(OBS_REC_LOG, &rec, sizeof(rec));
	ck_assert_uint_eq(rec.len, 3);
	line = logcap__tag_plan("INFO ok\n", 8, trace, span, &len);
	ck_assert_int_eq(logcap__tag_done(2, 8, len, -1, trace, span), -1);
	ck_assert(!obs_seg_ring_get(s, &(struct obs_seg_rec){ 0 }));
	/* written as they are: not one line, two lines, outside a request, too long tagged, a bad buffer */
	ck_assert_ptr_null(logcap__tag_plan("no newline", 10, trace, span, &len));
	ck_assert_ptr_null(logcap__tag_plan("a\nb\n", 4, trace, span, &len));
	ck_assert_ptr_null(logcap__tag_plan("INFO ok\n", 8, NULL, NULL, &len));
	memset(big, 'x', sizeof(big));
	big[PIPE_BUF - LOGTAG_LEN] = '\n';
	ck_assert_ptr_null(logcap__tag_plan(big, PIPE_BUF - LOGTAG_LEN + 1, trace, span, &len));
	ck_assert_ptr_nonnull(logcap__tag_plan(big + 1, PIPE_BUF - LOGTAG_LEN, trace, span, &len));
	ck_assert_ptr_null(logcap__tag_plan((const void *)8, 8, trace, span, &len));
	/* a write outside a request: zero ids; a long one continues in the next record */
	{
		static char text[OBS_SEG_LOG_TEXT + 10];
		struct iovec v[2] = { { "ab", 2 }, { text, sizeof(text) } };

		memset(text, 'y', sizeof(text));
		logcap__write(2, v, 2, 2 + sizeof(text), NULL, NULL);
		next_rec(OBS_REC_LOG, &rec, sizeof(rec));
		ck_assert(rec.cut && rec.len == OBS_SEG_LOG_TEXT && !memcmp(rec.text, "abyy", 4));
		ck_assert_int_eq(rec.trace_id[0] | rec.span_id[0], 0);
		next_rec(OBS_REC_LOG, &rec, sizeof(rec));
		ck_assert(!rec.cut && rec.len == 12);
	}
	logcap__write(5, &(struct iovec){ "x\n", 2 }, 1, 2, NULL, NULL); /* not stdout/stderr */
	ck_assert(!obs_seg_ring_get(s, &(struct obs_seg_rec){ 0 }));
	unsetenv("OBSPROBE_LOG_TAG");
	logcap__init();
	ck_assert_ptr_null(logcap__tag_plan("INFO ok\n", 8, trace, span, &len));
}
END_TEST

START_TEST(calls_recorded)
{
	uint64_t t0 = tsc__now();
	uint64_t n = 0;

	seg__record(SEG_WRITE, t0, 10, 0);
	seg__record(SEG_WRITE, t0, -1, EBADF);
	seg__record_io(SEG_SENDTO, SEG_TCP, t0, 100, 0);
	seg__record_io(SEG_RECVFROM, -1, t0, 50, 0); /* not a socket seen opened: no socket bytes */
	for (int st = 0; st < OBS_SEG_STRIPES; st++) {
		n += s->hist[st][SEG_WRITE].count;
		ck_assert_uint_eq(s->sock[st][SEG_RECEIVE][SEG_TCP].bytes, 0);
		if (s->sock[st][SEG_TRANSMIT][SEG_TCP].bytes)
			ck_assert_uint_eq(s->sock[st][SEG_TRANSMIT][SEG_TCP].bytes, 100);
	}
	ck_assert_uint_eq(n, 2);
	for (int i = 0; i < OBS_SEG_ERRS; i++)
		if (s->errs[i].key)
			ck_assert_uint_eq(s->errs[i].key, (uint32_t)obs_seg_slot_nr[SEG_WRITE] << 16 | EBADF);
}
END_TEST

/* Every thread alive at once records K calls: the first SEG_STRIPES_OWNED each into a stripe of their own (the
 * upper half, exactly K each), the rest into the shared lower half; a stripe given back at a thread's exit is
 * taken by the next thread.  No count is lost either way. */
#define STRIPE_K 1000
static pthread_barrier_t stripe_bar;

static void *stripe_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&stripe_bar); /* all alive before any records: none exits and frees a stripe early */
	for (int i = 0; i < STRIPE_K; i++)
		seg__record(SEG_READ, tsc__now(), 1, 0);
	pthread_barrier_wait(&stripe_bar);
	return NULL;
}

static void stripe_counts(uint64_t *shared, uint64_t *owned, int *full)
{
	*shared = *owned = 0;
	*full = 0;
	for (int st = 0; st < OBS_SEG_STRIPES; st++) {
		uint64_t n = s->hist[st][SEG_READ].count;

		if (st < SEG_STRIPES_SHARED) {
			*shared += n;
		} else {
			*owned += n;
			*full += n == STRIPE_K;
		}
	}
}

START_TEST(stripes_owned_then_shared)
{
	enum { N = SEG_STRIPES_OWNED + 3 };
	pthread_t t[N];
	uint64_t shared, owned;
	int full;

	pthread_barrier_init(&stripe_bar, NULL, N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, stripe_thread, NULL), 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&stripe_bar);
	stripe_counts(&shared, &owned, &full);
	ck_assert_uint_eq(owned, (uint64_t)SEG_STRIPES_OWNED * STRIPE_K);
	ck_assert_int_eq(full, SEG_STRIPES_OWNED);
	ck_assert_uint_eq(shared, 3ull * STRIPE_K);
	/* all exited: one thread more gets a stripe of its own again */
	pthread_barrier_init(&stripe_bar, NULL, 1);
	ck_assert_int_eq(pthread_create(&t[0], NULL, stripe_thread, NULL), 0);
	pthread_join(t[0], NULL);
	pthread_barrier_destroy(&stripe_bar);
	stripe_counts(&shared, &owned, &full);
	ck_assert_uint_eq(owned, (uint64_t)(SEG_STRIPES_OWNED + 1) * STRIPE_K);
	ck_assert_uint_eq(shared, 3ull * STRIPE_K);
}
END_TEST

/* The collector passes its --sample-ratio to the programs it starts as OBSPROBE_SAMPLE_RATIO printed with
 * SAMPLER_RATIO_FMT; a shim reading it decides every trace as the collector does.  The trace ids are chosen
 * between the ratio and its six-digit form ("%g"), where a shim given the short form decides otherwise. */
START_TEST(shim_samples_as_the_collector)
{
	const double ratio = 0.1234567891, shortr = 0.123457; /* "%g" of ratio */
	char env[64], req[256];
	int cli, srv, kept = 0, n = 0;

	snprintf(env, sizeof(env), SAMPLER_RATIO_FMT, ratio);
	setenv("OBSPROBE_SAMPLE_RATIO", env, 1);
	netcap__init();
	tcp_pair(&cli, &srv);
	for (int i = 0; i < 64; i++) {
		/* a trace id just under, or between the two ratios (b3 without a decision: the ratio decides) */
		double at = i % 2 ? ratio + (shortr - ratio) * (i + 1) / 66.0 : ratio * (1 - 1e-9 * (i + 1));
		uint64_t v = (uint64_t)(at * 18446744073709551616.0);
		uint8_t id[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6 };
		char hex[33];
		struct obs_exchange x;

		for (int k = 0; k < 8; k++)
			id[15 - k] = v >> (8 * k);
		hex_of(hex, id, 16);
		snprintf(req, sizeof(req), "GET /s HTTP/1.1\r\nb3: %s-00f067aa0ba902b7\r\n\r\n", hex);
		feed(srv, 0, req);
		feed(srv, 1, "HTTP/1.1 204 No Content\r\n\r\n");
		next_rec(OBS_REC_EXCHANGE, &x, sizeof(x));
		ck_assert_int_eq(memcmp(x.trace_id, id, 16), 0);
		ck_assert_int_eq(x.sampled, sampler__keep(ratio, id)); /* the collector's decision */
		n += sampler__keep(ratio, id) != sampler__keep(shortr, id);
		kept += x.sampled;
	}
	ck_assert_int_eq(n, 32); /* the ids where "%g" would have decided otherwise */
	ck_assert_int_eq(kept, 32);
	forget(cli);
	forget(srv);
	unsetenv("OBSPROBE_SAMPLE_RATIO");
	netcap__init();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_capture");
	TCase *tc = tcase_create("capture");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fd_classes_and_connections);
	tcase_add_test(tc, server_exchange_into_the_segment);
	tcase_add_test(tc, injection_planned_written_and_joined);
	tcase_add_test(tc, injection_without_room);
	tcase_add_test(tc, log_lines_recorded_and_tag_planned);
	tcase_add_test(tc, calls_recorded);
	tcase_add_test(tc, stripes_owned_then_shared);
	tcase_add_test(tc, shim_samples_as_the_collector);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
