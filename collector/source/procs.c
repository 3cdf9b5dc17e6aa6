/* procs.c -- /proc readers: process liveness, names, descendants and mapped objects */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procstat.h"
#include "source/procs.h"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return -1;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

bool proc_exists(pid_t pid)
{
	char p[64];

	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return false;
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	return !access(p, F_OK);
}

bool proc_is_kernel_thread(pid_t pid)
{
	struct procstat st;

	return procstat__read(pid, &st) >= PROCSTAT_FLAGS && (st.flags & PROCSTAT_PF_KTHREAD);
}

int proc_comm(pid_t pid, char *buf, size_t len)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	if (read_line(p, buf, len))
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int proc_exe(pid_t pid, char *buf, size_t len)
{
	char p[64], target[PATH_MAX];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/exe", pid);
	n = readlink(p, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	/* through the process's root, so a binary in a container opens from here */
	snprintf(buf, len, "/proc/%d/root%s", pid, target);
	if (access(buf, R_OK))
		snprintf(buf, len, "%s", target);
	return 0;
}

int proc_descendants(pid_t pid, pid_t *out, int max)
{
	/* one pass collects every (pid, ppid); then a closure over the tree */
	pid_t *pids = NULL, *ppids = NULL;
	int n = 0, cap = 0, found = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct procstat st;
		pid_t c = atoi(de->d_name), pp;

		if (c <= 0 || procstat__read(c, &st) < PROCSTAT_PPID)
			continue;
		pp = st.ppid;
		if (n == cap) {
			cap = cap ? cap * 2 : 512;
			pids = realloc(pids, cap * sizeof(*pids));
			ppids = realloc(ppids, cap * sizeof(*ppids));
			if (!pids || !ppids)
				break;
		}
		pids[n] = c;
		ppids[n++] = pp;
	}
	closedir(d);
	if (pids && ppids) {
		/* out[] is the queue: children of pid, then their children */
		for (int i = 0; i < n && found < max; i++)
			if (ppids[i] == pid)
				out[found++] = pids[i];
		for (int q = 0; q < found; q++)
			for (int i = 0; i < n && found < max; i++)
				if (ppids[i] == out[q])
					out[found++] = pids[i];
	}
	free(pids);
	free(ppids);
	return found;
}

bool maps_parse_line(const char *line, char *path, size_t len)
{
	char perms[8];
	int off = 0;

	/* 7f..-7f.. r-xp 00000000 08:01 1234   /usr/lib/x86_64-linux-gnu/libc.so.6 */
	if (sscanf(line, "%*x-%*x %7s %*x %*x:%*x %*u %n", perms, &off) != 1 || !off)
		return false;
	if (perms[2] != 'x' || line[off] != '/')
		return false;
	snprintf(path, len, "%s", line + off);
	path[strcspn(path, "\n")] = '\0';
	/* a deleted file cannot be probed by path */
	return !strstr(path, " (deleted)");
}

static bool name_matches(const char *path, const char *name)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(name);

	if (strchr(name, '/'))
		return !strcmp(path, name);
	/* exact, or a prefix at a version boundary: "libc.so" matches "libc.so.6", "libssl" matches "libssl.so.3" */
	return !strcmp(base, name) || (!strncmp(base, name, n) && (base[n] == '.' || base[n] == '-'));
}

int proc_find_object(pid_t pid, const char *name, char *path, size_t len)
{
	char p[64], line[PATH_MAX + 128], mpath[PATH_MAX];
	FILE *f;
	int rc = -1;

	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (maps_parse_line(line, mpath, sizeof(mpath)) && name_matches(mpath, name)) {
			snprintf(path, len, "/proc/%d/root%s", pid, mpath);
			if (access(path, R_OK))
				snprintf(path, len, "%s", mpath);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* libc.so in a -dev package is a linker script, not a library */
static bool is_elf(const char *path)
{
	char magic[4] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (fread(magic, 1, 4, f) != 4)
		magic[0] = '\0';
	fclose(f);
	return !memcmp(magic, "\177ELF", 4);
}

int lib_find_path(const char *name, char *path, size_t len)
{
	static const char *const dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
		"/usr/local/lib"
	};
	const char *llp = getenv("LD_LIBRARY_PATH");
	char dir[PATH_MAX / 2];

	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return access(path, R_OK);
	}
	for (const char *p = llp ? llp : ""; *p;) {
		size_t l = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)l, p);
		snprintf(path, len, "%s/%s", dir, name);
		if (dir[0] && is_elf(path))
			return 0;
		p += l + (p[l] == ':');
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d;
		struct dirent *de;

		snprintf(path, len, "%s/%s", dirs[i], name);
		if (is_elf(path))
			return 0;
		/* "libssl" or "libc.so": the first versioned match */
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			snprintf(path, len, "%s/%s", dirs[i], de->d_name);
			if (name_matches(de->d_name, name) && strstr(de->d_name, ".so") && is_elf(path)) {
				closedir(d);
				return 0;
			}
		}
		closedir(d);
	}
	return -1;
}
