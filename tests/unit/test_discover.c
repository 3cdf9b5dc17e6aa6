/* test_discover.c -- attach's selectors: --exe globs on path/name/comm, cgroup subtrees, how kinds combine (AND)
 * and values of one kind (OR), /proc/net/tcp lines; funcbin's users of whole-binary probes */
#include <check.h>
#include <string.h>

#include "app/discover.h"
#include "source/funcbin.h"

START_TEST(exe_globs)
{
	/* a glob with '/' is the path's */
	ck_assert_int_eq(disc__glob_exe("/usr/sbin/*", "/usr/sbin/nginx", "nginx"), DISC_PATH);
	ck_assert_int_eq(disc__glob_exe("*/nginx", "/usr/sbin/nginx", "nginx"), DISC_PATH);
	ck_assert_int_eq(disc__glob_exe("/usr/bin/*", "/usr/sbin/nginx", "nginx"), DISC_NO);
	/* ... never the comm's, even when the comm would match */
	ck_assert_int_eq(disc__glob_exe("/x/nginx", "/usr/sbin/nginx", "/x/nginx"), DISC_NO);
	/* without '/': the file name first, then the comm */
	ck_assert_int_eq(disc__glob_exe("nginx", "/usr/sbin/nginx", "nginx"), DISC_NAME);
	ck_assert_int_eq(disc__glob_exe("python3", "/usr/bin/python3.11", "python3"), DISC_COMM);
	ck_assert_int_eq(disc__glob_exe("python3*", "/usr/bin/python3.11", "python3"), DISC_NAME);
	ck_assert_int_eq(disc__glob_exe("ngin?", "/usr/sbin/nginx", "worker"), DISC_NAME);
	ck_assert_int_eq(disc__glob_exe("[mn]ginx", "/usr/sbin/nginx", "x"), DISC_NAME);
	ck_assert_int_eq(disc__glob_exe("nginx", "/usr/sbin/nginx-debug", "nginx-debug"), DISC_NO);
	/* the whole name: no substring match */
	ck_assert_int_eq(disc__glob_exe("gin", "/usr/sbin/nginx", "nginx"), DISC_NO);
	/* a replaced binary still matches by its name */
	ck_assert_int_eq(disc__glob_exe("nginx", "/usr/sbin/nginx (deleted)", "x"), DISC_NAME);
	ck_assert_int_eq(disc__glob_exe("/usr/sbin/nginx", "/usr/sbin/nginx (deleted)", "x"), DISC_PATH);
	/* unknown exe (a kernel thread, gone) or comm */
	ck_assert_int_eq(disc__glob_exe("nginx", NULL, "nginx"), DISC_COMM);
	ck_assert_int_eq(disc__glob_exe("nginx", NULL, NULL), DISC_NO);
	ck_assert_int_eq(disc__glob_exe("/usr/sbin/nginx", NULL, "nginx"), DISC_NO);
}
END_TEST

START_TEST(cgroup_subtrees)
{
	char rel[64];

	ck_assert(disc__cgroup_under("/a", "/a"));
	ck_assert(disc__cgroup_under("/a", "/a/b/c"));
	ck_assert(!disc__cgroup_under("/a", "/ab"));
	ck_assert(!disc__cgroup_under("/a/b", "/a"));
	ck_assert(disc__cgroup_under("/", "/anything"));
	ck_assert(disc__cgroup_under("/", "/"));
	ck_assert(!disc__cgroup_under("/a", NULL));
	ck_assert(!disc__cgroup_under("/a", "a"));
	/* the mount's prefix goes; a path from the root stays; trailing slashes drop */
	ck_assert_int_eq(disc__cgroup_rel("/sys/fs/cgroup/unified/x/y", "/sys/fs/cgroup/unified", rel, sizeof(rel)), 0);
	ck_assert_str_eq(rel, "/x/y");
	ck_assert_int_eq(disc__cgroup_rel("/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/", rel, sizeof(rel)), 0);
	ck_assert_str_eq(rel, "/");
	ck_assert_int_eq(disc__cgroup_rel("/system.slice/nginx.service/", "/sys/fs/cgroup", rel, sizeof(rel)), 0);
	ck_assert_str_eq(rel, "/system.slice/nginx.service");
	/* a prefix of a component is not the mount */
	ck_assert_int_eq(disc__cgroup_rel("/sys/fs/cgroupx/a", "/sys/fs/cgroup", rel, sizeof(rel)), 0);
	ck_assert_str_eq(rel, "/sys/fs/cgroupx/a");
	ck_assert_int_eq(disc__cgroup_rel("relative", "/sys/fs/cgroup", rel, sizeof(rel)), -1);
	ck_assert_int_eq(disc__cgroup_rel("/a/very/long/path/that/does/not/fit/in/the/buffer/given/here/at/all",
					  "/sys/fs/cgroup", rel, 16),
			 -1);
}
END_TEST

