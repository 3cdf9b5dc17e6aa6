/* test_cgroup.c -- container identity from /proc/PID/cgroup text, and the cgroup2 mount from mountinfo */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "source/cgroup.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
#define UID_ "0a1b2c3d_4e5f_6789_abcd_ef0123456789"

static struct cgroup_ident path(const char *p)
{
	struct cgroup_ident c;

	memset(&c, 'x', sizeof(c));
	cgroup__ident_from_path(p, strlen(p), &c);
	return c;
}

static struct cgroup_ident proc(const char *text, int rc)
{
	struct cgroup_ident c;

	memset(&c, 'x', sizeof(c));
	ck_assert_int_eq(cgroup__parse_proc(text, strlen(text), &c), rc);
	return c;
}

START_TEST(runtime_forms)
{
	static const struct {
		const char *path, *id, *uid;
		int rt;
	} cases[] = {
		{ "/docker/" ID, ID, "", CGROUP_RT_BARE },
		{ "/system.slice/docker-" ID ".scope", ID, "", CGROUP_RT_DOCKER },
		{ "/kubepods/besteffort/pod" UID "/" ID, ID, UID, CGROUP_RT_BARE },
		{ "/kubepods/pod" UID "/" ID, ID, UID, CGROUP_RT_BARE },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID
		  ".scope",
		  ID, UID, CGROUP_RT_CONTAINERD },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope", ID, UID, CGROUP_RT_CRIO },
		{ "/kubepods/burstable/pod" UID "/crio-" ID, ID, UID, CGROUP_RT_CRIO },
		{ "/machine.slice/libpod-" ID ".scope", ID, "", CGROUP_RT_PODMAN },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope/container", ID, "",
		  CGROUP_RT_PODMAN },
		/* the reader in another cgroup namespace sees the way up as ".." */
		{ "/../../../kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID
		  ".scope",
		  ID, UID, CGROUP_RT_CONTAINERD },
		/* docker in docker: the deepest */
		{ "/docker/" ID2 "/docker/" ID, ID, "", CGROUP_RT_BARE },
		/* a container's own sub-cgroups keep its id */
		{ "/system.slice/docker-" ID ".scope/init.scope", ID, "", CGROUP_RT_DOCKER },
		/* a pod's cgroup, no container (the pause sandbox's parent) */
		{ "/kubepods/besteffort/pod" UID, "", UID, CGROUP_RT_NONE },
		/* not containers */
		{ "/", "", "", CGROUP_RT_NONE },
		{ "", "", "", CGROUP_RT_NONE },
		{ "/user.slice/user-1000.slice/session-3.scope", "", "", CGROUP_RT_NONE },
		{ "/machine.slice/libpod-conmon-" ID ".scope", "", "", CGROUP_RT_NONE },
		{ "/system.slice/docker-" ID "0.scope", "", "", CGROUP_RT_NONE },
		{ "/docker/" ID "/", ID, "", CGROUP_RT_BARE },
		{ "/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "", "", CGROUP_RT_NONE },
		{ "/podman-" ID ".scope", "", "", CGROUP_RT_NONE },
		{ "/kubepods/pod" UID "x/" ID, ID, "", CGROUP_RT_BARE },
		{ "/kubepods/pod0a1b2c3d-4e5f_6789-abcd-ef012345678/" ID, ID, "", CGROUP_RT_BARE },
		{ "/kubepods-pod" UID_ ".slicex", "", "", CGROUP_RT_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgroup_ident c = path(cases[i].path);

		ck_assert_msg(!strcmp(c.container_id, cases[i].id), "%zu: %s -> id '%s'", i, cases[i].path,
			      c.container_id);
		ck_assert_msg(!strcmp(c.pod_uid, cases[i].uid), "%zu: %s -> uid '%s'", i, cases[i].path, c.pod_uid);
		ck_assert_int_eq(c.runtime, cases[i].rt);
	}
}
END_TEST

