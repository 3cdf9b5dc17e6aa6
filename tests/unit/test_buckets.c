/* test_buckets.c -- the one bucket search (abi/hist.h: BPF, shim, collector) and the one boundary parser */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi/hist.h"
#include "lib/buckets.h"

/* the definition, written plainly: the first i with ns <= b[i], else n */
static uint32_t linear(const uint64_t *b, uint32_t n, uint64_t ns)
{
	uint32_t i = 0;

	while (i < n && ns > b[i])
		i++;
	return i;
}

/* every count of boundaries 0..OBS_MAX_BOUNDS, every value on, around and between them: the 6-step bounded
 * search agrees with the definition */
START_TEST(search_matches_definition)
{
	uint64_t b[OBS_MAX_BOUNDS];

	for (uint32_t i = 0; i < OBS_MAX_BOUNDS; i++)
		b[i] = 1000ull * (i + 1) * (i + 1);
	for (uint32_t n = 0; n <= OBS_MAX_BOUNDS; n++) {
		for (uint32_t i = 0; i < OBS_MAX_BOUNDS; i++) {
			uint64_t probes[] = { 0, b[i] - 1, b[i], b[i] + 1, UINT64_MAX };

			for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++)
				ck_assert_uint_eq(obs_hist_bucket(b, n, probes[k]), linear(b, n, probes[k]));
		}
	}
	/* a count past the array is taken as OBS_MAX_BOUNDS, never read past it */
	ck_assert_uint_eq(obs_hist_bucket(b, 1000, UINT64_MAX), OBS_MAX_BOUNDS);
	ck_assert_uint_eq(obs_hist_bucket(b, 1000, 0), 0);
}
END_TEST

/* the default list is SPEC's: 22 boundaries from 1 us to 10 s */
START_TEST(parse_defaults)
{
	uint64_t ns[OBS_MAX_BOUNDS];

	ck_assert_int_eq(buckets__parse(OBS_DEFAULT_BUCKETS, ns, NULL), 22);
	ck_assert_uint_eq(ns[0], 1000);
	ck_assert_uint_eq(ns[1], 2500);
	ck_assert_uint_eq(ns[21], 10000000000ull);
	ck_assert_int_eq(buckets__parse(" 0.001,\t0.0025 0.005,", ns, NULL), 3);
	ck_assert_uint_eq(ns[2], 5000000);
	ck_assert_int_eq(buckets__parse("1e-9", ns, NULL), 1);
	ck_assert_uint_eq(ns[0], 1);
}
END_TEST

/* what is wrong, and where: the collector words its message from this */
START_TEST(parse_errors)
{
	static const struct {
		const char *list;
		enum buckets_err code;
		const char *at;
	} bad[] = {
		{ "", BUCKETS_EMPTY, NULL },
		{ " , ", BUCKETS_EMPTY, NULL },
		{ "1,+Inf", BUCKETS_INF, "+Inf" },
		{ "inf", BUCKETS_INF, "inf" },
		{ "0.1,abc", BUCKETS_NOT_NUMBER, "abc" },
		{ "1;2", BUCKETS_NOT_NUMBER, "1;2" },
		{ "-1", BUCKETS_NOT_POSITIVE, "-1" },
		{ "0", BUCKETS_NOT_POSITIVE, "0" },
		{ "nan", BUCKETS_NOT_POSITIVE, "nan" },
		{ "2e9", BUCKETS_NOT_POSITIVE, "2e9" },
		{ "0.0000000015", BUCKETS_NOT_WHOLE_NS, "0.0000000015" },
		{ "1e-13", BUCKETS_NOT_WHOLE_NS, "1e-13" },
		{ "0.1,0.01", BUCKETS_NOT_ASCENDING, "0.01" },
		{ "0.1 0.1", BUCKETS_NOT_ASCENDING, "0.1" },
	};
	uint64_t ns[OBS_MAX_BOUNDS];
	struct buckets_error e;
	char many[512] = "";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		ck_assert_msg(buckets__parse(bad[i].list, ns, &e) == -1, "accepted '%s'", bad[i].list);
		ck_assert_int_eq(e.code, bad[i].code);
		if (bad[i].at)
			ck_assert_msg(e.at && !strncmp(e.at, bad[i].at, strlen(bad[i].at)), "'%s': at '%s'",
				      bad[i].list, e.at ? e.at : "(null)");
	}
	ck_assert_int_eq(buckets__parse("0.1,0.01", ns, &e), -1);
	ck_assert_uint_eq(e.prev_ns, 100000000);
	ck_assert(e.value == 0.01);
	for (int i = 1; i <= OBS_MAX_BOUNDS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%d,", i);
	ck_assert_int_eq(buckets__parse(many, ns, &e), -1);
	ck_assert_int_eq(e.code, BUCKETS_TOO_MANY);
	ck_assert_int_eq(buckets__parse("1", ns, NULL), 1); /* no error struct: fine */
	ck_assert_int_eq(buckets__parse("x", ns, NULL), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buckets");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, search_matches_definition);
	tcase_add_test(tc, parse_defaults);
	tcase_add_test(tc, parse_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