static bool match(const struct disc_sel *s, const struct disc_facts *f, char *why, bool *bin)
{
	return disc__match(s, f, why, DISC_WHY_LEN, bin);
}

START_TEST(kinds_and_values)
{
	char *exes[] = { "nginx", "python3*" }, *cgs[] = { "/web", "/api" };
	int ports[] = { 80, 8080 }, listening[] = { 8080, 9000 };
	struct disc_facts nginx = {
		.exe = "/usr/sbin/nginx", .comm = "nginx", .cgroup = "/web/frontend", .ports = listening, .nports = 2
	};
	struct disc_facts py = { .exe = "/usr/bin/python3.11", .comm = "python3", .cgroup = "/other" };
	struct disc_sel s = { 0 };
	char why[DISC_WHY_LEN];
	bool bin = true;

	/* nothing selected: nothing matches */
	ck_assert(!match(&s, &nginx, why, &bin));
	ck_assert(disc_sel__empty(&s));
	ck_assert(disc_sel__empty(NULL));
	/* one kind, two values: either (OR) */
	s.exes = exes;
	s.nexes = 2;
	ck_assert(match(&s, &nginx, why, &bin));
	ck_assert_str_eq(why, "exe=nginx(name)");
	ck_assert(bin);
	ck_assert(match(&s, &py, why, &bin));
	ck_assert_str_eq(why, "exe=python3*(name)");
	/* two kinds: both (AND) */
	s.ports = ports;
	s.nports = 2;
	ck_assert(match(&s, &nginx, why, &bin));
	ck_assert_str_eq(why, "exe=nginx(name) port=8080");
	ck_assert(!match(&s, &py, why, &bin)); /* listens on nothing */
	/* three kinds */
	s.cgroups = cgs;
	s.ncgroups = 2;
	ck_assert(match(&s, &nginx, why, &bin));
	ck_assert_str_eq(why, "exe=nginx(name) port=8080 cgroup=/web");
	nginx.cgroup = "/webx";
	ck_assert(!match(&s, &nginx, why, &bin));
	nginx.cgroup = NULL; /* unknown: no match */
	ck_assert(!match(&s, &nginx, why, &bin));
	/* ports alone: any of the selected ones it listens on, each said */
	s = (struct disc_sel){ .ports = ports, .nports = 2 };
	listening[1] = 80;
	ck_assert(match(&s, &nginx, why, &bin));
	ck_assert_str_eq(why, "port=80 port=8080");
	ck_assert(!bin);
	nginx.nports = 0;
	ck_assert(!match(&s, &nginx, why, &bin));
	/* a comm match is not the binary's */
	s = (struct disc_sel){ .exes = (char *[]){ "python3" }, .nexes = 1 };
	ck_assert(match(&s, &py, why, &bin));
	ck_assert_str_eq(why, "exe=python3(comm)");
	ck_assert(!bin);
}
END_TEST

