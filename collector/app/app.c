/* app.c -- a tracing session: picks the capture path, attaches to targets, follows their children, serves */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/app.h"
#include "source/bpfutil.h"
#include "source/calibrate.h"
#include "export/exporter.h"
#include "source/funclat.h"
#include "proto/demux.h"
#include "source/kfunc.h"
#include "base/log.h"
#include "signal/logs.h"
#include "signal/metrics.h"
#include "base/privs.h"
#include "source/procs.h"
#include "signal/redact.h"
#include "export/server.h"
#include "source/seg_trust.h"
#include "source/shm_source.h"
#include "signal/summary.h"
#include "source/symbols.h"
#include "source/syscalls.h"
#include "signal/traces.h"

#define APP_MAX_TARGETS 4096

enum mode { MODE_EBPF, MODE_PRELOAD };

struct target {
	pid_t pid;
	char comm[17];
	bool alive;
	bool initial;
	bool exec_pending;	/* run: the exec into CMD, already attached for */
	int dead_polls;		/* polls since a followed child exited: its slot goes after 2 (late payloads) */
};

struct app {
	struct env *env;
	enum mode mode;
	pthread_mutex_t lock;	/* sources are polled by the main loop and by /metrics */
	struct metrics *m;
	struct server *srv;
	struct systrace *sys;
	struct funclat *fl;
	struct kfunc *kf;
	struct shm_source *shm;
	struct redactor *red;	/* everything that leaves goes through it */
	struct exporter *exp;	/* --otlp-endpoint */
	struct traces *tr;	/* HTTP exchanges -> metrics, spans */
	struct logs *logs;	/* log records -> --log-file, OTLP */
	struct demux *cap;	/* eBPF payloads -> exchanges, log lines */
	struct target targets[APP_MAX_TARGETS];
	int ntargets;
	char service[128];
	char run_exe[PATH_MAX];	/* run: CMD resolved through $PATH */
	bool started;
};

struct app *app__new(struct env *env)
{
	struct app *a = calloc(1, sizeof(*a));
	struct metrics_opts mo;

	if (!a) {
		elog("out of memory");
		return NULL;
	}
	a->env = env;
	pthread_mutex_init(&a->lock, NULL);
	mo = (struct metrics_opts){ .bounds_ns = env->bounds.ns, .nbounds = env->bounds.n,
				    .max_series = env->max_series };
	a->m = metrics__new(&mo);
	if (!a->m) {
		elog("out of memory");
		free(a);
		return NULL;
	}
	a->mode = (geteuid() == 0 && !env->preload && env->cmd != CMD_SERVE) ? MODE_EBPF : MODE_PRELOAD;
	if (env->service)
		snprintf(a->service, sizeof(a->service), "%s", env->service);
	return a;
}

static struct target *find_target(struct app *a, pid_t pid)
{
	for (int i = 0; i < a->ntargets; i++)
		if (a->targets[i].pid == pid)
			return &a->targets[i];
	return NULL;
}

static struct target *add_target(struct app *a, pid_t pid, const char *comm, bool initial)
{
	struct target *t = find_target(a, pid);

	if (!t) {
		if (a->ntargets == APP_MAX_TARGETS) {
			/* reuse the slot of an exited process */
			for (int i = 0; i < a->ntargets && !t; i++)
				if (!a->targets[i].alive && !a->targets[i].initial)
					t = &a->targets[i];
			if (!t)
				return NULL;
		} else {
			t = &a->targets[a->ntargets++];
		}
	}
	t->pid = pid;
	t->alive = true;
	t->dead_polls = 0;
	t->initial |= initial;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	return t;
}

int app__add_initial(struct app *a, pid_t pid)
{
	char comm[64] = "";

	if (!proc_exists(pid)) {
		elog("attach: no process with pid %d (check it: ps -p %d)", pid, pid);
		return 1;
	}
	if (proc_is_kernel_thread(pid)) {
		proc_comm(pid, comm, sizeof(comm));
		elog("attach: pid %d (%s) is a kernel thread: only user-space processes can be traced", pid, comm);
		return 1;
	}
	/* from the process's own maps, never from a segment file: anyone can write one claiming any pid */
	if (a->mode == MODE_PRELOAD && !seg_trust__runs_shim(pid)) {
		if (a->env->preload)
			elog("attach: pid %d does not run with the shim (libobsshim.so is not mapped in it, or its maps are not readable): start it with obsprobe run --preload -- CMD, or LD_PRELOAD=libobsshim.so",
			     pid);
		else
			elog("attach: tracing pid %d needs root for eBPF (sudo obsprobe attach --pid %d); without root, start the program with the shim: obsprobe run --preload -- CMD",
			     pid, pid);
		return 1;
	}
	proc_comm(pid, comm, sizeof(comm));
	add_target(a, pid, comm, true);
	if (!a->service[0])
		snprintf(a->service, sizeof(a->service), "%s", comm);
	return 0;
}

