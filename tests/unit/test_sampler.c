/* test_sampler.c -- consistent ratio sampling by trace id, and the span rate limit with a fake clock */
#include <check.h>
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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