START_TEST(proc_files)
{
	struct cgroup_ident c;

	/* this machine's form: v1 controllers and the v2 line, a container in the v2 hierarchy */
	c = proc("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/603324af25c9b591313816c41f1318dd\n"
		 "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID
		 ".scope\n",
		 0);
	ck_assert_str_eq(c.container_id, ID);
	ck_assert_str_eq(c.pod_uid, UID);
	ck_assert_str_eq(c.line, "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
				 ".slice/cri-containerd-" ID ".scope");
	/* hybrid host, docker with cgroupfs: the id is in the v1 lines only; the v2 line is still the path */
	c = proc("12:cpu,cpuacct:/docker/" ID "\n11:memory:/docker/" ID "\n0::/system.slice/containerd.service\n", 0);
	ck_assert_str_eq(c.container_id, ID);
	ck_assert_str_eq(c.pod_uid, "");
	ck_assert_str_eq(c.line, "0::/system.slice/containerd.service");
	/* the v2 line wins over a v1 line naming another container */
	c = proc("3:cpu:/docker/" ID2 "\n0::/system.slice/docker-" ID ".scope", 0);
	ck_assert_str_eq(c.container_id, ID);
	ck_assert_int_eq(c.runtime, CGROUP_RT_DOCKER);
	/* v1 only: the line the id came from */
	c = proc("2:cpu:/\n1:name=systemd:/kubepods/burstable/pod" UID "/" ID "\n", 0);
	ck_assert_str_eq(c.container_id, ID);
	ck_assert_str_eq(c.pod_uid, UID);
	ck_assert_str_eq(c.line, "1:name=systemd:/kubepods/burstable/pod" UID "/" ID);
	c = proc("2:cpu:/\n1:name=systemd:/user.slice\n", 0);
	ck_assert_str_eq(c.line, "1:name=systemd:/user.slice");
	ck_assert_str_eq(c.container_id, "");
	/* no container: the path alone */
	c = proc("0::/\n", 0);
	ck_assert_str_eq(c.line, "0::/");
	ck_assert_str_eq(c.container_id, "");
	ck_assert_str_eq(c.pod_uid, "");
	/* a path with ':' in it, and no final newline */
	c = proc("0::/a:b/docker-" ID ".scope", 0);
	ck_assert_str_eq(c.line, "0::/a:b/docker-" ID ".scope");
	ck_assert_str_eq(c.container_id, ID);
	/* garbage and malformed lines are skipped; nothing well formed: -1, all empty */
	c = proc("", -1);
	ck_assert_str_eq(c.line, "");
	ck_assert_str_eq(c.container_id, "");
	c = proc("garbage\n:cpu:/x\n1:cpu\n1:cpu:relative\n01234567890:cpu:/\nx::/\n", -1);
	ck_assert_str_eq(c.line, "");
	c = proc("garbage\n0::/ok\n", 0);
	ck_assert_str_eq(c.line, "0::/ok");
	/* a NUL inside a line (fuzz_cgroup's nul-in-line): malformed, never kept cut at the NUL */
	{
		static const char nul[] = "0::/docker-" ID "\0x.scope\n1:cpu:/a\n";

		ck_assert_int_eq(cgroup__parse_proc(nul, sizeof(nul) - 1, &c), 0);
		ck_assert_str_eq(c.line, "1:cpu:/a");
		ck_assert_str_eq(c.container_id, "");
	}
}
END_TEST

START_TEST(long_line)
{
	char text[600], want[300];
	struct cgroup_ident c;
	int n;

	/* a line that does not fit is not kept (a cut path would name another cgroup); the id still is */
	n = snprintf(text, sizeof(text), "0::/");
	for (int i = 0; i < 40; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "deep.slice/");
	snprintf(text + n, sizeof(text) - (size_t)n, "docker-" ID ".scope\n");
	c = proc(text, 0);
	ck_assert_str_eq(c.line, "");
	ck_assert_str_eq(c.container_id, ID);
	/* exactly 255 bytes fit */
	memset(want, 'a', 255);
	memcpy(want, "0::/", 4);
	want[255] = '\0';
	c = proc(want, 0);
	ck_assert_str_eq(c.line, want);
	want[255] = 'a';
	want[256] = '\0';
	c = proc(want, 0);
	ck_assert_str_eq(c.line, "");
}
END_TEST

START_TEST(mountinfo)
{
	char out[64];
	/* this machine: v1 controllers, cgroup2 at /sys/fs/cgroup/unified */
	const char *hybrid = "25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
			     "35 25 0:31 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
			     "40 35 0:37 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw\n"
			     "41 35 0:38 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
	/* a bind mount of a subtree first, the root's mount later; a space in the name */
	const char *bind = "50 1 0:37 /kubepods /var/lib/x rw - cgroup2 cgroup2 rw\n"
			   "51 1 0:37 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n";

	ck_assert_int_eq(cgroup__v2_mount(hybrid, strlen(hybrid), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/sys/fs/cgroup/unified");
	ck_assert_int_eq(cgroup__v2_mount(bind, strlen(bind), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/mnt/cg two");
	/* only the subtree's mount: it is still the mount */
	ck_assert_int_eq(cgroup__v2_mount(bind, (size_t)(strchr(bind, '\n') - bind + 1), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/var/lib/x");
	/* none; a fstype that only starts like it; the separator missing; too small an output */
	ck_assert_int_eq(cgroup__v2_mount(hybrid + 0, 44, out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(cgroup__v2_mount("1 1 0:1 / /x rw - cgroup2x c rw\n", 32, out, sizeof(out)), -1);
	ck_assert_int_eq(cgroup__v2_mount("1 1 0:1 / /x rw cgroup2 c rw\n", 28, out, sizeof(out)), -1);
	ck_assert_int_eq(cgroup__v2_mount(hybrid, strlen(hybrid), out, 8), -1);
	/* an escape that is not one, and one that makes a NUL */
	ck_assert_int_eq(cgroup__v2_mount("1 1 0:1 / /a\\9 rw - cgroup2 c rw", 32, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/a\\9");
	ck_assert_int_eq(cgroup__v2_mount("1 1 0:1 / /a\\000 rw - cgroup2 c rw", 34, out, sizeof(out)), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, runtime_forms);
	tcase_add_test(tc, proc_files);
	tcase_add_test(tc, long_line);
	tcase_add_test(tc, mountinfo);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
