/* test_symbols.c -- ELF symbols (globs, aliases, offsets, stripped, static) and /proc parsers */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procstat.h"
#include "source/procs.h"
#include "source/symbols.h"

#define WORKER "build/targets/worker"

/* ppid and flags of a /proc/PID/stat line, through lib/procstat.c; 0 or -1 */
static int stat_parse(const char *line, pid_t *ppid, unsigned long *flags)
{
	struct procstat ps;

	if (procstat__parse(line, strlen(line), &ps) < PROCSTAT_FLAGS)
		return -1;
	*ppid = ps.ppid;
	*flags = ps.flags;
	return 0;
}

/* st_value from nm, to check offsets independently of libelf */
static unsigned long long nm_addr(const char *bin, const char *name)
{
	char cmd[512], line[256];
	unsigned long long addr = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s", bin);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char n[128], t;
		unsigned long long a;

		if (sscanf(line, "%llx %c %127s", &a, &t, n) == 3 && !strcmp(n, name))
			addr = a;
	}
	if (p)
		pclose(p);
	return addr;
}

START_TEST(glob_and_aliases)
{
	char err[256];
	struct elf_syms *s = elf_syms__open(WORKER, err, sizeof(err));
	struct sym_match *m = NULL;
	int n = 0;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert(!elf_syms__stripped(s));
	ck_assert(!elf_syms__is_static(s));
	ck_assert_int_eq(elf_syms__match(s, "work_*", &m, &n), 0);
	/* work_1ms, work_fast (= work_alias, one address), work_recursive */
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(m[0].name, "work_1ms");
	ck_assert_str_eq(m[1].name, "work_fast");
	ck_assert_str_eq(m[2].name, "work_recursive");
	/* -no-pie: file offset = vaddr - 0x400000 for the text segment */
	ck_assert_uint_eq(m[1].addr, nm_addr(WORKER, "work_fast"));
	ck_assert_uint_eq(m[1].offset, m[1].addr - 0x400000);
	free(m);
	/* the alias alone still finds the function, under its canonical name */
	ck_assert_int_eq(elf_syms__match(s, "work_alias", &m, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(m[0].name, "work_fast");
	free(m);
	ck_assert_int_eq(elf_syms__match(s, "nothing_*", &m, &n), 0);
	ck_assert_int_eq(n, 0);
	free(m);
	elf_syms__free(s);
}
END_TEST

START_TEST(shared_library)
{
	char err[256], path[512];
	struct elf_syms *s;
	struct sym_match *m = NULL;
	int n = 0;

	ck_assert_int_eq(lib_find_path("libc.so.6", path, sizeof(path)), 0);
	s = elf_syms__open(path, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(elf_syms__match(s, "malloc", &m, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_ne(m[0].offset, 0);
	free(m);
	elf_syms__free(s);
	/* a prefix at a version boundary finds the versioned file */
	ck_assert_int_eq(lib_find_path("libc.so", path, sizeof(path)), 0);
	ck_assert_ptr_nonnull(strstr(path, "libc.so."));
	ck_assert_int_eq(lib_find_path("libnope_xyz.so.9", path, sizeof(path)), -1);
}
END_TEST

START_TEST(stripped_static_and_garbage)
{
	char err[256];
	struct elf_syms *s;
	FILE *f;

	ck_assert_int_eq(system("strip -o build/tests/worker.stripped " WORKER), 0);
	s = elf_syms__open("build/tests/worker.stripped", err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert(elf_syms__stripped(s));
	elf_syms__free(s);
	s = elf_syms__open("build/targets/static_hello", err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert(elf_syms__is_static(s));
	elf_syms__free(s);
	f = fopen("build/tests/garbage.bin", "w");
	fputs("#!/bin/sh\necho not an elf\n", f);
	fclose(f);
	err[0] = '\0';
	ck_assert_ptr_null(elf_syms__open("build/tests/garbage.bin", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not an ELF"));
	ck_assert_ptr_null(elf_syms__open("/nonexistent", err, sizeof(err)));
}
END_TEST

START_TEST(proc_parsers)
{
	char path[256];
	pid_t ppid;
	unsigned long flags;

	ck_assert(
		maps_parse_line("7f1c2a400000-7f1c2a5a6000 r-xp 00028000 08:01 1835 /usr/lib/x86_64-linux-gnu/libc.so.6\n",
				path, sizeof(path)));
	ck_assert_str_eq(path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	ck_assert(!maps_parse_line("7f1c2a400000-7f1c2a5a6000 r--p 00000000 08:01 1835 /usr/lib/libc.so.6\n", path,
				   sizeof(path)));
	ck_assert(!maps_parse_line("7ffd1-7ffd2 r-xp 00000000 00:00 0 [vdso]\n", path, sizeof(path)));
	ck_assert(!maps_parse_line("55d-55e r-xp 00000000 08:01 99 /tmp/x (deleted)\n", path, sizeof(path)));
	ck_assert(!maps_parse_line("garbage", path, sizeof(path)));
	ck_assert_int_eq(stat_parse("812 (nginx: worker) S 811 811 811 0 -1 4194624 90 0", &ppid, &flags), 0);
	ck_assert_int_eq(ppid, 811);
	ck_assert_uint_eq(flags, 4194624);
	ck_assert_int_eq(stat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0", &ppid, &flags), 0);
	ck_assert(flags & 0x00200000);
	ck_assert_int_eq(stat_parse("bad", &ppid, &flags), -1);
}
END_TEST

START_TEST(proc_helpers)
{
	char buf[4096];
	pid_t kids[8], child;
	int n;

	ck_assert(proc_exists(getpid()));
	ck_assert(!proc_exists(0x3ffffff));
	ck_assert(proc_is_kernel_thread(2));
	ck_assert(!proc_is_kernel_thread(getpid()));
	ck_assert_int_eq(proc_comm(getpid(), buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "test_symbols");
	ck_assert_int_eq(proc_find_object(getpid(), "libc.so.6", buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "libc.so.6"));
	ck_assert_int_eq(proc_find_object(getpid(), "libnope.so", buf, sizeof(buf)), -1);
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	n = proc_descendants(getpid(), kids, 8);
	ck_assert_int_ge(n, 1);
	{
		bool found = false;

		for (int i = 0; i < n; i++)
			found |= kids[i] == child;
		ck_assert(found);
	}
	kill(child, 9);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("symbols");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, glob_and_aliases);
	tcase_add_test(tc, shared_library);
	tcase_add_test(tc, stripped_static_and_garbage);
	tcase_add_test(tc, proc_parsers);
	tcase_add_test(tc, proc_helpers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
