/* privs.c -- after attaching: keep only the capabilities later work needs, in every thread; run --user; private files */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/securebits.h>
#include <sys/capability.h>

#include "base/log.h"
#include "base/privs.h"

#include <cjson/cJSON.h>

#define BIT(c) (1ULL << (c))

/* why each capability obsprobe can use matters */
static const struct cap_use {
	int cap;
	int alt; /* another capability the kernel accepts instead (0: none) */
	const char *present, *missing;
} cap_uses[] = {
	{ CAP_BPF, CAP_SYS_ADMIN, "load eBPF programs and maps (eBPF capture)",
	  "eBPF capture (attach, run) cannot load its programs; the shim still works" },
	{ CAP_PERFMON, CAP_SYS_ADMIN, "attach tracepoints, uprobes (--func) and kprobes",
	  "no eBPF tracing programs: no syscalls, no --func, no --kfunc" },
	{ CAP_SYS_ADMIN, 0, "mount tracefs; uprobes on processes found after the start (--func)",
	  "tracefs must be mounted already; --func misses children and new images found later" },
	{ CAP_SYS_PTRACE, 0, "read /proc/PID/maps and exe of other users' processes (--func, segments)",
	  "--func only on processes of obsprobe's own uid and capabilities" },
	{ CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE, "read other users' binaries and libraries for --func symbols",
	  "--func only on binaries obsprobe's uid can read" },
	{ CAP_DAC_OVERRIDE, 0, "read and write other users' shim segments (serve, --preload)",
	  "the shim's segments of other users are not read" },
	{ CAP_FOWNER, 0, "remove other users' segments of exited processes from the runtime dir",
	  "segments of other users' exited processes stay in the runtime dir" },
	{ CAP_KILL, 0, "run --user: pass SIGINT/SIGTERM on to CMD", "run --user: signals are not passed on to CMD" },
	{ CAP_SETUID, 0, "run --user: start CMD as that user", "run --user cannot switch user" },
	{ CAP_SETGID, 0, "run --user: start CMD with that user's groups", "run --user cannot switch groups" },
	{ CAP_NET_BIND_SERVICE, 0, "--listen on a port below 1024", "--listen needs a port of 1024 or above" },
	{ CAP_SETPCAP, 0, "drop the capability bounding set after the start",
	  "the bounding set is kept as it is (capabilities are still dropped)" },
};

uint64_t privs__keep_mask(const struct privs_need *need, bool bpf_fds_need_cap)
{
	uint64_t m = 0;

	if (need->bpf_fds && bpf_fds_need_cap)
		m |= BIT(CAP_BPF);
	/* perf_event_open of a uprobe on another process: CAP_PERFMON is not enough, Linux 6.18
	 * answers EACCES without CAP_SYS_ADMIN; /proc/PID/exe, maps and root need CAP_SYS_PTRACE */
	if (need->uprobes)
		m |= BIT(CAP_PERFMON) | BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH) |
		     (bpf_fds_need_cap ? BIT(CAP_BPF) : 0);
	if (need->segments)
		m |= BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_SYS_PTRACE);
	if (need->signal_child)
		m |= BIT(CAP_KILL);
	return m;
}

bool privs__bpf_fds_need_cap(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	char v = '0';
	FILE *f;

	/* Linux 6.5 moved the unprivileged_bpf_disabled check from every bpf() call to map and
	 * program creation */
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return true;
	if (major > 6 || (major == 6 && minor >= 5))
		return false;
	f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "re");
	if (f) {
		if (fread(&v, 1, 1, f) != 1)
			v = '1';
		fclose(f);
	}
	return v != '0';
}

void privs__format_mask(uint64_t mask, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < 64 && n < len; c++) {
		char *name;

		if (!(mask & BIT(c)))
			continue;
		name = cap_to_name(c);
		n += snprintf(out + n, len - n, "%s%s", n ? "," : "", name ? name : "?");
		cap_free(name);
	}
}

/* ---- the drop, applied by every thread to itself ---- */

static struct {
	uint64_t keep, had;
	int last_cap;
	atomic_int acks;
	atomic_int failures;
} req;

