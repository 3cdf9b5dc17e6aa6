/* test_http.c -- the HTTP/1.x parser and connection pairing: splits, pipelining, chunked, 100-continue, garbage */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/http1_parser.h"
#include "lib/proto/http1_conn.h"

struct seen {
	int begins, heads, ends, incomplete, headers;
	char method[8][16], target[8][64], tp[8][64];
	int status[8];
	uint64_t body[8];
	bool close[8], incomplete_at[8];
};

static void s_begin(void *ctx)
{
	((struct seen *)ctx)->begins++;
}

static void s_header(void *ctx, const char *n, size_t nl, const char *v, size_t vl)
{
	struct seen *s = ctx;

	s->headers++;
	if (nl == 11 && !strncasecmp(n, "traceparent", 11) && s->heads < 8)
		snprintf(s->tp[s->heads], 64, "%.*s", (int)vl, v);
}

static void s_head(void *ctx, struct http_msg *m)
{
	struct seen *s = ctx;

	if (s->heads < 8) {
		snprintf(s->method[s->heads], 16, "%s", m->method);
		snprintf(s->target[s->heads], 64, "%.63s", m->target);
		s->status[s->heads] = m->status;
	}
	s->heads++;
}

static void s_end(void *ctx, const struct http_msg *m)
{
	struct seen *s = ctx;

	if (s->ends < 8) {
		s->body[s->ends] = m->body_bytes;
		s->close[s->ends] = m->conn_close;
		s->incomplete_at[s->ends] = m->incomplete;
	}
	s->ends++;
	s->incomplete += m->incomplete;
}

static const struct http_parser_cb cb = { s_begin, s_header, s_head, s_end };

/* feed @text in pieces of @step bytes */
static void feed(struct http_parser *p, const char *text, size_t step, struct seen *s)
{
	size_t n = strlen(text);

	for (size_t off = 0; off < n; off += step)
		http_parser__feed(p, text + off, off + step <= n ? step : n - off, true, &cb, s);
}

static const char two_requests[] = "GET /a?x=1 HTTP/1.1\r\nHost: h\r\ntraceparent: 00-aa-bb-01\r\n\r\n"
				   "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";

START_TEST(pipelined_requests_any_split)
{
	for (size_t step = 1; step <= sizeof(two_requests); step++) {
		struct http_parser p;
		struct seen s = { 0 };

		http_parser__init(&p, HTTP_ANY);
		feed(&p, two_requests, step, &s);
		ck_assert_msg(s.heads == 2 && s.ends == 2, "step %zu: %d heads %d ends", step, s.heads, s.ends);
		ck_assert_str_eq(s.method[0], "GET");
		ck_assert_str_eq(s.target[0], "/a?x=1");
		ck_assert_str_eq(s.tp[0], "00-aa-bb-01");
		ck_assert_str_eq(s.method[1], "POST");
		ck_assert_uint_eq(s.body[1], 5);
		ck_assert_int_eq(s.incomplete, 0);
		ck_assert_uint_eq(p.errors, 0);
	}
}
END_TEST

static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
			      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

START_TEST(chunked_response_then_next)
{
	for (size_t step = 1; step <= sizeof(chunked); step += 3) {
		struct http_parser p;
		struct seen s = { 0 };

		http_parser__init(&p, HTTP_RESPONSES);
		feed(&p, chunked, step, &s);
		ck_assert_int_eq(s.ends, 2);
		ck_assert_int_eq(s.status[0], 200);
		ck_assert_uint_eq(s.body[0], 11);
		ck_assert_int_eq(s.status[1], 404);
		ck_assert_int_eq(s.incomplete, 0);
	}
}
END_TEST

START_TEST(continue_is_interim)
{
	struct http_parser p;
	struct seen s = { 0 };

	http_parser__init(&p, HTTP_RESPONSES);
	feed(&p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 7, &s);
	ck_assert_int_eq(s.ends, 2);
	ck_assert_int_eq(s.status[0], 100);
	ck_assert_int_eq(s.status[1], 201);
}
END_TEST

