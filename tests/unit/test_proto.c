/* test_proto.c -- the protocol registry, detection and the capture-off verdict of struct proto_conn */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/h2_frame.h"
#include "lib/proto/http1_conn.h"
#include "lib/proto/registry.h"

struct seen {
	int requests, exchanges;
	char log[512]; /* "kind status target;" per exchange */
	struct obs_exchange last;
};

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *s = ctx;

	(void)in;
	s->requests++;
	x->pid = 7;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	s->exchanges++;
	s->last = *x;
	snprintf(s->log + n, sizeof(s->log) - n, "%d %d %s;", x->kind, x->status, x->target);
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static enum proto_verdict feed(struct proto_conn *c, enum proto_dir dir, const char *s)
{
	return proto_conn__feed(c, dir, s, strlen(s), strlen(s), 1000);
}

START_TEST(registry)
{
	const struct proto *h = proto__by_id(OBS_PROTO_HTTP1);

	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->name, "http1");
	ck_assert_ptr_eq(proto__by_name("http1"), h);
	ck_assert_ptr_null(proto__by_id(OBS_PROTO_NONE));
	ck_assert_ptr_null(proto__by_id(200));
	ck_assert_ptr_null(proto__by_name("gopher"));
	for (int i = 0; proto_registry[i]; i++) {
		const struct proto *p = proto_registry[i];

		ck_assert(p->id > OBS_PROTO_NONE && p->id < OBS_PROTO__COUNT);
		ck_assert_uint_le(p->state_size, PROTO_STATE_MAX);
		ck_assert(p->detect && p->init && p->feed && p->close && p->progress && p->describe);
		ck_assert_ptr_eq(proto__by_id(p->id), p);
	}
	ck_assert_int_eq(h->detect("GET / HTTP/1.1\r\n", 16, PROTO_IN), PROTO_YES);
	ck_assert_int_eq(h->detect("HTTP/1.1 200 OK\r\n", 17, PROTO_IN), PROTO_YES);
	ck_assert_int_eq(h->detect("\r\nPOST /x HTTP/1.0\r\n", 20, PROTO_OUT), PROTO_YES);
	ck_assert_int_eq(h->detect("GE", 2, PROTO_OUT), PROTO_MAYBE);
	ck_assert_int_eq(h->detect("\r\n", 2, PROTO_OUT), PROTO_MAYBE);
	ck_assert_int_eq(h->detect("*1\r\n$4\r\nPING\r\n", 14, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h->detect("\x16\x03\x01\x00\xa5", 5, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(h->detect("GET /\r\n", 7, PROTO_OUT), PROTO_NO); /* HTTP/0.9: the parser refuses it too */
	ck_assert_int_eq(h->detect("HTTP/1.1 20x OK\r\n", 17, PROTO_IN), PROTO_NO);
}
END_TEST

/* HTTP/2's first bytes and the other protocols' are told apart both ways: the preface, a server's SETTINGS and a
 * client's HEADERS seen mid-way are no other protocol's; HTTP/1, Redis, PostgreSQL and TLS first bytes are not
 * HTTP/2's (a PostgreSQL startup message of 257 bytes reads as a HEADERS head of stream 0x03000075) */
START_TEST(h2_detection_disjoint)
{
	static const struct {
		const char *s;
		size_t len;
	} h2[] = { { H2_PREFACE, 24 },
		   { "\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x01\x00\x00\x10\x00", 15 },
		   { "\x00\x00\x05\x01\x04\x00\x00\x00\x01\x82\x84\x86\x41\x8a", 14 } },
	  other[] = { { "GET / HTTP/1.1\r\n", 16 },
		      { "HTTP/1.1 200 OK\r\n", 17 },
		      { "PRI * HTTP/1.1\r\n", 16 },
		      { "*1\r\n$4\r\nPING\r\n", 14 },
		      { "+OK\r\n", 5 },
		      { "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8 },
		      { "\x00\x00\x01\x01\x00\x03\x00\x00user\0", 13 },
		      { "\x00\x00\x01\x04\x00\x03\x00\x00user\0", 13 },
		      { "R\x00\x00\x00\x08\x00\x00\x00\x00", 9 },
		      { "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1", 9 } };

	for (size_t i = 0; i < sizeof(h2) / sizeof(h2[0]); i++) {
		ck_assert_int_eq(h2_frame__detect(h2[i].s, h2[i].len, PROTO_IN), i ? PROTO_MAYBE : PROTO_YES);
		for (int k = 0; proto_registry[k]; k++) {
			const struct proto *p = proto_registry[k];

			if (p->id != OBS_PROTO_HTTP2 && p->id != OBS_PROTO_GRPC)
				ck_assert_msg(p->detect(h2[i].s, h2[i].len, PROTO_IN) == PROTO_NO &&
						      p->detect(h2[i].s, h2[i].len, PROTO_OUT) == PROTO_NO,
					      "%s claims HTTP/2 bytes %zu", p->name, i);
		}
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_msg(h2_frame__detect(other[i].s, other[i].len, PROTO_IN) == PROTO_NO &&
				      h2_frame__detect(other[i].s, other[i].len, PROTO_OUT) == PROTO_NO,
			      "HTTP/2 claims %zu", i);
}
END_TEST

/* HTTP bytes are claimed; every exchange carries the protocol and the connection's addresses */
START_TEST(http_is_claimed)
{
	static struct proto_conn c;
	struct seen s = { 0 };

	proto_conn__init(&c, &sink, &s);
	c.local = (struct obs_addr){ .family = 2, .port = 8080, .addr = { 127, 0, 0, 1 } };
	c.peer = (struct obs_addr){ .family = 2, .port = 40000, .addr = { 127, 0, 0, 2 } };
	ck_assert_int_eq(feed(&c, PROTO_IN, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"), PROTO_CLAIMED);
	ck_assert_ptr_eq(c.proto, proto__by_id(OBS_PROTO_HTTP1));
	ck_assert_int_eq(s.requests, 1);
	ck_assert_int_eq(feed(&c, PROTO_OUT, "HTTP/1.1 204 No Content\r\n\r\n"), PROTO_GOING);
	ck_assert_int_eq(s.exchanges, 1);
	ck_assert_int_eq(s.last.proto, OBS_PROTO_HTTP1);
	ck_assert_int_eq(s.last.kind, OBS_X_SERVER);
	ck_assert_int_eq(s.last.status, 204);
	ck_assert_int_eq(s.last.pid, 7); /* what on_request set stays */
	ck_assert_int_eq(s.last.local.port, 8080);
	ck_assert_int_eq(s.last.peer.port, 40000);
	ck_assert_int_eq(s.last.peer.addr[3], 2);
	ck_assert_str_eq(s.last.op, "GET");
	ck_assert_str_eq(s.last.host, "h");
	/* sure now: garbage later is the parser's business, never a verdict */
	ck_assert_int_eq(feed(&c, PROTO_IN, "\x16\x03\x01"), PROTO_GOING);
	ck_assert_int_eq(feed(&c, PROTO_IN, "\x16\x03\x01"), PROTO_GOING);
	ck_assert_int_eq(feed(&c, PROTO_IN, "\x16\x03\x01"), PROTO_GOING);
	ck_assert_int_eq(feed(&c, PROTO_IN, "GET /b HTTP/1.1\r\n\r\n"), PROTO_GOING);
	proto_conn__close(&c, 2000);
	ck_assert_int_eq(s.exchanges, 2);
	ck_assert_int_eq(s.last.status, 0);
}
END_TEST

/* what no protocol claims turns capture off after PROTO_STRIKES chunks (today's two-parse-error rule) */
START_TEST(ssh_and_tls_turn_capture_off)
{
	static struct proto_conn c;
	struct seen s = { 0 };
	static const char tls[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";

	proto_conn__init(&c, &sink, &s);
	ck_assert_int_eq(feed(&c, PROTO_OUT, "SSH-2.0-OpenSSH_9.2\r\n"), PROTO_GOING);
	ck_assert_int_eq(feed(&c, PROTO_IN, "SSH-2.0-OpenSSH_9.2p1\r\n"), PROTO_OFF);
	ck_assert(c.off);
	ck_assert_int_eq(feed(&c, PROTO_OUT, "GET / HTTP/1.1\r\n\r\n"), PROTO_OFF); /* ignored from now on */
	ck_assert_int_eq(s.requests, 0);

	proto_conn__init(&c, &sink, &s);
	ck_assert_int_eq(proto_conn__feed(&c, PROTO_OUT, tls, sizeof(tls) - 1, 517, 1), PROTO_GOING);
	ck_assert_int_eq(proto_conn__feed(&c, PROTO_IN, tls, sizeof(tls) - 1, 1400, 2), PROTO_OFF);

	/* one stray chunk is forgiven: a connection we saw from its middle */
	proto_conn__init(&c, &sink, &s);
	ck_assert_int_eq(feed(&c, PROTO_IN, "tail of a body"), PROTO_GOING);
	ck_assert_int_eq(feed(&c, PROTO_IN, "GET /x HTTP/1.1\r\n\r\n"), PROTO_CLAIMED);
	ck_assert_int_eq(feed(&c, PROTO_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), PROTO_GOING);
	ck_assert_int_eq(s.exchanges, 1);

	/* claimed on a maybe, then its parser fails before it is sure: that is the second strike */
	proto_conn__init(&c, &sink, &s);
	ck_assert_int_eq(feed(&c, PROTO_OUT, "junk"), PROTO_GOING);
	ck_assert_int_eq(feed(&c, PROTO_OUT, "GET /y HTTP/1.1\r\nno colon here\r\n"), PROTO_OFF);

	/* a gap before anything claimed is a strike, but not when it is the rest of a strike's bytes; an empty
	 * call is nothing */
	proto_conn__init(&c, &sink, &s);
	ck_assert_int_eq(proto_conn__feed(&c, PROTO_IN, NULL, 0, 0, 1), PROTO_GOING);
	ck_assert_int_eq(proto_conn__gap(&c, PROTO_IN, 100, 1), PROTO_GOING);
	ck_assert_int_eq(proto_conn__gap(&c, PROTO_IN, 100, 2), PROTO_GOING);
	ck_assert_int_eq(proto_conn__gap(&c, PROTO_OUT, 100, 3), PROTO_OFF);
}
END_TEST

/* The verdict and the exchanges are those of the rule before the interface (one HTTP/1 connection parser
 * fed everything; "not HTTP" when its role is unknown and its two parsers counted 2 errors), for random
 * sequences of requests, responses, splits, gaps, garbage, Redis and TLS bytes in both directions. */
static const struct {
	const char *s;
	uint64_t extra; /* bytes not captured after these */
} pieces[] = {
	{ "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0 },
	{ "HTTP/1.1 100 Continue\r\n\r\n", 0 },
	{ "GE", 0 },
	{ "T /b HTTP/1.1\r\n\r\n", 0 },
	{ "\r\n", 0 },
	{ "SSH-2.0-OpenSSH_9.2\r\n", 0 }, /* Redis is claimed now: bytes no protocol claims instead */
	{ "+PONG\r\n", 0 },
	{ "\x16\x03\x01\x00\xa5\x01\x00", 0 },
	{ "garbage", 0 },
	{ "HTTP/1.1 abc\r\n", 0 },
	{ "POST /c HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 0 },
	{ "hello", 0 },
	{ "", 100 },
	{ "GET /d HTTP/1.1\r\nHo", 3000 },
	{ "GET / HTTP/1.1\r\nbad header line\r\n\r\n", 0 },
	{ "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0 },
	{ "GET /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0 },
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(same_verdict_as_before)
{
	static struct proto_conn c;
	static struct http1_conn old;
	uint64_t r = 0x9e3779b97f4a7c15ull;
	int offs = 0, claims = 0;

	for (int iter = 0; iter < 20000; iter++) {
		struct seen sn = { 0 }, so = { 0 };
		int n = 1 + rnd(&r) % 7;
		bool old_off = false, new_off = false;

		proto_conn__init(&c, &sink, &sn);
		http1_conn__init(&old, &sink, &so);
		for (int i = 0; i < n && !old_off; i++) {
			int k = rnd(&r) % (sizeof(pieces) / sizeof(pieces[0]));
			enum proto_dir dir = rnd(&r) & 1 ? PROTO_OUT : PROTO_IN;
			size_t len = strlen(pieces[k].s);
			enum proto_verdict v;

			http1_conn__data(&old, dir, pieces[k].s, len, len + pieces[k].extra, i);
			old_off = old.role == HTTP1_UNKNOWN && old.parser[0].errors + old.parser[1].errors >= 2;
			v = proto_conn__feed(&c, dir, pieces[k].s, len, len + pieces[k].extra, i);
			new_off = v == PROTO_OFF;
			claims += v == PROTO_CLAIMED;
			if (old_off != new_off || (getenv("TRACE_ITER") && atoi(getenv("TRACE_ITER")) == iter))
				fprintf(stderr,
					"iter %d step %d piece %d dir %d old %d new %d errs %lu/%lu role %d strikes %d\n",
					iter, i, k, dir, old_off, new_off, (unsigned long)old.parser[0].errors,
					(unsigned long)old.parser[1].errors, old.role, c.strikes);
			ck_assert_msg(old_off == new_off, "iteration %d, step %d: old %d new %d", iter, i, old_off,
				      new_off);
			ck_assert_int_eq(sn.requests, so.requests);
			ck_assert_str_eq(sn.log, so.log);
		}
		offs += old_off;
		if (!old_off) {
			http1_conn__close(&old, 99);
			proto_conn__close(&c, 99);
			ck_assert_str_eq(sn.log, so.log);
		}
	}
	ck_assert_int_gt(offs, 1000); /* both outcomes were exercised */
	ck_assert_int_gt(claims, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, registry);
	tcase_add_test(tc, h2_detection_disjoint);
	tcase_add_test(tc, http_is_claimed);
	tcase_add_test(tc, ssh_and_tls_turn_capture_off);
	tcase_add_test(tc, same_verdict_as_before);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
