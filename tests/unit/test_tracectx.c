/* test_tracectx.c -- W3C, B3 single/multi, X-Ray, Datadog: valid, malformed, precedence, garbage */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/http1_conn.h"
#include "lib/hex.h"
#include "lib/tracectx.h"

/* run the extractor over "Name: value" pairs */
static bool extract(struct trace_ctx *out, const char *const *hdrs)
{
	struct ctx_extractor x;

	ctx_extractor__init(&x);
	for (int i = 0; hdrs[i]; i += 2)
		ctx_extractor__header(&x, hdrs[i], strlen(hdrs[i]), hdrs[i + 1], strlen(hdrs[i + 1]));
	return ctx_extractor__finish(&x, out);
}

static void hex_eq(const uint8_t *id, size_t n, const char *want)
{
	char h[40];

	hex__encode(h, id, n);
	ck_assert_str_eq(h, want);
}

START_TEST(w3c_valid)
{
	struct trace_ctx c;
	const char *h[] = { "TraceParent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			    "tracestate",  "congo=t61rcWkgMzE",
			    "tracestate",  "rojo=00f067aa0ba902b7",
			    "baggage",	   "user=alice",
			    NULL };

	ck_assert(extract(&c, h));
	ck_assert_int_eq(c.format, CTX_W3C);
	hex_eq(c.trace_id, 16, "0af7651916cd43dd8448eb211c80319c");
	hex_eq(c.span_id, 8, "b7ad6b7169203331");
	ck_assert_int_eq(c.sampled, 1);
	ck_assert_int_eq(c.decided, 1);
	ck_assert_str_eq(c.tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
	ck_assert_str_eq(c.baggage, "user=alice");
	{
		const char *f[] = { "traceparent", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-extra",
				    NULL };

		ck_assert(extract(&c, f)); /* a future version with more fields */
		ck_assert_int_eq(c.sampled, 0);
	}
}
END_TEST

START_TEST(w3c_malformed)
{
	static const char *const bad[] = {
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",    /* short */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", /* v00 longer */
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   /* version ff */
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   /* uppercase */
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",   /* zero trace */
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   /* zero span */
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   /* separator */
		"00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",   /* non-hex */
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct trace_ctx c;
		const char *h[] = { "traceparent", bad[i], "tracestate", "a=b", NULL };

		ck_assert_msg(!extract(&c, h), "accepted %s", bad[i]);
		ck_assert_int_eq(c.valid, 0);
		ck_assert_str_eq(c.tracestate, ""); /* never trusted partially */
	}
	{
		struct trace_ctx c;
		const char *h[] = { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				    "traceparent", "00-11111111111111111111111111111111-b7ad6b7169203331-01", NULL };

		ck_assert(!extract(&c, h)); /* two traceparents: ambiguous */
	}
}
END_TEST

START_TEST(b3_single_and_multi)
{
	struct trace_ctx c;
	const char *s1[] = { "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", NULL };
	const char *s2[] = { "B3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1-0", NULL };
	const char *s3[] = { "b3", "0", NULL };
	const char *s4[] = { "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d", NULL };
	const char *m1[] = { "X-B3-TraceId",
			     "463ac35c9f6413ad48485a3953bb6124",
			     "X-B3-SpanId",
			     "a2fb4a1d1a96d312",
			     "X-B3-Sampled",
			     "0",
			     NULL };
	const char *m2[] = { "x-b3-traceid", "463ac35c9f6413ad", "x-b3-spanid", "a2fb4a1d1a96d312", NULL };
	const char *m3[] = { "X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124", NULL };

	ck_assert(extract(&c, s1));
	ck_assert_int_eq(c.format, CTX_B3);
	hex_eq(c.trace_id, 16, "80f198ee56343ba864fe8b2a57d3eff7");
	hex_eq(c.span_id, 8, "e457b5a2e4d86bd1");
	ck_assert_int_eq(c.sampled, 1);
	ck_assert(extract(&c, s2));
	hex_eq(c.trace_id, 16, "000000000000000064fe8b2a57d3eff7");
	ck_assert_int_eq(c.sampled, 0);
	ck_assert_int_eq(c.decided, 1);
	ck_assert(!extract(&c, s3));
	ck_assert_int_eq(c.decided, 1);
	ck_assert_int_eq(c.sampled, 0);
	ck_assert(extract(&c, s4));
	ck_assert_int_eq(c.sampled, 1);
	ck_assert(extract(&c, m1));
	ck_assert_int_eq(c.format, CTX_B3_MULTI);
	hex_eq(c.span_id, 8, "a2fb4a1d1a96d312");
	ck_assert_int_eq(c.sampled, 0);
	ck_assert(extract(&c, m2));
	hex_eq(c.trace_id, 16, "0000000000000000463ac35c9f6413ad");
	ck_assert_int_eq(c.decided, 0);
	ck_assert(!extract(&c, m3)); /* no span id */
	{
		const char *bad[] = { "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-x", NULL };
		const char *bad2[] = { "b3", "80f198ee56343ba8-e457b5a2e4d86b", NULL };

		ck_assert(!extract(&c, bad));
		ck_assert(!extract(&c, bad2));
	}
}
END_TEST

START_TEST(xray_and_datadog)
{
	struct trace_ctx c;
	const char *x1[] = { "X-Amzn-Trace-Id",
			     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", NULL };
	const char *x2[] = {
		"x-amzn-trace-id",
		"Self=1-67891234-12456789abcdef012345678;Sampled=0;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793",
		NULL
	};
	const char *x3[] = { "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", NULL };
	const char *x4[] = { "X-Amzn-Trace-Id", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
			     NULL };
	const char *d1[] = { "x-datadog-trace-id",
			     "1234567890123",
			     "x-datadog-parent-id",
			     "987654321",
			     "x-datadog-sampling-priority",
			     "2",
			     NULL };
	const char *d2[] = { "x-datadog-trace-id",
			     "18446744073709551615",
			     "x-datadog-parent-id",
			     "1",
			     "x-datadog-sampling-priority",
			     "-1",
			     NULL };
	const char *d3[] = { "x-datadog-trace-id", "18446744073709551616", "x-datadog-parent-id", "1", NULL };
	const char *d4[] = { "x-datadog-trace-id", "12a", "x-datadog-parent-id", "1", NULL };
	const char *d5[] = { "x-datadog-trace-id", "0", "x-datadog-parent-id", "1", NULL };

	ck_assert(extract(&c, x1));
	ck_assert_int_eq(c.format, CTX_XRAY);
	hex_eq(c.trace_id, 16, "5759e988bd862e3fe1be46a994272793");
	hex_eq(c.span_id, 8, "53995c3f42cd8ad8");
	ck_assert_int_eq(c.sampled, 1);
	ck_assert(extract(&c, x2));
	ck_assert_int_eq(c.sampled, 0);
	ck_assert(!extract(&c, x3));
	ck_assert(!extract(&c, x4));
	ck_assert(extract(&c, d1));
	ck_assert_int_eq(c.format, CTX_DATADOG);
	hex_eq(c.trace_id, 16, "00000000000000000000011f71fb04cb");
	hex_eq(c.span_id, 8, "000000003ade68b1");
	ck_assert_int_eq(c.sampled, 1);
	ck_assert(extract(&c, d2));
	hex_eq(c.trace_id, 16, "0000000000000000ffffffffffffffff");
	ck_assert_int_eq(c.sampled, 0);
	ck_assert(!extract(&c, d3));
	ck_assert(!extract(&c, d4));
	ck_assert(!extract(&c, d5));
}
END_TEST

START_TEST(precedence)
{
	struct trace_ctx c;
	const char *both[] = { "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", "traceparent",
			       "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL };
	const char *badw3c[] = { "traceparent", "00-zzz", "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
				 NULL };

	ck_assert(extract(&c, both));
	ck_assert_int_eq(c.format, CTX_W3C);
	ck_assert(extract(&c, badw3c));
	ck_assert_int_eq(c.format, CTX_B3);
	hex_eq(c.trace_id, 16, "80f198ee56343ba864fe8b2a57d3eff7");
}
END_TEST

START_TEST(state_never_carries_control_bytes)
{
	struct trace_ctx c;
	const char *h[] = { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			    "tracestate",  "a=b\r\nX-Evil: 1",
			    "baggage",	   "k=v\n",
			    NULL };

	ck_assert(extract(&c, h));
	ck_assert_str_eq(c.tracestate, "");
	ck_assert_str_eq(c.baggage, "");
}
END_TEST

START_TEST(format_round_trip)
{
	uint8_t t[16], s[8];
	char tp[56];
	struct trace_ctx c;

	for (int i = 0; i < 16; i++)
		t[i] = i * 17 + 1 - (i == 15);
	for (int i = 0; i < 8; i++)
		s[i] = 0xa0 + i;
	ck_assert_int_eq(tracectx__format_traceparent(tp, sizeof(tp), t, s, true), 55);
	ck_assert_str_eq(tp, "00-0112233445566778899aabbccddeefff-a0a1a2a3a4a5a6a7-01");
	{
		const char *h[] = { "traceparent", tp, NULL };

		ck_assert(extract(&c, h));
		ck_assert_mem_eq(c.trace_id, t, 16);
		ck_assert_mem_eq(c.span_id, s, 8);
	}
	ck_assert_int_eq(tracectx__format_traceparent(tp, 55, t, s, true), -1);
}
END_TEST

START_TEST(garbage)
{
	static const char *const names[] = { "traceparent",
					     "b3",
					     "x-b3-traceid",
					     "x-b3-spanid",
					     "x-amzn-trace-id",
					     "x-datadog-trace-id",
					     "x-datadog-parent-id",
					     "tracestate",
					     "baggage",
					     "x" };
	unsigned seed = 7;

	for (int it = 0; it < 100000; it++) {
		struct ctx_extractor x;
		struct trace_ctx c;
		char v[200];

		ctx_extractor__init(&x);
		for (int h = 0; h < 3; h++) {
			size_t n;

			seed = seed * 1103515245 + 12345;
			n = (seed >> 16) % sizeof(v);
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245 + 12345;
				v[i] = "0123456789abcdef-;=Root1Parent"[(seed >> 16) % 30];
			}
			ctx_extractor__header(&x, names[(seed >> 8) % 10], strlen(names[(seed >> 8) % 10]), v, n);
		}
		if (ctx_extractor__finish(&x, &c)) {
			static const uint8_t zero[16];

			ck_assert(memcmp(c.trace_id, zero, 16) && memcmp(c.span_id, zero, 8));
		}
	}
}
END_TEST

/* ---- tracestate (W3C Trace Context §3.3): one test per rule, each on both sides ---- */

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static char passed_on[OBS_X_TRACESTATE_MAX];

static void keep_state(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	(void)ctx;
	(void)in;
	memcpy(passed_on, x->tracestate, sizeof(passed_on));
}

/* @lines (NULL-terminated tracestate header values) with a valid traceparent.  Extract side: what the
 * extractor keeps (spans, and the shim's outgoing tracestate comes from it).  Pass-on side: the same
 * headers in a request read on a served connection, as the shim parses it: the exchange's tracestate,
 * which the shim injects into the requests it makes while serving (@passon; NULL: same as @want). */
static void state_is(const char *const *lines, const char *want, const char *passon)
{
	static const struct proto_sink cb = { .on_request = keep_state };
	static struct http1_conn hc;
	static char req[16384];
	struct ctx_extractor x;
	struct trace_ctx c;
	size_t n;

	ctx_extractor__init(&x);
	ctx_extractor__header(&x, "traceparent", 11, TP, strlen(TP));
	for (int i = 0; lines[i]; i++)
		ctx_extractor__header(&x, "tracestate", 10, lines[i], strlen(lines[i]));
	ck_assert(ctx_extractor__finish(&x, &c)); /* a bad tracestate never voids the traceparent */
	ck_assert_int_eq(c.valid, 1);
	ck_assert_msg(!strcmp(c.tracestate, want), "extract '%s': '%s', want '%s'", lines[0], c.tracestate, want);

	n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nTraceparent: %s\r\n", TP);
	for (int i = 0; lines[i]; i++)
		n += snprintf(req + n, sizeof(req) - n, "TraceState: %s\r\n", lines[i]);
	n += snprintf(req + n, sizeof(req) - n, "\r\n");
	memset(passed_on, 'x', sizeof(passed_on));
	http1_conn__init(&hc, &cb, NULL);
	http1_conn__data(&hc, PROTO_IN, req, n, n, 1);
	ck_assert_int_eq(hc.role, HTTP1_SERVER);
	ck_assert_msg(!strcmp(passed_on, passon ? passon : want), "pass on '%s': '%s', want '%s'", lines[0], passed_on,
		      passon ? passon : want);
}

#define STATE(want, ...) state_is((const char *[]){ __VA_ARGS__, NULL }, want, NULL)
/* a member over 191 characters is kept, but the exchange holds 191: by the truncation rule it goes */
#define STATE_LONG(want, ...) state_is((const char *[]){ __VA_ARGS__, NULL }, want, "")

/* a string of @n copies of @c after @prefix (static, one of 8 rotating buffers) */
static const char *rep(const char *prefix, char c, size_t n, const char *suffix)
{
	static char buf[8][1200];
	static int k;
	char *b = buf[k++ % 8];
	size_t p = strlen(prefix);

	memcpy(b, prefix, p);
	memset(b + p, c, n);
	strcpy(b + p + n, suffix);
	return b;
}

START_TEST(state_ows_around_members)
{
	STATE("foo=1,bar=2", "foo=1 \t , \t bar=2");
	STATE("foo=1", " \tfoo=1\t ");
	STATE("foo=1,bar=2", "foo=1\t,bar=2");
}
END_TEST

START_TEST(state_empty_members_ignored)
{
	STATE("foo=1,bar=2", ",foo=1,, ,\t,bar=2,");
	STATE("", "");
	STATE("", " , \t, ");
	STATE("foo=1", "", "foo=1", " ");
}
END_TEST

START_TEST(state_lines_form_one_list)
{
	STATE("foo=1,bar=2,baz=3", "foo=1", "bar=2, baz=3");
}
END_TEST

START_TEST(state_at_most_32_members)
{
	char l32[512], l33[600];
	size_t n = 0;

	for (int i = 0; i < 32; i++)
		n += snprintf(l32 + n, sizeof(l32) - n, "%sk%02d=v", i ? "," : "", i);
	snprintf(l33, sizeof(l33), "%s,k32=v", l32);
	STATE(l32, l32); /* 32 members, 191 characters: passed on whole */
	STATE("", l33);
	STATE("", l32, "k32=v"); /* the 33rd on another line */
	STATE(l32, l32, ",, ,"); /* empty members do not count */
}
END_TEST

START_TEST(state_simple_key)
{
	const char *k256 = rep("a", 'b', 255, "=1"), *k257 = rep("a", 'b', 256, "=1");

	STATE_LONG(k256, k256);
	STATE("", k257);
	STATE("a0_-*/=1", "a0_-*/=1");
	STATE("", "foo =1");
	STATE("", "@foo=1");
	STATE("", "Foo=1");
	STATE("", "1foo=1"); /* a digit starts only a tenant */
	STATE("", "foo.bar=1");
	STATE("", "=1");
	STATE("", "foo");
}
END_TEST

START_TEST(state_multi_tenant_key)
{
	const char *t241 = rep("1", 'a', 240, "@sys=1"), *t242 = rep("1", 'a', 241, "@sys=1");

	STATE("1tenant@sys=1,t-_*/@s0-_*/=2", "1tenant@sys=1, t-_*/@s0-_*/=2");
	STATE_LONG(t241, t241);
	STATE("", t242);
	STATE("t@abcdefghijklmn=1", "t@abcdefghijklmn=1"); /* system: 14 */
	STATE("", "t@abcdefghijklmno=1");
	STATE("", "t@1s=1");
	STATE("", "t@=1");
	STATE("", "@s=1");
	STATE("", "t@s@x=1");
	STATE("", "T@s=1");
}
END_TEST

START_TEST(state_value)
{
	const char *v256 = rep("k=", 'v', 256, ""), *v257 = rep("k=", 'v', 257, "");

	STATE("k= lead", "k= lead");	 /* leading spaces are the value's */
	STATE("k=trail", "k=trail  \t"); /* trailing ones are OWS */
	STATE("k=!\"#+-./:;<>?@[\\]^_`{|}~ x", "k=!\"#+-./:;<>?@[\\]^_`{|}~ x");
	STATE_LONG(v256, v256);
	STATE("", v257);
	STATE("", "k=");
	STATE("", "k=   ");
	STATE("", "k=a=b");
	STATE("", "k=a\tb");
	STATE("", "k=a\x7f");
	STATE("", "k=caf\xc3\xa9");
	STATE("", "k=a\001b");
}
END_TEST

START_TEST(state_duplicate_keys)
{
	STATE("", "foo=1,bar=2,foo=3");
	STATE("", "foo=1", "foo=1");
	STATE("t@s=1,t@x=2,u@s=3", "t@s=1,t@x=2,u@s=3");
}
END_TEST

START_TEST(state_invalid_discarded_whole)
{
	STATE("", "good=1,bad member,fine=2");
	STATE("", "good=1", "Bad=2");
	STATE("", "bad=\x01", "good=1");
}
END_TEST

/* over 512: members over 128 characters go first, then members from the end; the exchange that carries
 * it to the shim's injection holds less, and the same rule applies */
START_TEST(state_truncation)
{
	char big[160], small[20][40], l[2048], want16[1024], want6[1024], want_all[1024], want5[1024];
	size_t n = 0;

	snprintf(big, sizeof(big), "%s", rep("big=", 'B', 146, "")); /* 150 characters */
	for (int i = 0; i < 20; i++)
		snprintf(small[i], sizeof(small[i]), "s%02d=%s", i, rep("", 'v', 26, "")); /* 30 characters */
	n = snprintf(l, sizeof(l), "%s", big);
	for (int i = 0; i < 20; i++)
		n += snprintf(l + n, sizeof(l) - n, ",%s", small[i]); /* 770 in all */
	want16[0] = want6[0] = '\0';
	for (int i = 0; i < 16; i++) /* 16 * 31 - 1 = 495 <= 512 < 526 */
		snprintf(want16 + strlen(want16), sizeof(want16) - strlen(want16), "%s%s", i ? "," : "", small[i]);
	for (int i = 0; i < 6; i++) /* 185 <= 191 < 216 */
		snprintf(want6 + strlen(want6), sizeof(want6) - strlen(want6), "%s%s", i ? "," : "", small[i]);
	state_is((const char *[]){ l, NULL }, want16, want6);

	/* under 512: the big member stays; over the exchange's 191 it goes first */
	snprintf(want_all, sizeof(want_all), "%s,%s,%s,%s,%s,%s", small[0], big, small[1], small[2], small[3],
		 small[4]);
	snprintf(want5, sizeof(want5), "%s,%s,%s,%s,%s", small[0], small[1], small[2], small[3], small[4]);
	state_is((const char *[]){ want_all, NULL }, want_all, want5);

	/* the rule alone */
	{
		char out[192];

		ck_assert_uint_eq(tracectx__truncate_state(out, sizeof(out), want_all), strlen(want5));
		ck_assert_str_eq(out, want5);
		ck_assert_uint_eq(tracectx__truncate_state(out, 31, want5), 30);
		ck_assert_str_eq(out, small[0]);
		ck_assert_uint_eq(tracectx__truncate_state(out, 30, want5), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tracectx");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, w3c_valid);
	tcase_add_test(tc, w3c_malformed);
	tcase_add_test(tc, b3_single_and_multi);
	tcase_add_test(tc, xray_and_datadog);
	tcase_add_test(tc, precedence);
	tcase_add_test(tc, state_never_carries_control_bytes);
	tcase_add_test(tc, format_round_trip);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, state_ows_around_members);
	tcase_add_test(tc, state_empty_members_ignored);
	tcase_add_test(tc, state_lines_form_one_list);
	tcase_add_test(tc, state_at_most_32_members);
	tcase_add_test(tc, state_simple_key);
	tcase_add_test(tc, state_multi_tenant_key);
	tcase_add_test(tc, state_value);
	tcase_add_test(tc, state_duplicate_keys);
	tcase_add_test(tc, state_invalid_discarded_whole);
	tcase_add_test(tc, state_truncation);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