START_TEST(tcp_lines)
{
	unsigned port, st;
	unsigned long ino;

	ck_assert(
		disc__parse_tcp_line("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
				     "       0 123456 1 0000000000000000 100 0 0 10 0",
				     &port, &st, &ino));
	ck_assert_uint_eq(port, 8080);
	ck_assert_uint_eq(st, 0x0A);
	ck_assert_uint_eq(ino, 123456);
	/* tcp6 */
	ck_assert(
		disc__parse_tcp_line("   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 "
				     "0A 00000000:00000000 00:00000000 00000000   101        0 42 1 0 100 0 0 10 0",
				     &port, &st, &ino));
	ck_assert_uint_eq(port, 80);
	ck_assert_uint_eq(ino, 42);
	/* header, garbage, cut */
	ck_assert(!disc__parse_tcp_line("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
					"uid  timeout inode",
					&port, &st, &ino));
	ck_assert(!disc__parse_tcp_line("", &port, &st, &ino));
	ck_assert(!disc__parse_tcp_line("   0: 0100007F:1F90 00000000:0000 0A", &port, &st, &ino));
	ck_assert(!disc__parse_tcp_line("   0: 0100007F:XYZ 00000000:0000 0A 0:0 0:0 0 0 0 1", &port, &st, &ino));
	ck_assert(!disc__parse_tcp_line("   0: 0100007F:12345 0:0 0A 0:0 0:0 0 0 0 1", &port, &st, &ino));
	ck_assert(!disc__parse_tcp_line("   0: 0100007F 0:0 0A 0:0 0:0 0 0 0 1", &port, &st, &ino));
}
END_TEST

START_TEST(binary_users)
{
	struct funcbin b = { 0 };
	dev_t dev;
	ino_t ino;

	ck_assert_int_eq(funcbin__use(&b, 10, 1, 100), 0);
	ck_assert_int_eq(funcbin__use(&b, 11, 1, 100), 0);
	ck_assert_int_eq(funcbin__use(&b, 12, 1, 200), 0);
	ck_assert_int_eq(funcbin__nbinaries(&b), 2);
	/* same inode on another device is another binary */
	ck_assert_int_eq(funcbin__use(&b, 13, 2, 100), 0);
	ck_assert_int_eq(funcbin__nbinaries(&b), 3);
	ck_assert(funcbin__of(&b, 11, &dev, &ino));
	ck_assert_uint_eq(ino, 100);
	ck_assert(!funcbin__of(&b, 99, &dev, &ino));
	/* one user of 100 leaves: not the last */
	ck_assert_int_eq(funcbin__release(&b, 10, &dev, &ino), 0);
	/* an unknown pid: nothing */
	ck_assert_int_eq(funcbin__release(&b, 10, &dev, &ino), 0);
	/* the last user: its binary */
	ck_assert_int_eq(funcbin__release(&b, 11, &dev, &ino), 1);
	ck_assert_uint_eq(dev, 1);
	ck_assert_uint_eq(ino, 100);
	/* a pid execs into another binary: the new one replaces the old */
	ck_assert_int_eq(funcbin__use(&b, 12, 1, 300), 0);
	ck_assert_int_eq(funcbin__nbinaries(&b), 2);
	ck_assert_int_eq(funcbin__release(&b, 12, &dev, &ino), 1);
	ck_assert_uint_eq(ino, 300);
	ck_assert_int_eq(funcbin__release(&b, 13, &dev, &ino), 1);
	ck_assert_int_eq(funcbin__nbinaries(&b), 0);
	/* many users: it grows */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(funcbin__use(&b, 1000 + i, 5, 5), 0);
	for (int i = 0; i < 99; i++)
		ck_assert_int_eq(funcbin__release(&b, 1000 + i, &dev, &ino), 0);
	ck_assert_int_eq(funcbin__release(&b, 1099, &dev, &ino), 1);
	funcbin__free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("discover");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, exe_globs);
	tcase_add_test(tc, cgroup_subtrees);
	tcase_add_test(tc, kinds_and_values);
	tcase_add_test(tc, tcp_lines);
	tcase_add_test(tc, binary_users);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? 1 : 0;
}