/* the shim next to the binary (build/), or under PREFIX/lib/obsprobe when installed */
static int find_shim(char *out, size_t len)
{
	char exe[PATH_MAX - 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *cands[] = { "%s/libobsshim.so", "%s/../lib/obsprobe/libobsshim.so" };

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		snprintf(out, len, cands[i], exe);
		if (!access(out, R_OK))
			return 0;
	}
	return -1;
}

/* CMD as execvp would find it */
static int which(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX / 2];

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK);
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t l = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)l, p);
		snprintf(out, len, "%s/%s", dir[0] ? dir : ".", cmd);
		if (!access(out, X_OK))
			return 0;
		p += l + (p[l] == ':');
	}
	return -1;
}

int app__prepare_run(struct app *a, const char *cmd)
{
	char shim[PATH_MAX], err[256], buckets[1024] = "";
	const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	struct elf_syms *syms;

	if (which(cmd, a->run_exe, sizeof(a->run_exe))) {
		elog("run: '%s' is not an executable file or a command in $PATH", cmd);
		return 1;
	}
	if (!a->service[0])
		snprintf(a->service, sizeof(a->service), "%s", base);
	if (a->mode == MODE_EBPF)
		return 0;

	if (find_shim(shim, sizeof(shim))) {
		elog("run: libobsshim.so not found next to obsprobe (build it: make)");
		return 1;
	}
	syms = elf_syms__open(a->run_exe, err, sizeof(err));
	if (syms && elf_syms__is_static(syms)) {
		elog("run: --preload cannot work on '%s': it is statically linked, so LD_PRELOAD is ignored (trace it with eBPF as root instead)",
		     a->run_exe);
		elf_syms__free(syms);
		return 1;
	}
	elf_syms__free(syms);
	{
		const char *old = getenv("LD_PRELOAD");
		char *v = NULL;

		if (asprintf(&v, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "") < 0)
			return 1;
		setenv("LD_PRELOAD", v, 1);
		free(v);
	}
	setenv("OBSPROBE_SERVICE", a->service, 1);
	{
		char ratio[32];

		snprintf(ratio, sizeof(ratio), "%.17g", a->env->sample_ratio);
		setenv("OBSPROBE_SAMPLE_RATIO", ratio, 1);
	}
	setenv("OBSPROBE_RUNTIME_DIR", a->env->runtime_dir, 1);
	for (int i = 0; i < a->env->bounds.n; i++) {
		char one[32];

		fmt_seconds(one, sizeof(one), a->env->bounds.ns[i]);
		strncat(buckets, i ? "," : "", sizeof(buckets) - strlen(buckets) - 1);
		strncat(buckets, one, sizeof(buckets) - strlen(buckets) - 1);
	}
	setenv("OBSPROBE_BUCKETS", buckets, 1);
	if (a->env->sample_ratio < 1.0) {
		char r[32];

		snprintf(r, sizeof(r), "%g", a->env->sample_ratio);
		setenv("OBSPROBE_SAMPLE_RATIO", r, 1);
	}
	return 0;
}

int app__add_run_child(struct app *a, pid_t pid, const char *cmd)
{
	const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;

	struct target *t = add_target(a, pid, base, true);

	if (t)
		t->exec_pending = true;
	return 0;
}

/* ---- process lifecycle from the eBPF ring buffer (called under a->lock) ---- */

