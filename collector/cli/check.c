/* check.c -- `obsprobe check`: which capture paths and kernel features work here, and why not */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/check.h"
#include "cli/needs.h"
#include "source/cgroup.h"
#include "source/bpfutil.h"
#include "source/calibrate.h"
#include "source/funclat.h"
#include "source/kfunc.h"
#include "base/log.h"
#include "signal/metrics.h"
#include "base/privs.h"
#include "source/syscalls.h"

static cJSON *json_rows; /* check --json: each row as {"ok", "detail"} under its key */

static void row(FILE *out, bool ok, const char *what, const char *detail)
{
	if (json_rows) {
		cJSON *o = cJSON_AddObjectToObject(json_rows, what);

		cJSON_AddBoolToObject(o, "ok", ok);
		cJSON_AddStringToObject(o, "detail", detail);
		return;
	}
	fprintf(out, "  %-4s %-34s %s\n", ok ? "ok" : "--", what, detail);
}

/* the cgroup2 hierarchy's mount point, from /proc/self/mountinfo (never assumed); 0 or -1 with @why */
static int cgroup2_mount(char *mnt, size_t len)
{
	static char buf[1 << 16];
	size_t n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return cgroup__v2_mount(buf, n, mnt, len);
}

/* `check --json`: the rows, the capabilities and what a deployment must grant, as one object */
static int check_json(FILE *out, cJSON *root, const char *rt, bool usable)
{
	char mnt[PATH_MAX], *text;
	cJSON *caps = cJSON_AddArrayToObject(root, "capabilities");

	cJSON_AddStringToObject(root, "version", OBSPROBE_VERSION);
	cJSON_AddStringToObject(root, "libbpf", libbpf_version_str());
	if (!cgroup2_mount(mnt, sizeof(mnt)))
		cJSON_AddStringToObject(root, "cgroup2_mount", mnt);
	else
		cJSON_AddNullToObject(root, "cgroup2_mount");
	privs__report_json(caps);
	cJSON_AddItemToObject(root, "deploy", needs__json(rt));
	cJSON_AddBoolToObject(root, "usable", usable);
	text = cJSON_Print(root);
	if (!text)
		return 1;
	fprintf(out, "%s\n", text);
	cJSON_free(text);
	return usable ? 0 : 1;
}

/* can a uprobe pair attach here? time our own calibration function */
static bool probe_uprobe(struct metrics *m, const struct hist_bounds *b, char *why, size_t len)
{
	struct funclat_opts o = { .metrics = m, .bounds = b, .service = "check" };
	struct funclat *fl = funclat__new(&o, why, len);
	char exe[PATH_MAX];
	uint64_t off;
	int e = -1;

	if (!fl)
		return false;
	if (calibration_target(exe, sizeof(exe), &off))
		snprintf(why, len, "cannot find obsprobe's own calibration function in /proc/self/exe");
	else if ((e = funclat__attach_calibration(fl, getpid(), exe, off)))
		snprintf(why, len, "uprobe attach: %s", strerror(-e));
	funclat__free(fl);
	return e == 0;
}

