/* cgroup.c -- a process's cgroup and the container it names: /proc/PID/cgroup and mountinfo text (pure) */
#include <stdbool.h>
#include <string.h>

#include "source/cgroup.h"

/* the runtimes' forms of a container's cgroup component, with its id after the prefix */
static const struct {
	const char *prefix;
	int runtime;
} prefixes[] = {
	{ "docker-", CGROUP_RT_DOCKER },	     /* systemd driver: /system.slice/docker-<id>.scope */
	{ "cri-containerd-", CGROUP_RT_CONTAINERD }, /* kubelet, systemd driver */
	{ "crio-", CGROUP_RT_CRIO },		     /* crio-<id>.scope, cgroupfs: crio-<id> */
	{ "libpod-", CGROUP_RT_PODMAN },	     /* libpod-<id>.scope (libpod-conmon-<id> is conmon: no match) */
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* a 64-hex container id in component @c (its ".scope" already removed): the runtime, or 0 */
static int container_in(const char *c, size_t n, const char **id)
{
	if (n == 64 && all_hex(c, 64)) {
		*id = c;
		return CGROUP_RT_BARE;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t k = strlen(prefixes[i].prefix);

		if (n == k + 64 && !memcmp(c, prefixes[i].prefix, k) && all_hex(c + k, 64)) {
			*id = c + k;
			return prefixes[i].runtime;
		}
	}
	return 0;
}

/* a pod uid, 8-4-4-4-12 lowercase hex with '-' (cgroupfs) or '_' (systemd) between: into @out */
static bool uid_at(const char *s, size_t n, char *out)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? (s[i] != '-' && s[i] != '_') : !is_hex(s[i]))
			return false;
		out[i] = sep ? '-' : s[i];
	}
	out[36] = '\0';
	return true;
}

/* "pod<uid>" (cgroupfs) or "kubepods[-<qos>]-pod<uid_with_underscores>.slice" (systemd) */
static bool pod_in(const char *c, size_t n, char *out)
{
	if (n == 3 + 36 && !memcmp(c, "pod", 3))
		return uid_at(c + 3, 36, out);
	if (ends_with(c, n, ".slice") && n >= 4 + 36 + 6) {
		const char *u = c + n - 6 - 36;

		return !memcmp(u - 4, "-pod", 4) && uid_at(u, 36, out);
	}
	return false;
}

void cgroup__ident_from_path(const char *path, size_t len, struct cgroup_ident *out)
{
	size_t i = 0;

	out->container_id[0] = '\0';
	out->pod_uid[0] = '\0';
	out->runtime = CGROUP_RT_NONE;
	while (i < len) {
		const char *c = path + i;
		size_t n = 0, bare;
		const char *id = NULL;
		char uid[CGROUP_POD_UID_LEN];
		int rt;

		while (i + n < len && c[n] != '/')
			n++;
		i += n + 1;
		if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			continue;
		bare = ends_with(c, n, ".scope") ? n - 6 : n;
		rt = container_in(c, bare, &id);
		if (rt) { /* the deepest wins: a container's own nested cgroups keep its id */
			memcpy(out->container_id, id, 64);
			out->container_id[64] = '\0';
			out->runtime = rt;
		} else if (pod_in(c, n, uid)) {
			memcpy(out->pod_uid, uid, sizeof(uid));
		}
	}
}

/* one "N:controllers:/path" line: its path, and whether it is the v2 line; false when malformed */
static bool split_line(const char *l, size_t n, const char **path, size_t *plen, bool *v2)
{
	size_t i = 0, c1, c2;

	while (i < n && l[i] >= '0' && l[i] <= '9')
		i++;
	if (!i || i > 10 || i >= n || l[i] != ':')
		return false;
	c1 = i++;
	while (i < n && l[i] != ':')
		i++;
	if (i >= n)
		return false;
	c2 = i;
	if (c2 + 1 >= n || l[c2 + 1] != '/' || memchr(l, '\0', n))
		return false;
	*path = l + c2 + 1;
	*plen = n - c2 - 1;
	*v2 = c1 == 1 && l[0] == '0' && c2 == c1 + 1;
	return true;
}

static void keep_line(struct cgroup_ident *out, const char *l, size_t n)
{
	if (n < sizeof(out->line)) {
		memcpy(out->line, l, n);
		out->line[n] = '\0';
	} else {
		out->line[0] = '\0'; /* never a cut path: it would name another cgroup */
	}
}

