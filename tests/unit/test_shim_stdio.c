/* test_shim_stdio.c -- the pure pieces of the shim's stdio capture: the %n scan that decides whether a printf may
 * be formatted again, and logcap.c's stdio records in a segment in memory (char-at-a-time bytes held until
 * their line ends, sent first by any other record of the thread, a cut text marked cut = 2) */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/logcap.h"
#include "preload/seg.h"
#include "preload/stdiocap.h"

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
	logcap__atfork_child(); /* nothing held from an earlier test */
}

static void teardown(void)
{
	seg__use(NULL);
	free(s);
}

/* the next ring record: a log record of @stream with @text, cut as @cut */
static void expect_rec(int stream, const char *text, int cut)
{
	struct obs_seg_rec r;
	struct obs_seg_log lg;

	ck_assert_msg(obs_seg_ring_get(s, &r), "no record in the ring (expected '%s')", text);
	ck_assert_uint_eq(r.type, OBS_REC_LOG);
	memcpy(&lg, r.data, r.len < sizeof(lg) ? r.len : sizeof(lg));
	ck_assert_uint_eq(lg.stream, stream);
	ck_assert_uint_eq(lg.cut, cut);
	ck_assert_uint_eq(lg.len, strlen(text));
	ck_assert_int_eq(memcmp(lg.text, text, lg.len), 0);
}

static void expect_none(void)
{
	ck_assert(!obs_seg_ring_get(s, &(struct obs_seg_rec){ 0 }));
}

static void chars(int fd, const char *text)
{
	for (const char *p = text; *p; p++)
		logcap__stdio_char(fd, *p, NULL, NULL);
}

START_TEST(percent_n_found)
{
	static const char *const with[] = { "%n",      "a %d b %n", "%hhn",	"%hn",	  "%ln",    "%lln",
					    "%jn",     "%zn",	    "%tn",	"%-5n",	  "%2$n",   "%*.*ln",
					    "%1$*2$n", "%%%n",	    "x%'I10qn", "%Ln %d", "%s%n|\n" };
	static const char *const without[] = { "",	  "plain",    "%%n",  "%d\n", "%s %m %c",
					       "%5.2f%%", "100%",     "%% n", "%zu",  "%2$s %1$s",
					       "%-*s|",	  "%hhd%lld", "%Lf",  "n%",   "%%%%n" };

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		ck_assert_msg(stdiocap__has_n(with[i]), "'%s' has a %%n", with[i]);
	for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++)
		ck_assert_msg(!stdiocap__has_n(without[i]), "'%s' has no %%n", without[i]);
}
END_TEST

START_TEST(chars_held_until_the_line_ends)
{
	chars(1, "putchar ");
	expect_none(); /* held */
	chars(1, "line\n");
	expect_rec(1, "putchar line\n", 0);
	/* another stream: the held bytes first */
	chars(1, "half");
	chars(2, "err\n");
	expect_rec(1, "half", 0);
	expect_rec(2, "err\n", 0);
	/* any other record of the thread sends them first: the order the text was produced in */
	chars(2, "x");
	logcap__stdio(1, &(struct iovec){ "printf\n", 7 }, 1, 7, true, NULL, NULL);
	expect_rec(2, "x", 0);
	expect_rec(1, "printf\n", 0);
	chars(1, "y");
	logcap__write(1, &(struct iovec){ "write\n", 6 }, 1, 6, NULL, NULL);
	expect_rec(1, "y", 0);
	expect_rec(1, "write\n", 0);
	/* at exit: what is held, without its newline */
	chars(1, "tail");
	logcap__stdio_flush();
	expect_rec(1, "tail", 0);
	logcap__stdio_flush();
	expect_none();
	/* a forked child drops the parent's */
	chars(1, "parent's");
	logcap__atfork_child();
	logcap__stdio_flush();
	expect_none();
}
END_TEST

START_TEST(chars_of_a_long_line_in_records_of_the_held_size)
{
	char line[LOGCAP_PENDING * 2 + 11];

	memset(line, 'c', sizeof(line) - 1);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	chars(2, line);
	line[LOGCAP_PENDING] = '\0';
	expect_rec(2, line, 0);
	expect_rec(2, line, 0);
	expect_rec(2, "ccccccccc\n", 0);
	expect_none();
}
END_TEST

START_TEST(ids_of_the_first_byte)
{
	static const uint8_t trace[16] = { 0x0a, 0xf7 }, span[8] = { 0xb7, 0xad }, other[16] = { 1 };
	struct obs_seg_rec r;
	struct obs_seg_log lg;

	logcap__stdio_char(1, 'a', trace, span);
	logcap__stdio_char(1, '\n', other, other);
	ck_assert(obs_seg_ring_get(s, &r));
	memcpy(&lg, r.data, sizeof(lg));
	ck_assert_int_eq(memcmp(lg.trace_id, trace, 16), 0);
	ck_assert_int_eq(memcmp(lg.span_id, span, 8), 0);
	logcap__stdio_char(1, 'b', NULL, NULL);
	logcap__stdio_char(1, '\n', trace, span);
	ck_assert(obs_seg_ring_get(s, &r));
	memcpy(&lg, r.data, sizeof(lg));
	ck_assert_int_eq(lg.trace_id[0] | lg.span_id[0], 0);
}
END_TEST

START_TEST(text_not_all_logged_is_cut)
{
	static char text[OBS_SEG_LOG_TEXT * 20];
	struct iovec v = { text, STDIOCAP_FMT_MAX };
	struct obs_seg_rec r;
	struct obs_seg_log lg;
	int n = 0, last_cut = -1;
	size_t bytes = 0;

	/* a printf longer than the shim's buffer: its first bytes, the last record says the rest is missing */
	memset(text, 'x', sizeof(text));
	logcap__stdio(1, &v, 1, v.iov_len, false, NULL, NULL);
	while (obs_seg_ring_get(s, &r)) {
		memcpy(&lg, r.data, r.len < sizeof(lg) ? r.len : sizeof(lg));
		ck_assert_msg(last_cut == -1 || last_cut == 1, "only the last record ends the text");
		last_cut = lg.cut;
		bytes += lg.len;
		n++;
	}
	ck_assert_int_eq(n, (STDIOCAP_FMT_MAX + OBS_SEG_LOG_TEXT - 1) / OBS_SEG_LOG_TEXT);
	ck_assert_uint_eq(bytes, STDIOCAP_FMT_MAX);
	ck_assert_int_eq(last_cut, 2);
	/* a whole short text: cut 0; a huge write: 16 records, the last cut = 2 */
	logcap__stdio(2, &(struct iovec){ "ok\n", 3 }, 1, 3, true, NULL, NULL);
	expect_rec(2, "ok\n", 0);
	v.iov_len = sizeof(text);
	logcap__write(1, &v, 1, v.iov_len, NULL, NULL);
	for (n = 0; obs_seg_ring_get(s, &r); n++) {
		memcpy(&lg, r.data, r.len < sizeof(lg) ? r.len : sizeof(lg));
		ck_assert_uint_eq(lg.cut, n < 15 ? 1 : 2);
	}
	ck_assert_int_eq(n, 16);
	/* nothing for other descriptors, nothing empty */
	logcap__stdio(3, &(struct iovec){ "x\n", 2 }, 1, 2, true, NULL, NULL);
	expect_none();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_stdio");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, percent_n_found);
	tcase_add_test(tc, chars_held_until_the_line_ends);
	tcase_add_test(tc, chars_of_a_long_line_in_records_of_the_held_size);
	tcase_add_test(tc, ids_of_the_first_byte);
	tcase_add_test(tc, text_not_all_logged_is_cut);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
