/* test_privs.c -- the capabilities kept per feature, their names, and output files that refuse symlinks */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/capability.h>

#include "base/privs.h"

#define BIT(c) (1ULL << (c))

static char *names(uint64_t mask)
{
	static char out[512];

	privs__format_mask(mask, out, sizeof(out));
	return out;
}

START_TEST(keep_per_feature)
{
	struct privs_need none = { 0 }, ebpf = { .bpf_fds = true }, func = { .bpf_fds = true, .uprobes = true },
			  seg = { .segments = true }, user = { .bpf_fds = true, .signal_child = true };

	ck_assert_uint_eq(privs__keep_mask(&none, true), 0);
	/* our own maps: nothing on a kernel that checks only at creation, CAP_BPF on one that checks every call */
	ck_assert_uint_eq(privs__keep_mask(&ebpf, false), 0);
	ck_assert_uint_eq(privs__keep_mask(&ebpf, true), BIT(CAP_BPF));
	ck_assert_str_eq(names(privs__keep_mask(&func, false)),
			 "cap_dac_read_search,cap_sys_ptrace,cap_sys_admin,cap_perfmon");
	ck_assert_str_eq(names(privs__keep_mask(&func, true)),
			 "cap_dac_read_search,cap_sys_ptrace,cap_sys_admin,cap_perfmon,cap_bpf");
	ck_assert_str_eq(names(privs__keep_mask(&seg, false)), "cap_dac_override,cap_fowner,cap_sys_ptrace");
	ck_assert_str_eq(names(privs__keep_mask(&user, false)), "cap_kill");
	ck_assert_str_eq(names(0), "");
}
END_TEST

START_TEST(output_never_through_a_symlink)
{
	char dir[] = "/tmp/test_privs.XXXXXX", path[PATH_MAX], link[PATH_MAX], target[PATH_MAX], err[512];
	struct stat st;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/new.log", dir);
	snprintf(link, sizeof(link), "%s/link.log", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	umask(022);

	f = privs__open_output(path, "--log-file", err, sizeof(err));
	ck_assert_ptr_nonnull(f);
	fputs("x\n", f);
	fclose(f);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);

	/* appends, never truncates */
	f = privs__open_output(path, "--log-file", err, sizeof(err));
	ck_assert_ptr_nonnull(f);
	fputs("y\n", f);
	fclose(f);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4);

	ck_assert_int_eq(symlink(target, link), 0);
	f = privs__open_output(link, "--spans-file", err, sizeof(err));
	ck_assert_ptr_null(f);
	ck_assert_ptr_nonnull(strstr(err, "--spans-file"));
	ck_assert_ptr_nonnull(strstr(err, "is a symbolic link: refused"));
	ck_assert_int_eq(access(target, F_OK), -1); /* the link's target was not created */

	unlink(link);
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("privs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, keep_per_feature);
	tcase_add_test(tc, output_never_through_a_symlink);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