int cgroup__parse_proc(const char *buf, size_t len, struct cgroup_ident *out)
{
	const char *v2 = NULL, *first = NULL, *sysd = NULL, *with_id = NULL, *with_pod = NULL;
	size_t v2n = 0, firstn = 0, sysdn = 0, with_idn = 0, with_podn = 0;
	struct cgroup_ident best = { 0 }, pod = { 0 };
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		const char *l = buf + i, *path;
		size_t n = 0, plen;
		bool is_v2;
		struct cgroup_ident t;

		while (i + n < len && l[n] != '\n')
			n++;
		i += n + 1;
		if (!split_line(l, n, &path, &plen, &is_v2))
			continue;
		if (!first) {
			first = l;
			firstn = n;
		}
		if (is_v2 && !v2) {
			v2 = l;
			v2n = n;
		}
		if (!sysd && n > 14 && memmem(l, n, ":name=systemd:", 14)) {
			sysd = l;
			sysdn = n;
		}
		cgroup__ident_from_path(path, plen, &t);
		/* the v2 line's answer wins over every v1 line's; among v1 lines the first */
		if (t.container_id[0] && (!with_id || (is_v2 && with_id != v2))) {
			best = t;
			with_id = l;
			with_idn = n;
		}
		if (t.pod_uid[0] && (!with_pod || (is_v2 && with_pod != v2))) {
			pod = t;
			with_pod = l;
			with_podn = n;
		}
	}
	if (!first)
		return -1;
	if (with_id) {
		memcpy(out->container_id, best.container_id, sizeof(out->container_id));
		out->runtime = best.runtime;
		/* the pod of the line that named the container, else any line's */
		memcpy(out->pod_uid, best.pod_uid[0] ? best.pod_uid : pod.pod_uid, sizeof(out->pod_uid));
	} else if (with_pod) {
		memcpy(out->pod_uid, pod.pod_uid, sizeof(out->pod_uid));
	}
	if (v2)
		keep_line(out, v2, v2n);
	else if (with_id)
		keep_line(out, with_id, with_idn);
	else if (sysd)
		keep_line(out, sysd, sysdn);
	else if (with_pod)
		keep_line(out, with_pod, with_podn);
	else
		keep_line(out, first, firstn);
	return 0;
}

/* the next space-separated field of a mountinfo line */
static bool field(const char *l, size_t n, size_t *at, const char **f, size_t *fn)
{
	size_t i = *at;

	while (i < n && l[i] == ' ')
		i++;
	if (i >= n)
		return false;
	*f = l + i;
	while (i < n && l[i] != ' ')
		i++;
	*fn = (size_t)(l + i - *f);
	*at = i;
	return true;
}

/* a mount point with the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) */
static int unescape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (!c || o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o ? 0 : -1;
}

int cgroup__v2_mount(const char *buf, size_t len, char *out, size_t outlen)
{
	char tmp[4096];
	bool found = false;
	size_t i = 0;

	if (!outlen)
		return -1;
	while (i < len) {
		const char *l = buf + i, *f, *root = NULL, *mnt = NULL;
		size_t n = 0, at = 0, fn, rootn = 0, mntn = 0;
		int k = 0;
		bool sep = false, ok = false;

		while (i + n < len && l[n] != '\n')
			n++;
		i += n + 1;
		/* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
		while (field(l, n, &at, &f, &fn)) {
			if (k == 3) {
				root = f;
				rootn = fn;
			} else if (k == 4) {
				mnt = f;
				mntn = fn;
			} else if (k >= 6 && !sep && fn == 1 && f[0] == '-') {
				sep = true;
			} else if (sep) {
				ok = fn == 7 && !memcmp(f, "cgroup2", 7);
				break;
			}
			k++;
		}
		if (!ok || !mnt || (found && !(rootn == 1 && root[0] == '/')))
			continue;
		if (unescape(mnt, mntn, tmp, sizeof(tmp)) || strlen(tmp) >= outlen)
			continue;
		memcpy(out, tmp, strlen(tmp) + 1);
		found = true;
		if (rootn == 1 && root[0] == '/')
			return 0;
	}
	if (!found)
		out[0] = '\0';
	return found ? 0 : -1;
}