static void on_proc(void *ctx, enum proc_change what, pid_t pid, pid_t ppid, const char *comm)
{
	struct app *a = ctx;
	struct target *t = find_target(a, pid);
	char err[512];

	switch (what) {
	case PROC_CHANGE_FORK:
		if (!find_target(a, ppid))
			return; /* the calibration helper, not a target */
		add_target(a, pid, comm, false);
		vlog("following pid %d, child of %d", pid, ppid);
		if (a->fl)
			funclat__attach_pid(a->fl, pid, false, err, sizeof(err));
		break;
	case PROC_CHANGE_EXEC:
		if (!t)
			return;
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
		if (t->exec_pending) {
			t->exec_pending = false;
			return;
		}
		if (a->fl) {
			/* a new image: its functions live at new addresses */
			funclat__detach_pid(a->fl, pid);
			funclat__attach_pid(a->fl, pid, false, err, sizeof(err));
		}
		break;
	case PROC_CHANGE_EXIT:
		if (!t)
			return;
		t->alive = false;
		vlog("pid %d (%s) exited", pid, t->comm);
		if (a->fl)
			funclat__detach_pid(a->fl, pid);
		if (a->cap)
			demux__forget_pid(a->cap, pid); /* its threads serve nothing any more */

		break;
	}
}

/* ---- payloads, calls and resources for the eBPF path (called under a->lock) ---- */

static void on_data(void *ctx, const void *rec, size_t size)
{
	struct app *a = ctx;

	if (a->cap)
		demux__event(a->cap, rec, size);
}

static void on_call(void *ctx, const struct fl_call_event *e, const char *function, const char *object)
{
	struct app *a = ctx;

	if (a->cap)
		demux__call(a->cap, e, function, object);
}

static void capture(void *ctx, uint64_t sk, uint32_t caplen)
{
	struct app *a = ctx;

	if (a->sys)
		systrace__capture(a->sys, sk, caplen);
}

static void resource(void *ctx, int pid, struct span_resource *out)
{
	struct app *a = ctx;
	struct target *t = find_target(a, pid);

	span__copy_str(out->service_name, sizeof(out->service_name), a->service);
	span__copy_str(out->executable_name, sizeof(out->executable_name), t ? t->comm : "");
	out->pid = pid;
}

/* the redactor, the OTLP exporter, span and log outputs: shared by both capture paths */
static int start_outputs(struct app *a)
{
	struct env *env = a->env;
	const char *patterns[ENV_MAX_PATTERNS + 1] = { 0 };
	char err[512];

	for (int i = 0; i < env->nredact_patterns; i++)
		patterns[i] = env->redact_patterns[i];
	a->red = redactor__new(patterns, err, sizeof(err));
	if (!a->red) {
		elog("config: redact_patterns: %s", err);
		return 2;
	}
	if (env->otlp_endpoint && (!env->no_http || !env->no_logs)) {
		struct exporter_opts eo = { .endpoint = env->otlp_endpoint,
					    .protocol = env->otlp_json ? OTLP_HTTP_JSON : OTLP_HTTP_PROTOBUF,
					    .headers = (const char *const *)env->otlp_headers,
					    .nheaders = env->notlp_headers,
					    .timeout_ms = env->otlp_timeout_ms };

		a->exp = exporter__new(&eo);
		if (!a->exp)
			return 1; /* it said why */
	}
	if (!env->no_http) {
		struct traces_opts to = { .metrics = a->m, .exporter = a->exp, .redactor = a->red,
					  .spans_file = env->spans_file, .sample_ratio = env->sample_ratio,
					  .max_spans_per_second = env->max_spans_per_second,
					  .source = a->mode == MODE_EBPF ? "ebpf" : "preload" };

		a->tr = traces__new(&to, err, sizeof(err));
		if (!a->tr) {
			elog("%s", err);
			return 1;
		}
	}
	if (!env->no_logs) {
		struct logs_opts lo = { .metrics = a->m, .exporter = a->exp, .redactor = a->red,
					.log_file = env->log_file };

		a->logs = logs__new(&lo, err, sizeof(err));
		if (!a->logs) {
			elog("%s", err);
			return 1;
		}
	}
	return 0;
}

/* ---- HTTP callbacks (server thread) ---- */

