/* test_sampler.c -- consistent ratio sampling by trace id, and the span rate limit with a fake clock */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sampler.h"

START_TEST(ratio_is_consistent_and_fair)
{
	unsigned long long x = 88172645463325252ull;
	int kept = 0;

	for (int i = 0; i < 100000; i++) {
		uint8_t id[16];

		for (int k = 0; k < 16; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			id[k] = x >> 32;
		}
		kept += sampler__keep(0.25, id);
		ck_assert_int_eq(sampler__keep(0.25, id), sampler__keep(0.25, id));
		ck_assert(sampler__keep(1.0, id));
		ck_assert(!sampler__keep(0.0, id));
		if (sampler__keep(0.1, id))
			ck_assert(sampler__keep(0.5, id)); /* a trace kept at a low ratio is kept at a higher one */
	}
	ck_assert_int_ge(kept, 24000);
	ck_assert_int_le(kept, 26000);
	{
		uint8_t lo[16] = { 0 }, hi[16];

		memset(hi, 0xff, sizeof(hi));
		ck_assert(sampler__keep(0.01, lo));
		ck_assert(!sampler__keep(0.99, hi));
	}
}
END_TEST

START_TEST(rate_limit)
{
	struct ratelimit r;
	uint64_t t = 1000000000ull;
	int n = 0;

	ratelimit__init(&r, 100);
	for (int i = 0; i < 1000; i++)
		n += ratelimit__allow(&r, t);
	ck_assert_int_eq(n, 100); /* a burst of one second's worth */
	n = 0;
	for (int i = 0; i < 1000; i++) /* 1000 tries spread over the next second */
		n += ratelimit__allow(&r, t + (uint64_t)(i + 1) * 1000000ull);
	ck_assert_int_eq(n, 100);
	ratelimit__init(&r, 0);
	ck_assert(!ratelimit__allow(&r, t));
	/* ready asks without spending: only take spends */
	ratelimit__init(&r, 2);
	for (int i = 0; i < 5; i++)
		ck_assert(ratelimit__ready(&r, t));
	ratelimit__take(&r);
	ck_assert(ratelimit__ready(&r, t));
	ratelimit__take(&r);
	ck_assert(!ratelimit__ready(&r, t));
	ck_assert(ratelimit__ready(&r, t + 500000000ull)); /* half a second refills one */
	ck_assert(ratelimit__allow(&r, t + 500000000ull));
	ck_assert(!ratelimit__allow(&r, t + 500000000ull));
}
END_TEST

/* the trace an exchange without a local parent joins, and its decision: one function for shim and collector */
START_TEST(adopt_the_callers_trace_or_decide)
{
	struct trace_ctx in = { .trace_id = { 1, 2, 3 }, .span_id = { 9, 8 }, .valid = 1, .decided = 1, .sampled = 0 };
	uint8_t trace[16] = { 0 }, parent[8] = { 0 }, sampled = 7;

	/* the caller's, with its decision (even one a ratio of 1 would overrule) */
	ck_assert(sampler__adopt(&in, 1.0, trace, parent, &sampled));
	ck_assert_int_eq(memcmp(trace, in.trace_id, 16), 0);
	ck_assert_int_eq(memcmp(parent, in.span_id, 8), 0);
	ck_assert_int_eq(sampled, 0);
	/* the caller's ids without a decision: the ratio decides on its trace id */
	in.decided = 0;
	ck_assert(sampler__adopt(&in, 0.0, trace, parent, &sampled));
	ck_assert_int_eq(sampled, 0);
	ck_assert(sampler__adopt(&in, 1.0, trace, parent, &sampled));
	ck_assert_int_eq(sampled, 1);
	/* no valid context: the caller's new trace id stays, no parent; a decision without ids ("b3: 1") holds */
	memset(&in, 0, sizeof(in));
	memset(trace, 0xff, sizeof(trace));
	memset(parent, 0, sizeof(parent));
	ck_assert(!sampler__adopt(&in, 0.5, trace, parent, &sampled));
	ck_assert_int_eq(trace[0], 0xff);
	ck_assert_int_eq(parent[0] | parent[7], 0);
	ck_assert_int_eq(sampled, sampler__keep(0.5, trace));
	in.decided = 1, in.sampled = 1;
	ck_assert(!sampler__adopt(&in, 0.0, trace, parent, &sampled));
	ck_assert_int_eq(sampled, 1);
}
END_TEST

/* The collector passes --sample-ratio to the programs it starts as OBSPROBE_SAMPLE_RATIO (SAMPLER_RATIO_FMT);
 * the shim reads it back to the same double, so the two decide alike for every trace id.  Six digits ("%g")
 * would not: the ids between 0.1234567891 and 0.123457 are decided otherwise. */
START_TEST(ratio_through_the_environment)
{
	static const double ratios[] = { 0.1234567891, 1.0 / 3, 0.1, 1e-7, 0.999999999999, 0.5, 0, 1 };
	unsigned long long x = 0x9e3779b97f4a7c15ull;

	for (size_t r = 0; r < sizeof(ratios) / sizeof(ratios[0]); r++) {
		char env[64];
		double shim = -1;

		snprintf(env, sizeof(env), SAMPLER_RATIO_FMT, ratios[r]);
		ck_assert(sampler__parse_ratio(env, &shim));
		ck_assert_msg(shim == ratios[r], "%s read back as %.17g", env, shim);
		for (int i = 0; i < 20000; i++) {
			uint8_t id[16];

			for (int k = 0; k < 16; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				id[k] = x >> 32;
			}
			ck_assert_int_eq(sampler__keep(shim, id), sampler__keep(ratios[r], id));
		}
	}
	{
		/* an id between the ratio and its six-digit form: the short form would keep what the collector drops */
		const double ratio = 0.1234567891;
		uint64_t v = (uint64_t)(0.12345685 * 18446744073709551616.0);
		uint8_t id[16] = { 0 };
		char env[64];
		double shim, shortr;

		for (int k = 0; k < 8; k++)
			id[15 - k] = v >> (8 * k);
		snprintf(env, sizeof(env), SAMPLER_RATIO_FMT, ratio);
		ck_assert(sampler__parse_ratio(env, &shim));
		snprintf(env, sizeof(env), "%g", ratio);
		ck_assert(sampler__parse_ratio(env, &shortr));
		ck_assert(!sampler__keep(ratio, id));
		ck_assert(!sampler__keep(shim, id));
		ck_assert(sampler__keep(shortr, id));
	}
	/* what is not a ratio leaves the default alone */
	{
		const char *bad[] = { NULL, "", "x", "-0.1", "1.5", "nan", "inf" };
		double v = 0.25;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert(!sampler__parse_ratio(bad[i], &v));
		ck_assert(v == 0.25);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sampler");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, ratio_is_consistent_and_fair);
	tcase_add_test(tc, rate_limit);
	tcase_add_test(tc, adopt_the_callers_trace_or_decide);
	tcase_add_test(tc, ratio_through_the_environment);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