int check_cmd(FILE *out, bool json)
{
	cJSON *jroot = json ? cJSON_CreateObject() : NULL;
	char why[512], shim[PATH_MAX], exe[PATH_MAX - 64];
	struct hist_bounds b;
	struct metrics *m;
	struct metrics_opts mo;
	bool root = geteuid() == 0, btf = !access("/sys/kernel/btf/vmlinux", R_OK);
	bool tp = false, up = false, fentry = false, kprobe = false, tls = false, tracefs, shim_ok;
	const char *rt = getenv("OBSPROBE_RUNTIME_DIR") ? getenv("OBSPROBE_RUNTIME_DIR") : "/dev/shm";
	ssize_t n;

	hist_bounds__parse(&b, OBS_DEFAULT_BUCKETS, why, sizeof(why));
	mo = (struct metrics_opts){ .bounds_ns = b.ns, .nbounds = b.n };
	m = metrics__new(&mo);
	if (!m || (json && !jroot)) {
		metrics__free(m);
		cJSON_Delete(jroot);
		return 1;
	}
	json_rows = json ? cJSON_AddObjectToObject(jroot, "checks") : NULL;
	if (!json)
		fprintf(out, "obsprobe %s (libbpf %s) on this machine:\n\n", OBSPROBE_VERSION, libbpf_version_str());
	row(out, root, "root", root ? "eBPF capture is possible" : "not root: eBPF needs root; the shim does not");
	row(out, btf, "kernel BTF",
	    btf ? "/sys/kernel/btf/vmlinux" : "missing: the kernel lacks CONFIG_DEBUG_INFO_BTF");
	if (root) {
		tracefs = !ensure_tracefs(why, sizeof(why));
		row(out, tracefs, "tracefs", tracefs ? "mounted at /sys/kernel/tracing" : why);
	} else {
		tracefs = tracefs_mounted();
		row(out, tracefs, "tracefs",
		    tracefs ? "mounted" : "not mounted (root mounts it: mount -t tracefs nodev /sys/kernel/tracing)");
	}
	if (root && btf) {
		struct systrace_opts so = { .metrics = m,
					    .bounds = &b,
					    .service = "check",
					    .syscalls = true,
					    .net = true,
					    .payload = true,
					    .tls = true };
		struct systrace *st = systrace__new(&so, why, sizeof(why));
		char tlswhy[768];

		tp = st != NULL;
		if (st)
			tls = systrace__tls_check(st, getpid(), tlswhy, sizeof(tlswhy));
		systrace__free(st);
		row(out, tp, "syscall + sched BTF tracepoints",
		    tp ? "tp_btf sys_enter/sys_exit, process fork/exec/exit; ring buffer; task storage" : why);
		row(out, tls, "TLS plaintext: OpenSSL 3, GnuTLS",
		    tp ? tlswhy : "not tried: the syscall programs did not load");
		up = probe_uprobe(m, &b, why, sizeof(why));
		row(out, up, "uprobes (--func)", up ? "uprobe/uretprobe attach works" : why);
		fentry = kfunc_probe_fentry(why, sizeof(why));
		row(out, fentry, "fentry/fexit (--kfunc)", fentry ? "works" : why);
		kprobe = kfunc_probe_kprobe(why, sizeof(why));
		row(out, kprobe, "kprobes (--kfunc fallback)", kprobe ? "works" : why);
	} else {
		row(out, false, "eBPF programs", "not tried: needs root and BTF");
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	shim_ok = false;
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(shim, sizeof(shim), "%s/libobsshim.so", exe);
		if (access(shim, R_OK))
			snprintf(shim, sizeof(shim), "%s/../lib/obsprobe/libobsshim.so", exe);
		shim_ok = !access(shim, R_OK);
	}
	row(out, shim_ok, "shim (libobsshim.so)", shim_ok ? shim : "not found next to obsprobe (build it: make)");
	{
		bool w = !access(rt, W_OK);

		snprintf(why, sizeof(why), "%s %s", rt,
			 w ? "is writable" : "is not writable (set OBSPROBE_RUNTIME_DIR)");
		row(out, w, "shim runtime dir", why);
	}
	{
		char mnt[PATH_MAX];
		bool cg = !cgroup2_mount(mnt, sizeof(mnt));

		row(out, cg, "cgroup v2 (container identity)",
		    cg ? mnt : "no cgroup2 mount in /proc/self/mountinfo (container.id still comes from v1 lines)");
	}
	if (json) {
		int rc = check_json(out, jroot, rt, tp || shim_ok);

		json_rows = NULL;
		cJSON_Delete(jroot);
		metrics__free(m);
		return rc;
	}

	fprintf(out, "\ncapabilities (what each is for, or what its absence disables):\n");
	privs__report(out);

	fprintf(out, "\ncapture paths:\n");
	fprintf(out, "  eBPF (attach, run):  %s\n",
		tp     ? (up ? "usable: syscalls, functions, children" : "usable: syscalls, children; no --func")
		: root ? "unusable here (see above)"
		       : "needs root");
	fprintf(out, "  --kfunc:             %s\n",
		fentry	      ? "fentry/fexit"
		: kprobe      ? "kprobe/kretprobe (fentry unavailable)"
		: root && btf ? "unavailable: fentry is refused and kprobes are not built into this kernel"
			      : "not checked");
	fprintf(out, "  shim (run --preload, serve): %s\n", shim_ok ? "usable without root" : "library missing");
	fprintf(out, "  TLS plaintext (eBPF): %s\n",
		tls ? "OpenSSL 3 (libssl.so.3) and GnuTLS (libgnutls.so.30) of the traced processes, per-process\n"
		      "                        uprobes; not covered: NSS, BoringSSL, rustls, Go crypto/tls, a library linked\n"
		      "                        statically (their bytes stay ciphertext, ignored; --no-tls: no uprobes)"
		    : "unavailable here: HTTPS is ciphertext to the eBPF path (ignored, never parsed)");
	metrics__free(m);
	return (tp || shim_ok) ? 0 : 1;
}
