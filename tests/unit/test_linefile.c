/* test_linefile.c -- --spans-file/--log-file lines: buffered, written once per flush, each counted written or failed
 * exactly, whatever the write(2) did */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/linefile.h"

/* a line of @len bytes, its last the newline */
static const char *line_of(size_t len, char c)
{
	static char buf[LINEFILE_BUF * 2];

	ck_assert_uint_le(len, sizeof(buf));
	memset(buf, c, len - 1);
	buf[len - 1] = '\n';
	return buf;
}

START_TEST(lines_reach_the_file_at_flush)
{
	char path[] = "/tmp/obsprobe-linefile-XXXXXX", got[64];
	int fd = mkstemp(path);
	struct linefile lf;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	linefile__init(&lf, fd);
	linefile__put(&lf, "{\"a\":1}\n", 8);
	linefile__put(&lf, "{\"b\":2}\n", 8);
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), 0); /* nothing before the flush */
	ck_assert_uint_eq(lf.written, 0);
	linefile__flush(&lf);
	ck_assert_uint_eq(lf.written, 2);
	ck_assert_uint_eq(lf.failed, 0);
	n = pread(fd, got, sizeof(got), 0);
	ck_assert_int_eq(n, 16);
	ck_assert_int_eq(memcmp(got, "{\"a\":1}\n{\"b\":2}\n", 16), 0);
	linefile__flush(&lf); /* an empty flush writes and counts nothing */
	ck_assert_uint_eq(lf.written, 2);
	{
		uint64_t w, f;

		linefile__take(&lf, &w, &f); /* what was not handed out yet */
		ck_assert_uint_eq(w, 2);
		ck_assert_uint_eq(f, 0);
		linefile__put(&lf, "{}\n", 3);
		linefile__take(&lf, &w, &f); /* flushes first; only what came since */
		ck_assert_uint_eq(w, 1);
		linefile__take(&lf, &w, &f);
		ck_assert_uint_eq(w + f, 0);
	}
	linefile__free(&lf);
	close(fd);
	unlink(path);
}
END_TEST

/* a full buffer flushes before the line that would not fit; a line longer than the buffer goes straight out */
START_TEST(full_buffer_and_long_lines)
{
	char path[] = "/tmp/obsprobe-linefile-XXXXXX";
	int fd = mkstemp(path);
	struct linefile lf;
	int per = LINEFILE_BUF / 1000; /* 1000-byte lines that fit */

	ck_assert_int_ge(fd, 0);
	linefile__init(&lf, fd);
	for (int i = 0; i <= per; i++)
		linefile__put(&lf, line_of(1000, 'x'), 1000);
	ck_assert_uint_eq(lf.written, (uint64_t)per); /* the last one did not fit: the first per went out */
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), per * 1000);
	linefile__put(&lf, line_of(LINEFILE_BUF + 10, 'y'), LINEFILE_BUF + 10);
	ck_assert_uint_eq(lf.written, (uint64_t)per + 2); /* the buffered one first, then the long one, in order */
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), (per + 1) * 1000 + LINEFILE_BUF + 10);
	linefile__free(&lf);
	ck_assert_uint_eq(lf.failed, 0);
	close(fd);
	unlink(path);
}
END_TEST

/* a device that takes nothing: every line failed, none written */
START_TEST(write_errors_fail_every_line)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct linefile lf;

	ck_assert_int_ge(fd, 0);
	linefile__init(&lf, fd);
	for (int i = 0; i < 5; i++)
		linefile__put(&lf, "{}\n", 3);
	linefile__flush(&lf);
	ck_assert_uint_eq(lf.written, 0);
	ck_assert_uint_eq(lf.failed, 5);
	linefile__put(&lf, line_of(LINEFILE_BUF + 1, 'z'), LINEFILE_BUF + 1); /* straight out, failed too */
	ck_assert_uint_eq(lf.failed, 6);
	linefile__free(&lf);
	close(fd);
}
END_TEST

/* a short write: the lines whose newline got out are written, the one it cut and those after it failed */
START_TEST(short_write_counts_exactly)
{
	int p[2];
	struct linefile lf;
	char drain[8192];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096); /* one page: a write stops at 4096 bytes */
	linefile__init(&lf, p[1]);
	for (int i = 0; i < 100; i++)
		linefile__put(&lf, line_of(100, 'a'), 100);
	linefile__flush(&lf);
	ck_assert_uint_eq(lf.written, 40); /* 4096 bytes: 40 whole lines and 96 bytes of the 41st */
	ck_assert_uint_eq(lf.failed, 60);
	ck_assert_int_eq(read(p[0], drain, sizeof(drain)), 4096);
	linefile__put(&lf, line_of(100, 'b'), 100); /* the next flush starts clean */
	linefile__free(&lf);
	ck_assert_uint_eq(lf.written, 41);
	ck_assert_uint_eq(lf.failed, 60);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* no file: nothing is kept or counted */
START_TEST(no_file_is_a_no_op)
{
	struct linefile lf;

	linefile__init(&lf, -1);
	linefile__put(&lf, "{}\n", 3);
	linefile__flush(&lf);
	ck_assert_uint_eq(lf.written + lf.failed, 0);
	linefile__free(&lf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("linefile");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, lines_reach_the_file_at_flush);
	tcase_add_test(tc, full_buffer_and_long_lines);
	tcase_add_test(tc, write_errors_fail_every_line);
	tcase_add_test(tc, short_write_counts_exactly);
	tcase_add_test(tc, no_file_is_a_no_op);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
