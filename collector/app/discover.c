/* discover.c -- attach's selectors: the pure matching, then what /proc says of a process (exe, comm, cgroup2
 * path, listening TCP ports: /proc/net/tcp{,6} LISTEN sockets -> inode -> /proc/PID/fd) */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi/syscalls.h"
#include "app/discover.h"
#include "source/cgroup.h"

bool disc_sel__empty(const struct disc_sel *s)
{
	return !s || (!s->nexes && !s->nports && !s->ncgroups);
}

enum disc_how disc__glob_exe(const char *glob, const char *exe, const char *comm)
{
	char path[PATH_MAX];
	const char *base;

	if (exe) {
		size_t n = strlen(exe), k = strlen(" (deleted)");

		if (n >= sizeof(path))
			n = sizeof(path) - 1;
		memcpy(path, exe, n);
		path[n] = '\0';
		if (n >= k && !strcmp(path + n - k, " (deleted)"))
			path[n - k] = '\0';
		if (strchr(glob, '/'))
			return !fnmatch(glob, path, 0) ? DISC_PATH : DISC_NO;
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		if (!fnmatch(glob, base, 0))
			return DISC_NAME;
	}
	if (strchr(glob, '/'))
		return DISC_NO;
	return comm && !fnmatch(glob, comm, 0) ? DISC_COMM : DISC_NO;
}

bool disc__cgroup_under(const char *sel, const char *cg)
{
	size_t n = strlen(sel);

	if (!cg || cg[0] != '/')
		return false;
	if (n == 1 && sel[0] == '/')
		return true;
	return !strncmp(sel, cg, n) && (cg[n] == '\0' || cg[n] == '/');
}

int disc__cgroup_rel(const char *sel, const char *mount, char *out, size_t len)
{
	size_t m = mount ? strlen(mount) : 0, n;

	if (sel[0] != '/')
		return -1;
	while (m > 1 && mount[m - 1] == '/')
		m--;
	if (m > 1 && !strncmp(sel, mount, m) && (sel[m] == '\0' || sel[m] == '/'))
		sel += m;
	if (snprintf(out, len, "%s", sel[0] ? sel : "/") >= (int)len)
		return -1;
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* append "what" to @why (space separated) */
static void say(char *why, size_t len, const char *what)
{
	size_t at = strlen(why);

	if (at < len)
		snprintf(why + at, len - at, "%s%s", at ? " " : "", what);
}

bool disc__match(const struct disc_sel *s, const struct disc_facts *f, char *why, size_t len, bool *by_binary)
{
	static const char *const how_name[] = { "", "path", "name", "comm" };
	char one[PATH_MAX + 32];
	bool ok;

	why[0] = '\0';
	*by_binary = false;
	if (disc_sel__empty(s))
		return false;
	if (s->nexes) {
		ok = false;
		for (int i = 0; i < s->nexes && !ok; i++) {
			enum disc_how h = disc__glob_exe(s->exes[i], f->exe, f->comm);

			if (h == DISC_NO)
				continue;
			ok = true;
			*by_binary = h != DISC_COMM;
			snprintf(one, sizeof(one), "exe=%s(%s)", s->exes[i], how_name[h]);
			say(why, len, one);
		}
		if (!ok)
			return false;
	}
	if (s->nports) {
		ok = false;
		for (int i = 0; i < s->nports && !ok; i++)
			for (int k = 0; k < f->nports && !ok; k++)
				ok = f->ports[k] == s->ports[i];
		if (!ok)
			return false;
		for (int i = 0; i < s->nports; i++)
			for (int k = 0; k < f->nports; k++)
				if (f->ports[k] == s->ports[i]) {
					snprintf(one, sizeof(one), "port=%d", s->ports[i]);
					say(why, len, one);
					k = f->nports;
				}
	}
	if (s->ncgroups) {
		ok = false;
		for (int i = 0; i < s->ncgroups && !ok; i++) {
			if (!disc__cgroup_under(s->cgroups[i], f->cgroup))
				continue;
			ok = true;
			snprintf(one, sizeof(one), "cgroup=%s", s->cgroups[i]);
			say(why, len, one);
		}
		if (!ok)
			return false;
	}
	return true;
}

bool disc__parse_tcp_line(const char *line, unsigned *port, unsigned *state, unsigned long *inode)
{
	/* "  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 ..." */
	char local[64];
	unsigned st;
	unsigned long ino;
	const char *colon;
	char *end;
	unsigned long p;

	if (sscanf(line, " %*u: %63s %*s %x %*s %*s %*s %*u %*d %lu", local, &st, &ino) != 3)
		return false;
	colon = strrchr(local, ':');
	if (!colon || !colon[1])
		return false;
	errno = 0;
	p = strtoul(colon + 1, &end, 16);
	if (*end || errno || p > 65535)
		return false;
	*port = (unsigned)p;
	*state = st;
	*inode = ino;
	return true;
}

/* ---- the live side ---- */

#define TCP_LISTEN_STATE 0x0A

struct listen_sock {
	unsigned long inode;
	int port;
};

struct discover {
	struct disc_sel sel;	/* cgroups: rel[] */
	char **rel;		/* the --cgroup paths from the cgroup2 root */
	char mount[PATH_MAX];	/* the cgroup2 mount ("" when no --cgroup) */
	struct listen_sock *ls; /* LISTEN sockets on a selected port (the last look) */
	int nls, capls;
};

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (int)n;
}

