/* app.c -- a tracing session: picks the capture path, starts its sources on the targets, serves, tears down */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "app/app_impl.h"
#include "app/discsess.h"
#include "app/outputs.h"
#include "app/overhead.h"
#include "app/run.h"
#include "app/startline.h"
#include "app/targets.h"
#include "base/log.h"
#include "base/privs.h"
#include "export/server.h"
#include "proto/demux.h"
#include "signal/logs.h"
#include "signal/metrics.h"
#include "signal/summary.h"
#include "source/bpfutil.h"
#include "source/calibrate.h"
#include "source/procs.h"
#include "source/seg_trust.h"
#include "source/source.h"
#include "source/syscalls.h"
#include "source/table.h"

struct app *app__new(const struct app_opts *opts)
{
	struct app *a = calloc(1, sizeof(*a));
	struct metrics_opts mo;

	if (!a) {
		elog("out of memory");
		return NULL;
	}
	a->opts = *opts;
	pthread_mutex_init(&a->lock, NULL);
	mo = (struct metrics_opts){ .bounds_ns = opts->bounds->ns,
				    .nbounds = opts->bounds->n,
				    .max_series = opts->max_series,
				    .container_labels = opts->container_labels,
				    .max_containers = opts->max_containers };
	a->m = metrics__new(&mo);
	if (!a->m) {
		elog("out of memory");
		free(a);
		return NULL;
	}
	a->targets.m = a->m;
	a->mode = (geteuid() == 0 && !opts->preload && opts->cmd != APP_SERVE) ? MODE_EBPF : MODE_PRELOAD;
	if (opts->service)
		snprintf(a->service, sizeof(a->service), "%s", opts->service);
	if (disc_session__init(&a->ds, opts, a->mode == MODE_EBPF, &a->targets, &a->sources, a->service,
			       sizeof(a->service)))
		goto fail;
	return a;
fail:
	app__finish(a, 0);
	return NULL;
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
		if (a->opts.preload)
			elog("attach: pid %d does not run with the shim (libobsshim.so is not mapped in it, or its maps are not readable): start it with obsprobe run --preload -- CMD, or LD_PRELOAD=libobsshim.so",
			     pid);
		else
			elog("attach: tracing pid %d needs root for eBPF (sudo obsprobe attach --pid %d); without root, start the program with the shim: obsprobe run --preload -- CMD",
			     pid, pid);
		return 1;
	}
	proc_comm(pid, comm, sizeof(comm));
	targets__add(&a->targets, pid, comm, true);
	if (!a->service[0])
		snprintf(a->service, sizeof(a->service), "%s", comm);
	return 0;
}

int app__prepare_run(struct app *a, const char *cmd)
{
	const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;

	if (run__which(cmd, a->run_exe, sizeof(a->run_exe))) {
		elog("run: '%s' is not an executable file or a command in $PATH", cmd);
		return 1;
	}
	if (!a->service[0])
		snprintf(a->service, sizeof(a->service), "%s", base);
	if (a->mode == MODE_EBPF)
		return 0;
	return run__shim_env(a->run_exe, a->service, &a->opts);
}

int app__add_run_child(struct app *a, pid_t pid, const char *cmd)
{
	const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	struct target *t = targets__add(&a->targets, pid, base, true);

	if (t)
		t->exec_pending = true;
	return 0;
}

/* ---- process lifecycle from the eBPF ring buffer (called under a->lock) ---- */