/* raw syscalls only: this also runs in a signal handler */
static int apply_self(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int setpcap;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return -1;
	setpcap = !!(d[0].effective & BIT(CAP_SETPCAP));
	if (setpcap) {
		for (int c = 0; c <= req.last_cap; c++)
			if (!(req.keep & BIT(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
			    prctl(PR_CAPBSET_DROP, c, 0, 0, 0))
				return -1;
		/* uid 0 gains nothing from an exec */
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0))
			return -1;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		uint32_t keep = (uint32_t)(req.keep >> (32 * i)) & d[i].permitted;

		d[i].effective = d[i].permitted = keep;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d))
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void on_drop_signal(int sig)
{
	int saved = errno;

	(void)sig;
	if (apply_self())
		atomic_fetch_add(&req.failures, 1);
	atomic_fetch_add(&req.acks, 1);
	errno = saved;
}

/* one line of /proc/self/task/TID/status, as a number (hex for the Cap* lines) */
static int task_status(pid_t tid, const char *key, uint64_t *v)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			*v = strtoull(line + kl + 1, NULL, strncmp(key, "Cap", 3) ? 10 : 16);
			found = 0;
		}
	fclose(f);
	return found;
}

static bool task_dropped(pid_t tid, uint64_t keep)
{
	uint64_t eff, prm, bnd, nnp;

	if (task_status(tid, "CapEff", &eff) || task_status(tid, "CapPrm", &prm) || task_status(tid, "CapBnd", &bnd) ||
	    task_status(tid, "NoNewPrivs", &nnp))
		return false;
	/* the bounding set shrinks only with CAP_SETPCAP */
	return !(eff & ~keep) && !(prm & ~keep) && (!(req.had & BIT(CAP_SETPCAP)) || !(bnd & ~keep)) && nnp == 1;
}

/* signal every thread but this one that has not dropped yet; 0 when all have */
static int signal_others(int sig, uint64_t keep, int *pending)
{
	pid_t self = (pid_t)syscall(SYS_gettid);
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	*pending = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tid == self || task_dropped(tid, keep))
			continue;
		if (syscall(SYS_tgkill, getpid(), tid, sig) == 0)
			(*pending)++;
	}
	closedir(d);
	return 0;
}

int privs__drop(const struct privs_need *need, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_handler = on_drop_signal, .sa_flags = SA_RESTART }, old;
	int sig = SIGRTMAX - 1, pending = 0, rc = -1;
	uint64_t have = 0, keep;
	cap_t cur;

	cur = cap_get_proc();
	if (!cur) {
		snprintf(err, errlen, "privileges: cannot read the capabilities: %s", strerror(errno));
		return -1;
	}
	for (int c = 0; c <= cap_max_bits() - 1 && c < 64; c++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (!cap_get_flag(cur, c, CAP_PERMITTED, &v) && v == CAP_SET)
			have |= BIT(c);
	}
	cap_free(cur);
	keep = privs__keep_mask(need, privs__bpf_fds_need_cap()) & have;
	req.keep = keep;
	req.had = have;
	req.last_cap = cap_max_bits() - 1;
	atomic_store(&req.acks, 0);
	atomic_store(&req.failures, 0);

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old)) {
		snprintf(err, errlen, "privileges: sigaction: %s", strerror(errno));
		return -1;
	}
	/* the server's and exporter's threads exist already: each drops for itself; threads
	 * they start meanwhile inherit from their creator, so rescan until none is left */
	for (int round = 0; round < 5; round++) {
		struct timespec nap = { 0, 5 * 1000 * 1000 };

		if (signal_others(sig, keep, &pending)) {
			snprintf(err, errlen, "privileges: cannot list /proc/self/task: %s", strerror(errno));
			goto cleanup;
		}
		if (!pending)
			break;
		for (int w = 0; w < 200 && atomic_load(&req.acks) < pending; w++)
			nanosleep(&nap, NULL);
		atomic_store(&req.acks, 0);
	}
	if (pending || atomic_load(&req.failures)) {
		int n = pending ? pending : atomic_load(&req.failures);

		snprintf(err, errlen, "privileges: %d thread%s did not drop their capabilities", n, n == 1 ? "" : "s");
		goto cleanup;
	}
	if (apply_self()) {
		snprintf(err, errlen, "privileges: cannot drop capabilities: %s", strerror(errno));
		goto cleanup;
	}
	if (signal_others(sig, keep, &pending) || pending) {
		snprintf(err, errlen, "privileges: a thread kept capabilities it should have dropped");
		goto cleanup;
	}
	{
		char names[512];

		privs__format_mask(keep, names, sizeof(names));
		vlog("privileges: kept %s; no new privileges", keep ? names : "no capabilities");
	}
	rc = 0;
