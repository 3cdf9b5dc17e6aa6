/* test_shim_stdio.c -- the shim's stdio capture without LD_PRELOAD (stdiocap.c, logcap.c; not the wrappers): the
 * %n scan that decides whether a printf may be formatted again, the texts formatted again (printf, perror,
 * warn/err), which descriptors are logged, and the records in a segment in memory (char-at-a-time bytes held
 * until their line ends, sent first by any other record of the thread, a cut text marked cut = 2) */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/logcap.h"
#include "preload/netcap.h"
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

__attribute__((format(printf, 3, 4))) static void fmt(int fd, int err_in, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	stdiocap__format(fd, f, ap, err_in);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void warnf(int fd, bool with_errno, int err_in, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	stdiocap__warn(fd, f, ap, with_errno, err_in);
	va_end(ap);
}

START_TEST(texts_formatted_again)
{
	char want[512];
	int n = 0;

	fmt(1, 0, "a %d %s\n", 1, "b");
	expect_rec(1, "a 1 b\n", 0);
	errno = 0;
	fmt(2, ENOENT, "%m: %2$s %1$d\n", 7, "x"); /* errno as before the call; positional arguments */
	expect_rec(2, "No such file or directory: x 7\n", 0);
	fmt(1, 0, "x%n\n", &n); /* never formatted twice */
	ck_assert_int_eq(n, 0);
	fmt(-1, 0, "not logged\n");
	expect_none();
	stdiocap__perror(2, "ctx", EACCES);
	expect_rec(2, "ctx: Permission denied\n", 0);
	stdiocap__perror(2, "", EACCES);
	expect_rec(2, "Permission denied\n", 0);
	stdiocap__perror(2, NULL, ENOENT);
	expect_rec(2, "No such file or directory\n", 0);
	/* err.h: "PROG: FORMAT: strerror\n", "PROG: FORMAT\n", no FORMAT */
	warnf(2, true, ENOENT, "w %d", 5);
	snprintf(want, sizeof(want), "%s: w 5: No such file or directory\n", program_invocation_short_name);
	expect_rec(2, want, 0);
	warnf(2, false, ENOENT, "x %s", "y");
	snprintf(want, sizeof(want), "%s: x y\n", program_invocation_short_name);
	expect_rec(2, want, 0);
	stdiocap__warn(2, NULL, NULL, true, EACCES);
	snprintf(want, sizeof(want), "%s: Permission denied\n", program_invocation_short_name);
	expect_rec(2, want, 0);
	stdiocap__warn(2, NULL, NULL, false, 0);
	snprintf(want, sizeof(want), "%s: \n", program_invocation_short_name);
	expect_rec(2, want, 0);
	warnf(2, true, 0, "%n", &n);
	expect_none();
	/* strings, buffers, chars */
	stdiocap__str(1, "s");
	stdiocap__line(1, "l");
	stdiocap__buf(2, "b\n", 2);
	stdiocap__char(1, 'c');
	stdiocap__char(1, '\n');
	stdiocap__str(-1, "no");
	stdiocap__buf(1, "", 0);
	expect_rec(1, "s", 0);
	expect_rec(1, "l\n", 0);
	expect_rec(2, "b\n", 0);
	expect_rec(1, "c\n", 0);
	expect_none();
	/* a printf handler registered: nothing formatted again from then on */
	stdiocap__printf_extended();
	fmt(1, 0, "a\n");
	stdiocap__perror(2, "still", ENOENT); /* perror's text is not the program's format */
	expect_rec(2, "still: No such file or directory\n", 0);
	expect_none();
}
END_TEST

START_TEST(long_text_cut_and_marked)
{
	static char big[STDIOCAP_FMT_MAX + 100];
	struct obs_seg_rec r;
	struct obs_seg_log lg;
	size_t bytes = 0;
	int last_cut = -1;

	memset(big, 'z', sizeof(big) - 1);
	fmt(1, 0, "%s|\n", big);
	while (obs_seg_ring_get(s, &r)) {
		memcpy(&lg, r.data, r.len < sizeof(lg) ? r.len : sizeof(lg));
		bytes += lg.len;
		last_cut = lg.cut;
	}
	ck_assert_uint_eq(bytes, STDIOCAP_FMT_MAX);
	ck_assert_int_eq(last_cut, 2);
	/* a warn whose prefix and format pass the buffer: cut too, never past it */
	warnf(2, true, ENOENT, "%s", big);
	bytes = 0;
	while (obs_seg_ring_get(s, &r)) {
		memcpy(&lg, r.data, r.len < sizeof(lg) ? r.len : sizeof(lg));
		bytes += lg.len;
		last_cut = lg.cut;
	}
	ck_assert_uint_eq(bytes, STDIOCAP_FMT_MAX);
	ck_assert_int_eq(last_cut, 2);
}
END_TEST

START_TEST(descriptors_logged)
{
	ck_assert_int_eq(stdiocap__fd(1), 1);
	ck_assert_int_eq(stdiocap__fd(2), 2);
	ck_assert_int_eq(stdiocap__fd(0), -1);
	ck_assert_int_eq(stdiocap__fd(3), -1);
	ck_assert_int_eq(stdiocap__fd(-1), -1);
	ck_assert_int_eq(stdiocap__stream_fd(stdout), 1);
	ck_assert_int_eq(stdiocap__stream_fd(stderr), 2);
	netcap_fd_class[1] = OBS_FD_INBOUND | OBS_FD_TCP; /* a socket the shim saw accepted on fd 1 (inetd) */
	ck_assert_int_eq(stdiocap__fd(1), -1);
	netcap_fd_class[1] = 0;
	{
		char mem[16];
		FILE *f = fmemopen(mem, sizeof(mem), "w"); /* no descriptor */

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(stdiocap__stream_fd(f), -1);
		fclose(f);
	}
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
	tcase_add_test(tc, texts_formatted_again);
	tcase_add_test(tc, long_text_cut_and_marked);
	tcase_add_test(tc, descriptors_logged);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