static void on_proc(void *ctx, enum proc_change what, pid_t pid, pid_t ppid, const char *comm)
{
	struct app *a = ctx;
	struct target *t = targets__find(&a->targets, pid);

	switch (what) {
	case PROC_CHANGE_FORK:
		if (!targets__find(&a->targets, ppid))
			return; /* the calibration helper, not a target */
		targets__add(&a->targets, pid, comm, false);
		vlog("following pid %d, child of %d", pid, ppid);
		break;
	case PROC_CHANGE_EXEC:
		if (!t)
			return;
		targets__exec(&a->targets, t, comm);
		disc_session__rematch(&a->ds, t); /* a new image: is it still its binary that matched */
		if (t->exec_pending) {
			t->exec_pending = false;
			return;
		}
		break;
	case PROC_CHANGE_EXIT:
		if (!t)
			return;
		t->alive = false;
		vlog("pid %d (%s) exited", pid, t->comm);
		if (a->cap)
			demux__forget_pid(a->cap, pid); /* its threads serve nothing any more */
		break;
	}
	source_set__on_process(&a->sources, what, pid);
}

/* discovery: an untraced process exec'd, listened, or changed cgroup (called under a->lock) */
static void on_candidate(void *ctx, uint32_t why, pid_t pid, uint32_t port)
{
	struct app *a = ctx;

	disc_session__candidate(&a->ds, why, pid, port);
}

/* ---- eBPF payloads and calls -> demux -> exchanges and log lines (called under a->lock) ---- */

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
	struct target *t = targets__find(&a->targets, pid);

	span__copy_str(out->service_name, sizeof(out->service_name), a->service);
	span__copy_str(out->executable_name, sizeof(out->executable_name), t ? t->comm : "");
	out->pid = pid;
	if (t) {
		out->ctr = t->ctr;
		out->mctr = t->mctr;
	}
}

/* payload demultiplexing, when spans or logs want it; 0 or 1 after printing why */
static int start_demux(struct app *a)
{
	struct demux_opts ho = { .traces = a->out.tr,
				 .logs = a->out.logs,
				 .metrics = a->m,
				 .resource = resource,
				 .capture = capture,
				 .ctx = a };

	if (!a->out.tr && !logs__enabled(a->out.logs))
		return 0;
	a->cap = demux__new(&ho);
	if (!a->cap) {
		elog("out of memory");
		return 1;
	}
	return 0;
}

/* ---- polling ---- */

static void poll_locked(struct app *a)
{
	source_set__poll(&a->sources);
	if (a->cap)
		demux__flush(a->cap, false); /* and the log lines */
	else
		logs__tick(a->out.logs, false);
	outputs__poll(&a->out, a->m);
	overhead__tick(a->ovh, &a->sources, &a->targets);
	targets__sweep(&a->targets);
}

void app__nap(struct app *a, int ms)
{
	struct pollfd p[8];
	int fds[8], n;

	pthread_mutex_lock(&a->lock);
	n = source_set__wait_fds(&a->sources, fds, 8);
	pthread_mutex_unlock(&a->lock);
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	if (poll(p, n, ms) < 0 && errno != EINTR)
		usleep(ms * 1000);
}

void app__drain(struct app *a)
{
	pthread_mutex_lock(&a->lock);
	source_set__drain(&a->sources);
	if (a->cap)
		demux__drain(a->cap); /* under heavy traffic, what is past the window: memory stays bounded */
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
	/* shim: attached processes that have not recorded anything yet have no segment */
	if (a->mode == MODE_PRELOAD)
		return source_set__ntargets(&a->sources) + targets__nwaiting(&a->targets, &a->sources);
	return targets__nalive(&a->targets);
}

const char *app__url(struct app *a)
{
	return a->srv ? server__url(a->srv) : "";
}

struct metrics *app__metrics(struct app *a)
{
	return a->m;
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

/* what every source may take from the session */
static struct source_opts source_opts(struct app *a, const pid_t *pids, int npids)
{
	const struct app_opts *opt = &a->opts;