START_TEST(body_to_close_and_gap)
{
	struct http_parser p;
	struct seen s = { 0 };

	http_parser__init(&p, HTTP_RESPONSES);
	feed(&p, "HTTP/1.0 200 OK\r\n\r\nabc", 4, &s);
	ck_assert_int_eq(s.ends, 0);
	http_parser__gap(&p, 1000, &cb, &s);
	http_parser__close(&p, &cb, &s);
	ck_assert_int_eq(s.ends, 1);
	ck_assert_uint_eq(s.body[0], 1003);
	ck_assert_int_eq(s.incomplete, 0);

	/* a gap inside a known length is skipped; the next message parses */
	memset(&s, 0, sizeof(s));
	http_parser__init(&p, HTTP_RESPONSES);
	feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n0123", 100, &s);
	http_parser__gap(&p, 4996, &cb, &s);
	feed(&p, "HTTP/1.1 204 No Content\r\n\r\n", 100, &s);
	ck_assert_int_eq(s.ends, 2);
	ck_assert_int_eq(s.status[1], 204);
}
END_TEST

START_TEST(garbage_resyncs)
{
	struct http_parser p;
	struct seen s = { 0 };

	http_parser__init(&p, HTTP_ANY);
	http_parser__feed(&p, "*1\r\n$4\r\nPING\r\n", 14, true, &cb, &s);
	ck_assert_int_eq(s.heads, 0);
	ck_assert_uint_eq(p.errors, 1);
	/* mid-chunk bytes after an error are ignored until a chunk starts a message */
	http_parser__feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, false, &cb, &s);
	ck_assert_int_eq(s.heads, 0);
	http_parser__feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, true, &cb, &s);
	ck_assert_int_eq(s.heads, 1);
	ck_assert_int_eq(s.ends, 1);

	/* conflicting Content-Length is refused */
	memset(&s, 0, sizeof(s));
	http_parser__init(&p, HTTP_REQUESTS);
	feed(&p, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 9, &s);
	ck_assert_int_eq(s.heads, 0);
	ck_assert_uint_eq(p.errors, 1);
}
END_TEST

START_TEST(random_bytes_never_crash)
{
	unsigned seed = 12345;
	static const char *const frags[] = { "GET ",
					     "HTTP/1.1 ",
					     "200 ",
					     "\r\n",
					     "Content-Length: ",
					     "99999999999999999999",
					     "Transfer-Encoding: chunked",
					     "ffffffffffffffffff",
					     ":",
					     " ",
					     "\n",
					     "0\r\n\r\n" };

	for (int iter = 0; iter < 20000; iter++) {
		struct http_parser p;
		struct seen s = { 0 };
		char buf[512];
		size_t n = 0;

		http_parser__init(&p, (enum http_mode)(iter % 3));
		while (n < sizeof(buf) - 32) {
			seed = seed * 1103515245 + 12345;
			if (seed & 0x10000) {
				const char *f = frags[(seed >> 8) % 12];

				memcpy(buf + n, f, strlen(f));
				n += strlen(f);
			} else {
				buf[n++] = (char)(seed >> 16);
			}
		}
		for (size_t off = 0; off < n;) {
			size_t k = 1 + (off * 7 + iter) % 40;

			if (off + k > n)
				k = n - off;
			http_parser__feed(&p, buf + off, k, (iter + off) & 1, &cb, &s);
			off += k;
			if (iter % 5 == 0)
				http_parser__gap(&p, off % 17, &cb, &s);
		}
		http_parser__close(&p, &cb, &s);
		ck_assert_int_ge(s.heads, 0);
		ck_assert_int_le(s.ends, s.begins);
	}
}
END_TEST

