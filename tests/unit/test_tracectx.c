/* test_tracectx.c -- W3C, B3 single/multi, X-Ray, Datadog: valid, malformed, precedence, garbage */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracectx.h"

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

	tracectx__hex(h, id, n);
	ck_assert_str_eq(h, want);
}

START_TEST(w3c_valid)
{
	struct trace_ctx c;
	const char *h[] = { "TraceParent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate",
			    "congo=t61rcWkgMzE", "tracestate", "rojo=00f067aa0ba902b7", "baggage", "user=alice", NULL };

	ck_assert(extract(&c, h));
	ck_assert_int_eq(c.format, CTX_W3C);
	hex_eq(c.trace_id, 16, "0af7651916cd43dd8448eb211c80319c");
	hex_eq(c.span_id, 8, "b7ad6b7169203331");
	ck_assert_int_eq(c.sampled, 1);
	ck_assert_int_eq(c.decided, 1);
	ck_assert_str_eq(c.tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
	ck_assert_str_eq(c.baggage, "user=alice");
	{
		const char *f[] = { "traceparent", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-extra", NULL };

		ck_assert(extract(&c, f)); /* a future version with more fields */
		ck_assert_int_eq(c.sampled, 0);
	}
}
END_TEST

START_TEST(w3c_malformed)
{
	static const char *const bad[] = {
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",     /* short */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  /* v00 longer */
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    /* version ff */
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",    /* uppercase */
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",    /* zero trace */
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",    /* zero span */
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    /* separator */
		"00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",    /* non-hex */
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
		const char *h[] = { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "traceparent",
				    "00-11111111111111111111111111111111-b7ad6b7169203331-01", NULL };

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
	const char *m1[] = { "X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124", "X-B3-SpanId", "a2fb4a1d1a96d312",
			     "X-B3-Sampled", "0", NULL };
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
	const char *x1[] = { "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			     NULL };
	const char *x2[] = { "x-amzn-trace-id", "Self=1-67891234-12456789abcdef012345678;Sampled=0;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793",
			     NULL };
	const char *x3[] = { "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", NULL };
	const char *x4[] = { "X-Amzn-Trace-Id", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", NULL };
	const char *d1[] = { "x-datadog-trace-id", "1234567890123", "x-datadog-parent-id", "987654321",
			     "x-datadog-sampling-priority", "2", NULL };
	const char *d2[] = { "x-datadog-trace-id", "18446744073709551615", "x-datadog-parent-id", "1",
			     "x-datadog-sampling-priority", "-1", NULL };
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
	const char *badw3c[] = { "traceparent", "00-zzz", "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", NULL };

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
	const char *h[] = { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate",
			    "a=b\r\nX-Evil: 1", "baggage", "k=v\n", NULL };

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
	static const char *const names[] = { "traceparent", "b3", "x-b3-traceid", "x-b3-spanid", "x-amzn-trace-id",
					     "x-datadog-trace-id", "x-datadog-parent-id", "tracestate", "baggage", "x" };
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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