static void targets_json(void *ctx, cJSON *arr)
{
	struct app *a = ctx;

	pthread_mutex_lock(&a->lock);
	if (a->mode == MODE_EBPF) {
		for (int i = 0; i < a->ntargets; i++) {
			struct target *t = &a->targets[i];
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "pid", t->pid);
			cJSON_AddStringToObject(o, "comm", t->comm);
			cJSON_AddStringToObject(o, "mode", "ebpf");
			cJSON_AddBoolToObject(o, "alive", t->alive);
			cJSON_AddNumberToObject(o, "probes",
						(a->fl ? funclat__nprobes(a->fl, t->pid) : 0) +
						(a->env->no_syscalls ? 0 : 2));
			cJSON_AddItemToArray(arr, o);
		}
	}
	if (a->shm)
		shm_source__targets_json(a->shm, arr);
	/* a shim process makes its segment when it first records something: until then it is listed from here */
	for (int i = 0; a->mode == MODE_PRELOAD && i < a->ntargets; i++) {
		struct target *t = &a->targets[i];
		cJSON *o;

		if (!t->initial || (a->shm && shm_source__reads_pid(a->shm, t->pid)) || !proc_exists(t->pid))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "pid", t->pid);
		cJSON_AddStringToObject(o, "comm", t->comm);
		cJSON_AddStringToObject(o, "mode", "preload");
		cJSON_AddStringToObject(o, "probes", "libc I/O wrappers");
		cJSON_AddNumberToObject(o, "events", 0);
		cJSON_AddNumberToObject(o, "drops", 0);
		cJSON_AddItemToArray(arr, o);
	}
	pthread_mutex_unlock(&a->lock);
}

static void ready_checks(void *ctx, cJSON *checks)
{
	struct app *a = ctx;

	pthread_mutex_lock(&a->lock);
	cJSON_AddBoolToObject(checks, "probes_attached", a->started);
	if (a->env->cmd != CMD_SERVE)
		cJSON_AddBoolToObject(checks, "targets_alive", app__nalive(a) > 0);
	pthread_mutex_unlock(&a->lock);
}

/* Forget followed children that exited two polls ago: the table holds what lives (and the --pid targets),
 * not every pid a fork storm ever made.  Two polls, so that payloads they sent before exiting, drained after
 * the exit event, still find their comm. */
static void sweep_targets(struct app *a)
{
	for (int i = 0; i < a->ntargets;) {
		struct target *t = &a->targets[i];

		if (t->alive || t->initial || ++t->dead_polls < 2) {
			i++;
			continue;
		}
		*t = a->targets[--a->ntargets];
	}
}

static void poll_locked(struct app *a)
{
	if (a->sys)
		systrace__poll(a->sys);
	if (a->fl)
		funclat__poll(a->fl);
	if (a->kf)
		kfunc__poll(a->kf);
	if (a->shm)
		shm_source__poll(a->shm);
	if (a->cap)
		demux__flush(a->cap, false); /* and the log lines */
	else
		logs__tick(a->logs, false);
	if (a->tr)
		traces__poll(a->tr);
	if (a->logs)
		logs__poll(a->logs);
	sweep_targets(a);
}

static void refresh(void *ctx)
{
	app__poll(ctx);
}

void app__drain(struct app *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->sys)
		systrace__drain(a->sys);
	if (a->shm)
		shm_source__drain(a->shm);
	pthread_mutex_unlock(&a->lock);
}

void app__poll(struct app *a)
{
	pthread_mutex_lock(&a->lock);
	poll_locked(a);
	pthread_mutex_unlock(&a->lock);
}

int app__nalive(struct app *a)
{
	int n = 0;

	if (a->mode == MODE_PRELOAD) {
		n = a->shm ? shm_source__ntargets(a->shm) : 0;
		/* attached processes that have not recorded anything yet have no segment */
		for (int i = 0; i < a->ntargets; i++)
			n += a->targets[i].initial && !(a->shm && shm_source__reads_pid(a->shm, a->targets[i].pid)) &&
			     proc_exists(a->targets[i].pid);
		return n;
	}
	for (int i = 0; i < a->ntargets; i++)
		n += a->targets[i].alive;
	return n;
}

const char *app__url(struct app *a)
{
	return a->srv ? server__url(a->srv) : "";
}

/* ---- start ---- */

static int check_ebpf_prereqs(void)
{
	char err[256];

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		elog("this kernel has no BTF (/sys/kernel/btf/vmlinux): obsprobe's CO-RE programs need CONFIG_DEBUG_INFO_BTF=y; use the shim instead: obsprobe run --preload -- CMD");
		return 1;
	}
	if (ensure_tracefs(err, sizeof(err))) {
		elog("%s", err);
		return 1;
	}
	return 0;
}