	return (struct source_opts){
		.metrics = a->m,
		.bounds = opt->bounds,
		.service = a->service,
		.syscalls = !opt->no_syscalls,
		.net = !opt->no_net,
		.payload = a->out.tr && !opt->no_net,
		.tls = !opt->no_tls,
		.log_writes = logs__enabled(a->out.logs),
		.follow_children = opt->follow_children,
		.funcs = opt->funcs,
		.nfuncs = opt->nfuncs,
		.kfuncs = opt->kfuncs,
		.nkfuncs = opt->nkfuncs,
		.run_exe = a->run_exe,
		.payload_ring_mb = opt->payload_ring_mb,
		.on_proc = on_proc,
		.discover = disc_session__events(&a->ds),
		.on_candidate = on_candidate,
		.on_data = on_data,
		.on_call = a->cap && opt->nfuncs ? on_call : NULL,
		.runtime_dir = opt->runtime_dir,
		.service_override = opt->service,
		.pids = pids,
		.npids = npids,
		.traces = a->out.tr,
		.logs = a->out.logs,
		.max_services = opt->max_services,
		.max_segments_per_uid = opt->max_segments_per_uid,
		.max_rejected = opt->max_rejected_segments,
		.ctx = a,
	};
}

/* each source's probe cost per hit, measured by the calibration helper */
static void report_calibration(struct app *a, const double per_hit[SOURCE_MAX])
{
	char line[256] = "calibrated cost per hit:";
	int n = 0;

	for (int i = 0; i < a->sources.n; i++) {
		const char *probe = a->sources.ops[i]->probe;
		size_t at = strlen(line);

		if (!probe)
			continue;
		if (per_hit[i] >= 0)
			series__set(metrics__series(a->m, FAM_PROBE_OVERHEAD, (const char *[]){ probe }), per_hit[i]);
		snprintf(line + at, sizeof(line) - at, "%s %s %.0f ns", n++ ? "," : "", probe, per_hit[i] * 1e9);
	}
	vlog("%s", line);
}

static int start_ebpf(struct app *a)
{
	const struct app_opts *opt = &a->opts;
	struct calibration *cal;
	struct source_opts o;
	double per_hit[SOURCE_MAX];
	char err[512];

	if (check_ebpf_prereqs() || start_demux(a))
		return 1;
	/* the kernel's run-time statistics (--probe-stats, --max-overhead): before the privilege drop */
	a->ovh = overhead__new(a->m, opt->max_overhead, opt->probe_stats);
	if (!a->ovh)
		return 1;
	cal = calibration__start();
	o = source_opts(a, NULL, 0);
	if (source_set__start(&a->sources, source_table, SOURCE_EBPF, &o, err, sizeof(err))) {
		elog("%s", err);
		goto fail;
	}
	a->sys = source_set__find(&a->sources, &syscalls_source);
	disc_session__start(&a->ds); /* after the exec tracepoint: none is missed in between */
	/* the targets and, when following, the children they already have (nginx workers) */
	for (int i = 0, n = a->targets.n; i < n; i++) {
		pid_t pid = a->targets.t[i].pid;

		if (source_set__add_target(&a->sources, pid, a->targets.t[i].initial, err, sizeof(err)) &&
		    a->targets.t[i].initial) {
			elog("%s", err);
			goto fail;
		}
		if (opt->follow_children && !a->run_exe[0]) {
			pid_t kids[1024];
			int nk = proc_descendants(pid, kids, 1024);

			for (int k = 0; k < nk; k++) {
				char comm[64] = "";

				if (targets__find(&a->targets, kids[k]))
					continue; /* matched by a selector itself */
				proc_comm(kids[k], comm, sizeof(comm));
				targets__add(&a->targets, kids[k], comm, false);
				source_set__add_target(&a->sources, kids[k], false, err, sizeof(err));
			}
		}
	}
	calibration__finish(cal, &a->sources, per_hit);
	/* counts so far are calibration traffic: start from here */
	source_set__baseline(&a->sources);
	report_calibration(a, per_hit);
	overhead__calibrated(a->ovh, &a->sources, per_hit);
	return 0;
fail:
	calibration__finish(cal, NULL, per_hit);
	return 1;
}

static int start_preload(struct app *a)
{
	pid_t pids[TARGETS_MAX];
	struct source_opts o;
	char err[512];

	for (int i = 0; i < a->targets.n; i++)
		pids[i] = a->targets.t[i].pid;
	o = source_opts(a, pids, a->opts.cmd == APP_SERVE ? 0 : a->targets.n);
	if (source_set__start(&a->sources, source_table, SOURCE_PRELOAD, &o, err, sizeof(err))) {
		elog("%s", err);
		return 1;
	}
	return 0;
}

/* everything is attached, bound and open: keep only what later work needs */
static int drop_privileges(struct app *a)
{
	struct privs_need need = { .signal_child = a->opts.cmd == APP_RUN && a->opts.run_user };
	char err[256];

	source_set__needs(&a->sources, &need);
	if (privs__drop(&need, err, sizeof(err))) {
		elog("%s", err);
		return 1;
	}
	return 0;
}

int app__start(struct app *a)
{
	struct server_opts so = app_http__server_opts(a);
	const char *source = a->mode == MODE_EBPF ? "ebpf" : "preload";
	char err[512], who[256];
	int rc;

	if (!a->service[0])
		snprintf(a->service, sizeof(a->service), "%s", a->opts.cmd == APP_SERVE ? "unknown" : "obsprobe");
	/* bind first: a busy port should fail before anything is attached */
	a->srv = server__new(&so, err, sizeof(err));
	if (!a->srv) {
		elog("%s", err);
		return 1;
	}
	series__set(metrics__series(a->m, FAM_BUILD_INFO, (const char *[]){ OBSPROBE_VERSION, libbpf_version_str() }),
		    1);
	series__add(metrics__series(a->m, FAM_EVENTS_LOST, (const char *[]){ source, "ringbuf_full" }), 0);
	series__add(metrics__series(a->m, FAM_EVENTS, (const char *[]){ source }), 0);
	pthread_mutex_lock(&a->lock);
	rc = outputs__start(&a->out, &a->opts, a->m, source);
	if (!rc && a->opts.max_overhead > 0 && a->mode != MODE_EBPF) {
		elog("--max-overhead sheds eBPF probes: it needs eBPF capture (root, without --preload)");
		rc = 1;
	}
	if (!rc)
		rc = a->mode == MODE_EBPF && a->opts.cmd != APP_SERVE ? start_ebpf(a) : start_preload(a);
	a->started = rc == 0;
	pthread_mutex_unlock(&a->lock);
	if (rc)
		return rc;
	if (drop_privileges(a))
		return 1;
	startline__print(&a->opts, &a->targets, &a->sources,
			 (struct startline_what){ .ebpf = a->mode == MODE_EBPF,
						  .http = a->out.tr != NULL,
						  .logs = logs__enabled(a->out.logs),
						  .who = disc_session__who(&a->ds, who, sizeof(who)) ? who : NULL },
			 server__url(a->srv));
	overhead__say(a->ovh);
	return 0;
}

/* ---- teardown ---- */

void app__finish(struct app *a, int summary)
{
	if (!a)
		return;
	if (a->started) {
		struct source_totals st;
		struct summary_totals t = { 0 };
		char shed[768];

		app__poll(a);
		if (a->cap)
			demux__flush(a->cap, true);
		logs__tick(a->out.logs, true);
		exporter__shutdown(a->out.exp); /* sends what is queued, up to its deadline */
		app__poll(a);
		outputs__report_drops(&a->out);
		if (a->opts.at_finish)
			a->opts.at_finish(a->opts.at_finish_ctx);
		source_set__report(&a->sources);
		source_set__totals(&a->sources, &st);
		t.events = st.events;
		t.lost = st.lost;
		t.shed = overhead__shed_list(a->ovh, shed, sizeof(shed));
		if (summary && !a->opts.quiet && a->opts.cmd != APP_SERVE)
			summary__print(stderr, a->m, 10, &t);
		else
			summary__warn(&t);
	}
	server__free(a->srv);
	demux__free(a->cap);
	outputs__free(&a->out);
	source_set__free(&a->sources);
	disc_session__free(&a->ds);
	overhead__free(a->ovh); /* after the programs: the statistics stop with it */
	metrics__free(a->m);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