struct discover *discover__new(const struct disc_sel *s, char *err, size_t errlen)
{
	struct discover *d = calloc(1, sizeof(*d));
	char *mi = NULL;

	if (!d || !(d->rel = calloc(s->ncgroups + 1, sizeof(char *))))
		goto oom;
	d->sel = *s;
	if (s->ncgroups) {
		int n;

		mi = malloc(1 << 20);
		if (!mi)
			goto oom;
		n = read_file("/proc/self/mountinfo", mi, 1 << 20);
		if (n <= 0 || cgroup__v2_mount(mi, n, d->mount, sizeof(d->mount))) {
			snprintf(err, errlen,
				 "attach --cgroup: no cgroup2 hierarchy is mounted (/proc/self/mountinfo)");
			goto fail;
		}
		for (int i = 0; i < s->ncgroups; i++) {
			char rel[PATH_MAX], dir[PATH_MAX * 2];

			if (disc__cgroup_rel(s->cgroups[i], d->mount, rel, sizeof(rel))) {
				snprintf(err, errlen,
					 "attach --cgroup '%s': not an absolute path (a directory under %s, or a path from its root)",
					 s->cgroups[i], d->mount);
				goto fail;
			}
			snprintf(dir, sizeof(dir), "%s%s", d->mount, rel);
			if (access(dir, F_OK)) {
				snprintf(err, errlen, "attach --cgroup '%s': no cgroup %s (the cgroup2 mount is %s)",
					 s->cgroups[i], dir, d->mount);
				goto fail;
			}
			if (!(d->rel[i] = strdup(rel)))
				goto oom;
		}
		d->sel.cgroups = d->rel;
	}
	free(mi);
	return d;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(mi);
	discover__free(d);
	return NULL;
}

void discover__free(struct discover *d)
{
	if (!d)
		return;
	for (int i = 0; d->rel && i < d->sel.ncgroups; i++)
		free(d->rel[i]);
	free(d->rel);
	free(d->ls);
	free(d);
}

uint32_t discover__events(const struct discover *d)
{
	return OBS_DISC_EXEC | (d->sel.nports ? OBS_DISC_LISTEN : 0) | (d->sel.ncgroups ? OBS_DISC_CGROUP : 0);
}

static bool port_selected(const struct discover *d, unsigned port)
{
	for (int i = 0; i < d->sel.nports; i++)
		if ((unsigned)d->sel.ports[i] == port)
			return true;
	return false;
}

/* the LISTEN sockets on selected ports in @netdir ("/proc/net" or "/proc/PID/net") */
static void load_listeners(struct discover *d, const char *netdir)
{
	static const char *const files[] = { "tcp", "tcp6" };
	char path[64], line[512];

	d->nls = 0;
	for (int i = 0; i < 2; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", netdir, files[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned port, st;
			unsigned long ino;

			if (!disc__parse_tcp_line(line, &port, &st, &ino) || st != TCP_LISTEN_STATE || !ino ||
			    !port_selected(d, port))
				continue;
			if (d->nls == d->capls) {
				int cap = d->capls ? d->capls * 2 : 16;
				struct listen_sock *v = realloc(d->ls, cap * sizeof(*v));

				if (!v)
					break;
				d->ls = v;
				d->capls = cap;
			}
			d->ls[d->nls++] = (struct listen_sock){ .inode = ino, .port = (int)port };
		}
		fclose(f);
	}
}

#define DISC_MAX_SOCKS 1024 /* sockets of one process looked at */

/* the selected ports @pid listens on: its socket fds that are LISTEN sockets of @netdir's tables (NULL: the
 * tables load_listeners read last); the tables are read only when it holds a socket */