static int start_ebpf(struct app *a)
{
	struct env *env = a->env;
	struct calibration *cal;
	char err[512];
	double sc_s, up_s;

	if (check_ebpf_prereqs())
		return 1;
	if (a->tr || logs__enabled(a->logs)) {
		struct demux_opts ho = { .traces = a->tr, .logs = a->logs, .metrics = a->m, .resource = resource,
					 .capture = capture, .ctx = a };

		a->cap = demux__new(&ho);
		if (!a->cap) {
			elog("out of memory");
			return 1;
		}
	}
	cal = calibration__start();
	{
		struct systrace_opts o = { .metrics = a->m, .bounds = &env->bounds, .service = a->service,
					   .syscalls = !env->no_syscalls, .follow_children = env->follow_children,
					   .net = !env->no_net, .payload = a->tr && !env->no_net,
					   .logs = logs__enabled(a->logs), .on_proc = on_proc, .on_data = on_data,
					   .ctx = a };

		a->sys = systrace__new(&o, err, sizeof(err));
		if (!a->sys) {
			elog("%s", err);
			goto fail;
		}
	}
	{
		struct funclat_opts o = { .metrics = a->m, .bounds = &env->bounds, .service = a->service,
					  .specs = env->funcs, .nspecs = env->nfuncs,
					  .on_call = a->cap && env->nfuncs ? on_call : NULL, .ctx = a };

		a->fl = funclat__new(&o, err, sizeof(err));
		if (!a->fl) {
			elog("%s", err);
			goto fail;
		}
	}
	if (env->nkfuncs) {
		struct kfunc_opts o = { .metrics = a->m, .bounds = &env->bounds, .service = a->service,
					.globs = env->kfuncs, .nglobs = env->nkfuncs,
					.tgid = a->ntargets == 1 ? a->targets[0].pid : 0 };

		a->kf = kfunc__new(&o, err, sizeof(err));
		if (!a->kf) {
			elog("%s", err);
			goto fail;
		}
	}
	/* the targets and, when following, the children they already have (nginx workers) */
	for (int i = 0, n = a->ntargets; i < n; i++) {
		struct target *t = &a->targets[i];

		if (systrace__add_pid(a->sys, t->pid)) {
			elog("attach: cannot trace pid %d: %s", t->pid, strerror(errno));
			goto fail;
		}
		if (env->nfuncs) {
			int rc = a->run_exe[0] ? funclat__attach_path(a->fl, t->pid, a->run_exe, err, sizeof(err))
					       : funclat__attach_pid(a->fl, t->pid, true, err, sizeof(err));

			if (rc < 0) {
				elog("%s", err);
				goto fail;
			}
		}
		if (env->follow_children && !a->run_exe[0]) {
			pid_t kids[1024];
			int nk = proc_descendants(t->pid, kids, 1024);

			for (int k = 0; k < nk; k++) {
				char comm[64] = "";

				proc_comm(kids[k], comm, sizeof(comm));
				add_target(a, kids[k], comm, false);
				systrace__add_pid(a->sys, kids[k]);
				if (env->nfuncs)
					funclat__attach_pid(a->fl, kids[k], false, err, sizeof(err));
			}
		}
	}
	calibration__finish(cal, env->no_syscalls ? NULL : a->sys, a->fl, &sc_s, &up_s);
	/* counts so far are calibration traffic: start from here */
	systrace__baseline(a->sys);
	funclat__baseline(a->fl);
	if (sc_s >= 0 && !env->no_syscalls)
		series__set(metrics__series(a->m, FAM_PROBE_OVERHEAD, (const char *[]){ "syscall" }), sc_s);
	if (up_s >= 0)
		series__set(metrics__series(a->m, FAM_PROBE_OVERHEAD, (const char *[]){ "uprobe" }), up_s);
	vlog("calibrated cost per hit: syscall %.0f ns, uprobe %.0f ns", sc_s * 1e9, up_s * 1e9);
	return 0;
fail:
	calibration__finish(cal, NULL, NULL, &sc_s, &up_s);
	return 1;
}