START_TEST(long_lines_are_cut)
{
	struct http_parser p;
	struct seen s = { 0 };
	char req[8192];

	snprintf(req, sizeof(req), "GET /%03000d HTTP/1.1\r\nX-Long: %02000d\r\nHost: h\r\n\r\n", 1, 2);
	http_parser__init(&p, HTTP_ANY);
	feed(&p, req, 100, &s);
	ck_assert_int_eq(s.heads, 1);
	ck_assert_int_eq(s.ends, 1);
	ck_assert(p.msg.truncated);
	ck_assert_str_eq(p.msg.host, "h");

	/* a cut header reaches on_header without its value: a prefix is never passed on as the value */
	memset(&s, 0, sizeof(s));
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\ntraceparent: 00-%01100d\r\n\r\n", 3);
	http_parser__init(&p, HTTP_ANY);
	strcpy(s.tp[0], "unset");
	feed(&p, req, 100, &s);
	ck_assert_int_eq(s.ends, 1);
	ck_assert_str_eq(s.tp[0], "");
}
END_TEST

/* ---- http1_conn ---- */

struct xs {
	int requests, exchanges;
	struct obs_exchange last[4];
};

static void x_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct xs *s = ctx;

	(void)in;
	x->span_id[0] = ++s->requests;
}

static void x_exchange(void *ctx, struct obs_exchange *x)
{
	struct xs *s = ctx;

	if (s->exchanges < 4)
		s->last[s->exchanges] = *x;
	s->exchanges++;
}

static const struct proto_sink xcb = { .on_request = x_request, .on_exchange = x_exchange };

START_TEST(conn_pairs_pipelined_and_head)
{
	static struct http1_conn c;
	struct xs s = { 0 };
	const char *reqs = "HEAD /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" /* HEAD: no body follows */
			   "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nno";

	http1_conn__init(&c, &xcb, &s);
	http1_conn__data(&c, PROTO_IN, reqs, strlen(reqs), strlen(reqs), 100);
	ck_assert_int_eq(c.role, HTTP1_SERVER);
	ck_assert_int_eq(s.requests, 2);
	http1_conn__data(&c, PROTO_OUT, resp, strlen(resp), strlen(resp), 200);
	ck_assert_int_eq(s.exchanges, 2);
	ck_assert_str_eq(s.last[0].op, "HEAD");
	ck_assert_int_eq(s.last[0].status, 200);
	ck_assert_int_eq(s.last[0].kind, 2);
	ck_assert_str_eq(s.last[1].target, "/y");
	ck_assert_int_eq(s.last[1].status, 503);
	ck_assert_uint_eq(s.last[1].start_ns, 100);
	ck_assert_uint_eq(s.last[1].end_ns, 200);
}
END_TEST

START_TEST(conn_client_and_unanswered)
{
	static struct http1_conn c;
	struct xs s = { 0 };
	const char *req = "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";

	http1_conn__init(&c, &xcb, &s);
	http1_conn__data(&c, PROTO_OUT, req, strlen(req), strlen(req), 10);
	http1_conn__data(&c, PROTO_IN, "HTTP/1.1 100 Continue\r\n\r\n", 25, 25, 20);
	ck_assert_int_eq(s.exchanges, 0);
	http1_conn__data(&c, PROTO_OUT, "data", 4, 4, 30);
	{
		const char *created = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";

		http1_conn__data(&c, PROTO_IN, created, strlen(created), strlen(created), 40);
	}
	ck_assert_int_eq(c.role, HTTP1_CLIENT);
	ck_assert_int_eq(s.exchanges, 1);
	ck_assert_int_eq(s.last[0].kind, 3);
	ck_assert_int_eq(s.last[0].status, 201);
	ck_assert_uint_eq(s.last[0].request_bytes, 4);

	http1_conn__data(&c, PROTO_OUT, "GET / HTTP/1.1\r\n\r\n", 18, 18, 50);
	http1_conn__close(&c, 60);
	ck_assert_int_eq(s.exchanges, 2);
	ck_assert_int_eq(s.last[1].status, 0);
	ck_assert_int_eq(s.last[1].incomplete, 1);
}
END_TEST

