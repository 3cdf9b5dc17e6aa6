/* test_hist.c -- boundary parsing, exact bucket mapping, quantile bounds, seconds formatting */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/hist.h"

START_TEST(default_buckets_parse)
{
	struct hist_bounds b;
	char err[128];

	ck_assert_int_eq(hist_bounds__parse(&b, OBS_DEFAULT_BUCKETS, err, sizeof(err)), 0);
	ck_assert_int_eq(b.n, 22);
	ck_assert_uint_eq(b.ns[0], 1000);
	ck_assert_uint_eq(b.ns[1], 2500);
	ck_assert_uint_eq(b.ns[9], 1000000);
	ck_assert_uint_eq(b.ns[21], 10000000000ull);
}
END_TEST

START_TEST(bad_buckets)
{
	struct hist_bounds b;
	char err[128];
	const char *bad[] = {
		"",	  "abc", "0.1,0.01", "0.1,0.1", "-1",	"0", "0.0000000001",
		"1,+Inf", "1;2", "nan",	     "4E-42",	"1e-13" /* under half a nanosecond: a 0 ns boundary (found by fuzz_optval) */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(hist_bounds__parse(&b, bad[i], err, sizeof(err)) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(err[0], "no reason for '%s'", bad[i]);
	}
	{
		char many[2048] = "";

		for (int i = 1; i <= OBS_MAX_BOUNDS + 1; i++)
			sprintf(many + strlen(many), "%d,", i);
		ck_assert_int_eq(hist_bounds__parse(&b, many, err, sizeof(err)), -1);
	}
}
END_TEST

START_TEST(bucket_index_is_le)
{
	struct hist_bounds b;
	char err[128];

	ck_assert_int_eq(hist_bounds__parse(&b, "0.001 0.0025, 0.005", err, sizeof(err)), 0);
	ck_assert_int_eq(b.n, 3);
	ck_assert_int_eq(hist_bounds__index(&b, 0), 0);
	ck_assert_int_eq(hist_bounds__index(&b, 1000000), 0); /* == bound: le */
	ck_assert_int_eq(hist_bounds__index(&b, 1000001), 1);
	ck_assert_int_eq(hist_bounds__index(&b, 2500000), 1);
	ck_assert_int_eq(hist_bounds__index(&b, 2500001), 2);
	ck_assert_int_eq(hist_bounds__index(&b, 5000001), 3); /* +Inf */
	ck_assert_int_eq(hist_bounds__index(&b, UINT64_MAX), 3);
}
END_TEST

START_TEST(observe_and_quantiles)
{
	struct hist_bounds b;
	struct hist h = { 0 };
	char err[128];

	hist_bounds__parse(&b, "0.001,0.01,0.1", err, sizeof(err));
	for (int i = 0; i < 98; i++)
		hist__observe(&h, &b, 500000); /* 0.5 ms */
	hist__observe(&h, &b, 5000000);	       /* 5 ms */
	hist__observe(&h, &b, 500000000);      /* 0.5 s: +Inf */
	ck_assert_uint_eq(h.count, 100);
	ck_assert_uint_eq(h.buckets[0], 98);
	ck_assert_uint_eq(h.buckets[1], 1);
	ck_assert_uint_eq(h.buckets[2], 0);
	ck_assert_uint_eq(h.buckets[3], 1);
	ck_assert_uint_eq(h.sum_ns, 98ull * 500000 + 5000000 + 500000000);
	ck_assert_uint_eq(hist__quantile_bound(&h, &b, 0.5), 1000000);
	ck_assert_uint_eq(hist__quantile_bound(&h, &b, 0.99), 10000000);
	ck_assert_uint_eq(hist__quantile_bound(&h, &b, 1.0), UINT64_MAX);
}
END_TEST

START_TEST(seconds_format)
{
	char buf[32];

	fmt_seconds(buf, sizeof(buf), 2500);
	ck_assert_str_eq(buf, "0.0000025");
	fmt_seconds(buf, sizeof(buf), 1000000000);
	ck_assert_str_eq(buf, "1");
	fmt_seconds(buf, sizeof(buf), 2500000000ull);
	ck_assert_str_eq(buf, "2.5");
	fmt_seconds(buf, sizeof(buf), 1);
	ck_assert_str_eq(buf, "0.000000001");
	fmt_seconds(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "0");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hist");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, default_buckets_parse);
	tcase_add_test(tc, bad_buckets);
	tcase_add_test(tc, bucket_index_is_le);
	tcase_add_test(tc, observe_and_quantiles);
	tcase_add_test(tc, seconds_format);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