static int start_preload(struct app *a)
{
	pid_t pids[APP_MAX_TARGETS];
	struct shm_source_opts o = { .runtime_dir = a->env->runtime_dir, .metrics = a->m,
				     .service = a->env->service, .follow_children = a->env->follow_children,
				     .pids = pids, .traces = a->tr, .logs = a->logs,
				     .max_services = a->env->max_services,
				     .max_segments_per_uid = a->env->max_segments_per_uid,
				     .max_rejected = a->env->max_rejected_segments };

	for (int i = 0; i < a->ntargets; i++)
		pids[i] = a->targets[i].pid;
	o.npids = a->env->cmd == CMD_SERVE ? 0 : a->ntargets;
	a->shm = shm_source__new(&o);
	if (!a->shm) {
		elog("cannot read shim segments in %s: %s (set OBSPROBE_RUNTIME_DIR)", a->env->runtime_dir,
		     strerror(errno));
		return 1;
	}
	shm_source__poll(a->shm);
	return 0;
}

static void start_line(struct app *a)
{
	char what[512] = "", who[256];
	int nf = a->fl ? funclat__nfuncs(a->fl) : 0, children = 0, initial = 0;

	for (int i = 0; i < a->ntargets; i++) {
		children += !a->targets[i].initial && a->targets[i].alive;
		initial += a->targets[i].initial;
	}
	if (a->env->cmd == CMD_SERVE)
		snprintf(who, sizeof(who), "every process running with libobsshim.so in %s", a->env->runtime_dir);
	else if (initial == 1)
		snprintf(who, sizeof(who), "%s (pid %d%s%.0d%s)", a->targets[0].comm, a->targets[0].pid,
			 children ? " + " : "", children, children ? (children == 1 ? " child" : " children") : "");
	else
		snprintf(who, sizeof(who), "%d processes%s%.0d%s", initial, children ? " + " : "", children,
			 children ? (children == 1 ? " child" : " children") : "");
	if (nf)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%d function%s, ", nf, nf == 1 ? "" : "s");
	if (a->kf)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%d kernel function%s (%s), ",
			 kfunc__nfuncs(a->kf), kfunc__nfuncs(a->kf) == 1 ? "" : "s", kfunc__mechanism(a->kf));
	if (!a->env->no_syscalls)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "syscalls, ");
	if (!a->env->no_syscalls && !a->env->no_net)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "net, ");
	if (a->tr && (a->mode == MODE_PRELOAD || (!a->env->no_syscalls && !a->env->no_net)))
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "http, ");
	if (logs__enabled(a->logs) && (a->mode == MODE_PRELOAD || !a->env->no_syscalls))
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "logs, ");
	if (what[0])
		what[strlen(what) - 2] = '\0';
	else
		snprintf(what, sizeof(what), "process lifecycle only");
	ilog("tracing %s with %s: %s; metrics at %s/metrics", who, a->mode == MODE_EBPF ? "eBPF" : "the shim", what,
	     server__url(a->srv));
	if (a->env->otlp_endpoint || a->env->spans_file || a->env->log_file)
		vlog("spans/logs to%s%s%s%s%s%s", a->env->otlp_endpoint ? " OTLP " : "",
		     a->env->otlp_endpoint ? a->env->otlp_endpoint : "", a->env->spans_file ? " --spans-file " : "",
		     a->env->spans_file ? a->env->spans_file : "", a->env->log_file ? " --log-file " : "",
		     a->env->log_file ? a->env->log_file : "");
}

/* everything is attached, bound and open: keep only what later work needs */
static int drop_privileges(struct app *a)
{
	struct privs_need need = { .bpf_fds = a->sys != NULL,
				   .uprobes = a->fl && a->env->nfuncs > 0,
				   .segments = a->shm != NULL,
				   .signal_child = a->env->cmd == CMD_RUN && a->env->run_user };
	char err[256];

	if (privs__drop(&need, err, sizeof(err))) {
		elog("%s", err);
		return 1;
	}
	return 0;
}