/* RFC 9112 §6: Transfer-Encoding is one list over all its lines; only a final "chunked" token frames a
 * chunked body.  A request whose final coding is something else cannot be framed (a counted error,
 * the request ends incomplete: the server answers 400); a response runs to close. */
START_TEST(te_request_final_coding)
{
	static const struct {
		const char *te; /* header lines */
		bool ok;	/* framed as chunked */
	} cases[] = {
		{ "Transfer-Encoding: chunked\r\n", true },
		{ "Transfer-Encoding: Chunked \r\n", true },
		{ "Transfer-Encoding: gzip ,\t CHUNKED\t\r\n", true },
		{ "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", true },
		{ "Transfer-Encoding: , gzip,,chunked,\r\n", true },		  /* empty list elements are ignored */
		{ "Transfer-Encoding: chunked;x=1\r\n", true },			  /* a coding's parameters */
		{ "Transfer-Encoding: chunked\r\nTransfer-Encoding:\r\n", true }, /* an empty line adds nothing */
		{ "Transfer-Encoding: notchunked\r\n", false },
		{ "Transfer-Encoding: chunkedx\r\n", false },
		{ "Transfer-Encoding: chunked x\r\n", false },
		{ "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", false }, /* not the last wins */
		{ "Transfer-Encoding: chunked, identity\r\n", false },
		{ "Transfer-Encoding: chunked, chunked\r\n", false },
		{ "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", false },
		{ "Transfer-Encoding: gzip\r\n", false },
		{ "Transfer-Encoding:\r\n", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char req[512];
		struct http_parser p;
		struct seen s = { 0 };

		snprintf(req, sizeof(req),
			 "POST /a HTTP/1.1\r\nHost: h\r\n%sContent-Length: 3\r\n\r\n"
			 "3\r\nabc\r\n0\r\n\r\n",
			 cases[i].te);
		http_parser__init(&p, HTTP_REQUESTS);
		http_parser__feed(&p, req, strlen(req), true, &cb, &s); /* one write */
		feed(&p, "GET /next HTTP/1.1\r\n\r\n", 5, &s);		/* the next: a resync point */
		ck_assert_msg(s.heads == 2 && s.ends == 2, "%s: %d heads %d ends", cases[i].te, s.heads, s.ends);
		ck_assert_str_eq(s.target[1], "/next");
		if (cases[i].ok) {
			ck_assert_msg(!s.incomplete_at[0] && s.body[0] == 3 && p.errors == 0, "%s", cases[i].te);
			ck_assert_msg(s.close[0], "%s: TE with CL: the server closes after it", cases[i].te);
		} else {
			ck_assert_msg(s.incomplete_at[0] && p.errors == 1, "%s: framed", cases[i].te);
		}
		ck_assert(!s.incomplete_at[1]);
	}
}
END_TEST

START_TEST(te_http10_request_is_faulty)
{
	struct http_parser p;
	struct seen s = { 0 };

	http_parser__init(&p, HTTP_REQUESTS);
	feed(&p, "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 100, &s);
	ck_assert_int_eq(s.ends, 1);
	ck_assert_int_eq(s.incomplete, 1);
	ck_assert_uint_eq(p.errors, 1);
}
END_TEST

START_TEST(te_response_not_chunked_runs_to_close)
{
	static const char *const te[] = { "notchunked", "chunked, gzip", "chunked\r\nTransfer-Encoding: gzip" };

	for (size_t i = 0; i < sizeof(te) / sizeof(te[0]); i++) {
		char resp[256];
		struct http_parser p;
		struct seen s = { 0 };

		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 200 OK\r\nTransfer-Encoding: %s\r\nContent-Length: 2\r\n\r\n"
			 "5\r\nhello\r\n0\r\n\r\n",
			 te[i]);
		http_parser__init(&p, HTTP_RESPONSES);
		feed(&p, resp, 9, &s);
		ck_assert_msg(s.ends == 0, "%s: ended before close", te[i]);
		http_parser__close(&p, &cb, &s);
		ck_assert_int_eq(s.ends, 1);
		ck_assert_uint_eq(s.body[0], 15);
		ck_assert_int_eq(s.incomplete, 0);
		ck_assert_uint_eq(p.errors, 0);
	}
}
END_TEST

/* tokens, not substrings: "Connection: notclose" keeps the connection, "Expect: 100-continuex" waits for nothing */
START_TEST(connection_and_expect_are_token_lists)
{
	struct http_parser p;
	struct seen s = { 0 };

	http_parser__init(&p, HTTP_REQUESTS);
	feed(&p, "GET /a HTTP/1.1\r\nConnection: notclose\r\n\r\nGET /b HTTP/1.1\r\nConnection: upgrade, Close\r\n\r\n",
	     6, &s);
	ck_assert_int_eq(s.ends, 2);
	ck_assert(!s.close[0]);
	ck_assert(s.close[1]);
}
END_TEST

/* the framing attack end to end: the server side of a connection sees every request a server would,
 * and a request it cannot frame pairs with the server's 400 */
START_TEST(conn_te_smuggling)
{
	static struct http1_conn c;
	struct xs s = { 0 };
	const char *req = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"
			  "Content-Length: 0\r\n\r\nGET /hidden HTTP/1.1\r\n\r\n";
	const char *resp = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

	http1_conn__init(&c, &xcb, &s);
	http1_conn__data(&c, PROTO_IN, req, strlen(req), strlen(req), 100);
	ck_assert_int_eq(s.requests, 1); /* the server stops at the first: so do we */
	ck_assert_uint_eq(c.parser[PROTO_IN].errors, 1);
	http1_conn__data(&c, PROTO_OUT, resp, strlen(resp), strlen(resp), 200);
	ck_assert_int_eq(s.exchanges, 1);
	ck_assert_str_eq(s.last[0].target, "/a");
	ck_assert_int_eq(s.last[0].status, 400);
	ck_assert_int_eq(s.last[0].incomplete, 1);

	/* the chunked body of a well-framed request never reads as a request */
	memset(&s, 0, sizeof(s));
	http1_conn__init(&c, &xcb, &s);
	req = "POST /b HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	      "18\r\nGET /smuggled HTTP/1.1\r\n\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
	http1_conn__data(&c, PROTO_IN, req, strlen(req), strlen(req), 100);
	ck_assert_int_eq(s.requests, 2);
	ck_assert_uint_eq(c.parser[PROTO_IN].errors, 0);

	/* the request after a chunked body in the same write is seen, whatever the later TE lines add */
	memset(&s, 0, sizeof(s));
	http1_conn__init(&c, &xcb, &s);
	req = "POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: \r\n\r\n"
	      "5\r\nhello\r\n0\r\n\r\nGET /e HTTP/1.1\r\n\r\n";
	http1_conn__data(&c, PROTO_IN, req, strlen(req), strlen(req), 100);
	ck_assert_int_eq(s.requests, 2);
	ck_assert_uint_eq(c.parser[PROTO_IN].errors, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pipelined_requests_any_split);
	tcase_add_test(tc, chunked_response_then_next);
	tcase_add_test(tc, continue_is_interim);
	tcase_add_test(tc, body_to_close_and_gap);
	tcase_add_test(tc, garbage_resyncs);
	tcase_add_test(tc, random_bytes_never_crash);
	tcase_add_test(tc, long_lines_are_cut);
	tcase_add_test(tc, conn_pairs_pipelined_and_head);
	tcase_add_test(tc, conn_client_and_unanswered);
	tcase_add_test(tc, te_request_final_coding);
	tcase_add_test(tc, te_http10_request_is_faulty);
	tcase_add_test(tc, te_response_not_chunked_runs_to_close);
	tcase_add_test(tc, connection_and_expect_are_token_lists);
	tcase_add_test(tc, conn_te_smuggling);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
