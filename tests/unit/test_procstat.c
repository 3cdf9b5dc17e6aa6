/* test_procstat.c -- the one /proc/PID/stat parser (collector and shim), and its raw read */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/procstat.h"

static int parse(const char *line, struct procstat *st)
{
	return procstat__parse(line, strlen(line), st);
}

START_TEST(fields)
{
	struct procstat st;

	/* comm with spaces and parentheses: the last ')' ends it */
	ck_assert_int_eq(parse("12 (a) b) c) S 1 12 12 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 "
			       "18446744073709551615\n",
			       &st),
			 PROCSTAT_RSS);
	ck_assert_int_eq(st.state, 'S');
	ck_assert_int_eq(st.ppid, 1);
	ck_assert_uint_eq(st.flags, 4194560);
	ck_assert_uint_eq(st.utime, 1);
	ck_assert_uint_eq(st.stime, 2);
	ck_assert_uint_eq(st.starttime, 98765);
	ck_assert_int_eq(st.rss, 10);
	/* a short line: the last field read, and the ones before it */
	ck_assert_int_eq(parse("812 (nginx: worker) S 811 811 811 0 -1 4194624 90 0", &st), 11);
	ck_assert_int_eq(st.ppid, 811);
	ck_assert_uint_eq(st.flags, 4194624);
	ck_assert_uint_eq(st.starttime, 0);
	ck_assert_int_eq(parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0", &st), 11);
	ck_assert(st.flags & PROCSTAT_PF_KTHREAD);
	ck_assert_int_eq(parse("1 (x) Z", &st), PROCSTAT_STATE);
	ck_assert_int_eq(st.state, 'Z');
	/* a field that is not a number stops it */
	ck_assert_int_eq(parse("1 (x) S 7 x 3", &st), PROCSTAT_PPID);
	ck_assert_int_eq(st.ppid, 7);
	ck_assert_int_eq(parse("1 (x) S 7x 3", &st), PROCSTAT_STATE);
	ck_assert_int_eq(parse("garbage", &st), -1);
	ck_assert_int_eq(parse("1 (x)", &st), -1);
	ck_assert_int_eq(parse("1 (x)   ", &st), -1);
	ck_assert_int_eq(parse("", &st), -1);
	/* only @len bytes are looked at */
	ck_assert_int_eq(procstat__parse("1 (x) S 42 9", 9, &st), PROCSTAT_PPID);
	ck_assert_int_eq(st.ppid, 4);
}
END_TEST

/* the raw read agrees with stdio and with getppid() */
START_TEST(read_self_and_parent)
{
	struct procstat a, b;
	char line[1024], path[64];
	FILE *f = fopen("/proc/self/stat", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_int_eq(parse(line, &a), PROCSTAT_RSS);
	ck_assert_int_eq(procstat__read(0, &b), PROCSTAT_RSS);
	ck_assert_int_eq(b.ppid, getppid());
	ck_assert_uint_eq(a.starttime, b.starttime);
	ck_assert_int_eq(b.state, 'R');
	ck_assert_int_eq(procstat__read(getpid(), &b), PROCSTAT_RSS);
	ck_assert_uint_eq(a.starttime, b.starttime);
	ck_assert_int_ge(procstat__read(getppid(), &b), PROCSTAT_STARTTIME);
	snprintf(path, sizeof(path), "/proc/%d/stat", getppid());
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_int_eq(parse(line, &a), PROCSTAT_RSS);
	ck_assert_uint_eq(a.starttime, b.starttime);
	ck_assert_int_eq(procstat__read(0x3fffffff, &b), -1); /* past pid_max */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("procstat");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, fields);
	tcase_add_test(tc, read_self_and_parent);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