int app__start(struct app *a)
{
	struct server_opts so = { .host = a->env->listen_host, .port = a->env->listen_port, .metrics = a->m,
				  .web = a->env->web, .auth_file = a->env->metrics_auth, .tls_cert = a->env->tls_cert,
				  .tls_key = a->env->tls_key, .targets = targets_json, .ready = ready_checks,
				  .refresh = refresh, .ctx = a };
	char err[512];
	int rc;

	if (!a->service[0])
		snprintf(a->service, sizeof(a->service), "%s", a->env->cmd == CMD_SERVE ? "unknown" : "obsprobe");
	/* bind first: a busy port should fail before anything is attached */
	a->srv = server__new(&so, err, sizeof(err));
	if (!a->srv) {
		elog("%s", err);
		return 1;
	}
	series__set(metrics__series(a->m, FAM_BUILD_INFO, (const char *[]){ OBSPROBE_VERSION, libbpf_version_str() }),
		    1);
	series__add(metrics__series(a->m, FAM_EVENTS_LOST, (const char *[]){ a->mode == MODE_EBPF ? "ebpf" : "preload", "ringbuf_full" }), 0);
	series__add(metrics__series(a->m, FAM_EVENTS, (const char *[]){ a->mode == MODE_EBPF ? "ebpf" : "preload" }), 0);
	pthread_mutex_lock(&a->lock);
	rc = start_outputs(a);
	if (!rc)
		rc = a->mode == MODE_EBPF && a->env->cmd != CMD_SERVE ? start_ebpf(a) : start_preload(a);
	a->started = rc == 0;
	pthread_mutex_unlock(&a->lock);
	if (rc)
		return rc;
	if (drop_privileges(a))
		return 1;
	start_line(a);
	return 0;
}

/* spans and log records that did not make it out, said once at exit */
static void report_drops(struct app *a)
{
	struct exporter_stats es = { 0 };
	struct traces_stats ts = { 0 };

	if (a->exp)
		exporter__stats(a->exp, &es);
	if (a->tr)
		traces__stats(a->tr, &ts);
	if (es.spans_queue_full + es.spans_export_failed + ts.rate_limited)
		elog("WARNING: spans not exported: %llu queue full, %llu export failed, %llu over --max-spans-per-second (obsprobe_spans_total)",
		     (unsigned long long)es.spans_queue_full, (unsigned long long)es.spans_export_failed,
		     (unsigned long long)ts.rate_limited);
	if (es.logs_queue_full + es.logs_export_failed)
		elog("WARNING: log records not exported: %llu queue full, %llu export failed (obsprobe_log_records_total)",
		     (unsigned long long)es.logs_queue_full, (unsigned long long)es.logs_export_failed);
	if (ts.unredactable)
		elog("WARNING: %llu span attributes dropped: they could not be scanned for secrets",
		     (unsigned long long)ts.unredactable);
	if (a->shm) {
		uint64_t refused, unverified;

		shm_source__rejected(a->shm, &refused, &unverified);
		if (refused || unverified)
			elog("WARNING: shim segments: %llu refused, cut short, folded or expired unread; %llu read as unverified (service \"uid:N\") (obsprobe_segments_rejected_total)",
			     (unsigned long long)refused, (unsigned long long)unverified);
	}
}

void app__finish(struct app *a, int summary)
{
	if (!a)
		return;
	if (a->started) {
		struct summary_totals t = { 0 };
		uint64_t e, l;

		app__poll(a);
		if (a->cap)
			demux__flush(a->cap, true);
		logs__tick(a->logs, true);
		exporter__shutdown(a->exp); /* sends what is queued, up to its deadline */
		app__poll(a);
		report_drops(a);
		if (a->sys) {
			systrace__totals(a->sys, &e, &l);
			t.events += e;
			t.lost += l;
		}
		if (a->fl) {
			funclat__totals(a->fl, &e, &l);
			t.events += e;
			t.lost += l;
		}
		if (a->shm) {
			shm_source__totals(a->shm, &e, &l);
			t.events += e;
			t.lost += l;
		}
		if (summary && !a->env->quiet && a->env->cmd != CMD_SERVE)
			summary__print(stderr, a->m, 10, &t);
		else if (t.lost)
			elog("WARNING: %llu events were lost (obsprobe_events_lost_total)", (unsigned long long)t.lost);
	}
	server__free(a->srv);
	demux__free(a->cap);
	traces__free(a->tr);
	logs__free(a->logs);
	exporter__free(a->exp);
	redactor__free(a->red);
	kfunc__free(a->kf);
	funclat__free(a->fl);
	systrace__free(a->sys);
	shm_source__free(a->shm);
	metrics__free(a->m);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