static int pid_ports(struct discover *d, pid_t pid, const char *netdir, int *ports, int max)
{
	char dir[64], link[PATH_MAX], target[64];
	unsigned long *socks = malloc(DISC_MAX_SOCKS * sizeof(*socks));
	DIR *fd;
	struct dirent *de;
	int n = 0, ns = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	fd = socks ? opendir(dir) : NULL;
	while (fd && (de = readdir(fd)) && ns < DISC_MAX_SOCKS) {
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		k = readlink(link, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (sscanf(target, "socket:[%lu]", &socks[ns]) == 1)
			ns++;
	}
	if (fd)
		closedir(fd);
	if (ns && netdir)
		load_listeners(d, netdir);
	for (int s = 0; s < ns && n < max; s++)
		for (int i = 0; i < d->nls; i++)
			if (d->ls[i].inode == socks[s]) {
				ports[n++] = d->ls[i].port;
				break;
			}
	free(socks);
	return n;
}

static bool any_exe(const struct disc_sel *s, const char *exe, const char *comm)
{
	for (int i = 0; i < s->nexes; i++)
		if (disc__glob_exe(s->exes[i], exe, comm) != DISC_NO)
			return true;
	return false;
}

/* exe, comm, cgroup and ports (see pid_ports for @netdir) of @pid, then the match; the cheap facts first: a
 * process ruled out by them costs no socket lookups (every exec on the host comes here) */
static bool check_pid(struct discover *d, pid_t pid, const char *netdir, uint32_t port, char *why, size_t len,
		      bool *by_binary)
{
	char p[64], exe[PATH_MAX], comm[32] = "", cg[4096];
	int ports[DISC_MAX_PORTS], n;
	struct cgroup_ident id;
	struct disc_facts f = { .ports = ports };
	ssize_t k;

	snprintf(p, sizeof(p), "/proc/%d/exe", pid);
	k = readlink(p, exe, sizeof(exe) - 1);
	if (k <= 0)
		return false; /* gone, or a kernel thread: nothing to trace */
	exe[k] = '\0';
	f.exe = exe;
	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	if (read_file(p, comm, sizeof(comm)) > 0) {
		comm[strcspn(comm, "\n")] = '\0';
		f.comm = comm;
	}
	if (d->sel.nexes && !any_exe(&d->sel, f.exe, f.comm))
		return false;
	if (d->sel.ncgroups) {
		snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
		n = read_file(p, cg, sizeof(cg));
		if (n > 0 && !cgroup__parse_proc(cg, n, &id) && !strncmp(id.line, "0::", 3))
			f.cgroup = id.line + 3;
		if (!f.cgroup)
			return false;
	}
	if (d->sel.nports) {
		f.nports = pid_ports(d, pid, netdir, ports, DISC_MAX_PORTS - 1);
		if (port && port_selected(d, port))
			ports[f.nports++] = (int)port; /* listen() just now: maybe not in /proc/net/tcp yet */
	}
	return disc__match(&d->sel, &f, why, len, by_binary);
}

int discover__scan(struct discover *d, void (*found)(void *ctx, pid_t pid, const char *why, bool by_binary), void *ctx)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int n = 0;

	if (!dir)
		return 0;
	if (d->sel.nports)
		load_listeners(d, "/proc/net");
	while ((de = readdir(dir))) {
		char why[DISC_WHY_LEN];
		pid_t pid = (pid_t)atoi(de->d_name);
		bool bin;

		if (pid <= 0 || pid == self || !check_pid(d, pid, NULL, 0, why, sizeof(why), &bin))
			continue;
		found(ctx, pid, why, bin);
		n++;
	}
	closedir(dir);
	return n;
}

bool discover__check(struct discover *d, pid_t pid, uint32_t port, char *why, size_t len, bool *by_binary)
{
	char net[64];

	if (pid == getpid())
		return false;
	snprintf(net, sizeof(net), "/proc/%d/net", pid); /* its own network namespace */
	return check_pid(d, pid, net, port, why, len, by_binary);
}

void discover__describe(const struct discover *d, char *out, size_t len)
{
	char one[PATH_MAX + 16];

	out[0] = '\0';
	for (int i = 0; i < d->sel.nexes; i++) {
		snprintf(one, sizeof(one), "--exe '%s'", d->sel.exes[i]);
		say(out, len, one);
	}
	for (int i = 0; i < d->sel.nports; i++) {
		snprintf(one, sizeof(one), "--port %d", d->sel.ports[i]);
		say(out, len, one);
	}
	for (int i = 0; i < d->sel.ncgroups; i++) {
		snprintf(one, sizeof(one), "--cgroup %s%s", d->mount,
			 strcmp(d->sel.cgroups[i], "/") ? d->sel.cgroups[i] : "");
		say(out, len, one);
	}
}