cleanup:
	sigaction(sig, &old, NULL);
	return rc;
}

/* "CAP_SYS_ADMIN" */
static void cap_upper(int cap, char *out, size_t len)
{
	char *name = cap_to_name(cap);
	size_t k;

	for (k = 0; name && name[k] && k < len - 1; k++)
		out[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
	out[k] = '\0';
	cap_free(name);
}

void privs__report(FILE *out)
{
	cap_t cur = cap_get_proc();

	for (size_t i = 0; i < sizeof(cap_uses) / sizeof(cap_uses[0]); i++) {
		const struct cap_use *u = &cap_uses[i];
		cap_flag_value_t v = CAP_CLEAR, alt = CAP_CLEAR;
		char name[64], altname[64], instead[96] = "missing: ";

		if (cur)
			cap_get_flag(cur, u->cap, CAP_EFFECTIVE, &v);
		if (cur && v != CAP_SET && u->alt)
			cap_get_flag(cur, u->alt, CAP_EFFECTIVE, &alt);
		cap_upper(u->cap, name, sizeof(name));
		if (alt == CAP_SET) {
			cap_upper(u->alt, altname, sizeof(altname));
			snprintf(instead, sizeof(instead), "missing, %s stands in: ", altname);
		}
		fprintf(out, "  %-4s %-22s %s%s\n", v == CAP_SET ? "ok" : "--", name, v == CAP_SET ? "" : instead,
			v == CAP_SET || alt == CAP_SET ? u->present : u->missing);
	}
	cap_free(cur);
}

/* ---- run --user ---- */

int privs__lookup_user(const char *name, struct run_user *u, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(name);
	char *end;
	int n;

	if (!pw) {
		unsigned long id = strtoul(name, &end, 10);

		if (*name && !*end)
			pw = getpwuid((uid_t)id);
	}
	if (!pw) {
		snprintf(err, errlen, "run: --user '%s': no such user (see getent passwd)", name);
		return -1;
	}
	memset(u, 0, sizeof(*u));
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	snprintf(u->home, sizeof(u->home), "%s", pw->pw_dir);
	n = (int)(sizeof(u->groups) / sizeof(u->groups[0]));
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &n) < 0) {
		/* more than fit: the primary group and the first ones */
		n = (int)(sizeof(u->groups) / sizeof(u->groups[0]));
	}
	u->ngroups = n;
	return 0;
}

int privs__become(const struct run_user *u)
{
	if (setgroups((size_t)u->ngroups, u->groups) || setgid(u->gid) || setuid(u->uid))
		return -1;
	if (u->uid != 0 && setuid(0) == 0) { /* there must be no way back */
		errno = EPERM;
		return -1;
	}
	setenv("HOME", u->home, 1);
	setenv("USER", u->name, 1);
	setenv("LOGNAME", u->name, 1);
	return 0;
}

/* ---- output files ---- */

FILE *privs__open_output(const char *path, const char *option, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen,
				 "%s %s: is a symbolic link: refused (obsprobe never writes through a link; give the real path)",
				 option, path);
		else
			snprintf(err, errlen, "%s %s: %s", option, path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "a");
	if (!f) {
		snprintf(err, errlen, "%s %s: %s", option, path, strerror(errno));
		close(fd);
	}
	return f;
}

/* ---- check --json ---- */

void privs__report_json(struct cJSON *array)
{
	cap_t cur = cap_get_proc();

	for (size_t i = 0; i < sizeof(cap_uses) / sizeof(cap_uses[0]); i++) {
		const struct cap_use *u = &cap_uses[i];
		cap_flag_value_t v = CAP_CLEAR, alt = CAP_CLEAR;
		cJSON *o = cJSON_CreateObject();
		char name[64], altname[64];

		if (cur)
			cap_get_flag(cur, u->cap, CAP_EFFECTIVE, &v);
		if (cur && v != CAP_SET && u->alt)
			cap_get_flag(cur, u->alt, CAP_EFFECTIVE, &alt);
		cap_upper(u->cap, name, sizeof(name));
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddBoolToObject(o, "effective", v == CAP_SET);
		cJSON_AddStringToObject(o, "for", u->present);
		cJSON_AddStringToObject(o, "missing", u->missing);
		if (alt == CAP_SET) {
			cap_upper(u->alt, altname, sizeof(altname));
			cJSON_AddStringToObject(o, "stands_in", altname);
		}
		cJSON_AddItemToArray(array, o);
	}
	cap_free(cur);
}
