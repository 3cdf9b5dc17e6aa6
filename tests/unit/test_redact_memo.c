/* test_redact_memo.c -- the memo gives out exactly what the redactor gives, counts each text given out as the
 * redactor alone counts it, and falls back to redacting for long texts and colliding slots */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/redact.h"
#include "signal/redact_memo.h"

static const char *const texts[] = {
	"/",
	"/index.html",
	"/login?password=hunter2&user=bob",
	"/u/alice@example.com/cards/4111111111111111",
	"Bearer abc.def.ghi",
	"redis://:pw@cache:6379/0",
	"curl/7.88.1",
	"token: x\0y", /* a NUL inside: scanned as U+FFFD */
	"shop.example:8080",
	"/api/users/42?page=2",
	"api_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
	"ef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", /* > 192 */
};

static size_t len_of(int i)
{
	return i == 7 ? 10 : strlen(texts[i]);
}

/* the same texts, many times, in several output sizes: memo and redactor agree on text, length and counters */
START_TEST(same_as_redactor)
{
	char err[128], a[512], b[512];
	const char *extra[] = { "secret-[0-9]+", NULL };
	struct redactor *plain = redactor__new(extra, err, sizeof(err)),
			*memod = redactor__new(extra, err, sizeof(err));
	struct redact_memo *m = redact_memo__new(memod);
	struct redact_stats sp, sm;
	struct redact_memo_stats st;
	const size_t sizes[] = { 512, 24, 8, 1 };

	ck_assert_ptr_nonnull(m);
	for (int round = 0; round < 50; round++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (int i = 0; i < (int)(sizeof(texts) / sizeof(texts[0])); i++) {
				int ra = redact__text(plain, texts[i], len_of(i), a, sizes[s]);
				int rb = redact_memo__text(m, texts[i], len_of(i), b, sizes[s]);

				ck_assert_int_eq(ra, rb);
				ck_assert_str_eq(a, b);
			}
	redactor__stats(plain, &sp);
	redactor__stats(memod, &sm);
	ck_assert_uint_gt(sp.redactions, 0);
	ck_assert_uint_gt(sp.truncated, 0);
	ck_assert_uint_eq(sp.redactions, sm.redactions);
	ck_assert_uint_eq(sp.truncated, sm.truncated);
	ck_assert_uint_eq(sp.dropped, sm.dropped);
	for (int r = 0; r < REDACT_RULE__COUNT; r++)
		ck_assert_uint_eq(sp.rules[r], sm.rules[r]);
	redact_memo__stats(m, &st);
	/* 4 sizes x 11 texts x 50 rounds; the long one (4 x 50) is always redacted; the rest hit after round 0
	 * unless two share a slot */
	ck_assert_uint_eq(st.hits + st.misses + st.passed, 4 * 11 * 50);
	ck_assert_uint_eq(st.passed, 4 * 50);
	ck_assert_uint_ge(st.hits, 4 * 10 * 40);
	redact_memo__free(m);
	redactor__free(plain);
	redactor__free(memod);
}
END_TEST

/* many distinct texts: slots are overwritten, results stay exact */
START_TEST(collisions)
{
	char err[128], a[128], b[128], in[64];
	struct redactor *plain = redactor__new(NULL, err, sizeof(err)), *memod = redactor__new(NULL, err, sizeof(err));
	struct redact_memo *m = redact_memo__new(memod);
	struct redact_stats sp, sm;

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 2000; i++) {
			int n = snprintf(in, sizeof(in), i % 3 ? "/item/%d?token=%d" : "/u/x%d@y.org", i, i * 7);
			int ra = redact__text(plain, in, (size_t)n, a, sizeof(a));
			int rb = redact_memo__text(m, in, (size_t)n, b, sizeof(b));

			ck_assert_int_eq(ra, rb);
			ck_assert_str_eq(a, b);
		}
	redactor__stats(plain, &sp);
	redactor__stats(memod, &sm);
	ck_assert_uint_eq(sp.redactions, 3 * 2000);
	ck_assert_uint_eq(sm.redactions, 3 * 2000);
	ck_assert_uint_eq(sp.rules[REDACT_EMAIL], sm.rules[REDACT_EMAIL]);
	ck_assert_uint_eq(sp.rules[REDACT_SECRET_KEY], sm.rules[REDACT_SECRET_KEY]);
	redact_memo__free(m);
	redactor__free(plain);
	redactor__free(memod);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redact_memo");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, same_as_redactor);
	tcase_add_test(tc, collisions);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
