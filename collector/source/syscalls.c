/* syscalls.c -- loads syscalls.bpf.c and turns its per-CPU maps into syscall metrics */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "source/bpfutil.h"
#include "base/log.h"
#include "signal/names.h"
#include "abi/syscalls.h"
#include "source/syscalls.h"
#include "source/sysfold.h"
#include "source/tls.h"
#include "syscalls.skel.h"

_Static_assert(sizeof(struct obs_proc_event) == 32, "obs_proc_event layout");
_Static_assert(sizeof(struct obs_data_event) == 96, "obs_data_event layout");
_Static_assert(sizeof(struct obs_conn_event) == 64, "obs_conn_event layout");
_Static_assert(sizeof(struct obs_hist) == 8 * (2 + OBS_HIST_SLOTS), "obs_hist layout");

struct systrace {
	struct syscalls_bpf *skel;
	struct tls *tls; /* OpenSSL uprobes per process (NULL: --no-tls, or no payloads) */
	struct ring_buffer *rb;
	struct systrace_opts opts;
	struct sysfold *fold; /* the per-CPU maps -> metrics */
	uint64_t events, lost;
	bool baseline;			/* the next poll records, but does not report */
	volatile uint8_t *traced_bytes; /* the BPF map traced_bytes, mmapped: a byte per tgid below traced_max */
	size_t traced_len;
};

/* pid_max now (the traced_bytes table covers it; a pid above, after pid_max is raised, falls back to the hash) */
static size_t pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long v = 0;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 && v <= SC_TRACED_WORDS_MAX * 8 ? (size_t)v : SC_TRACED_WORDS_MAX * 8;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct systrace *t = ctx;
	const struct obs_proc_event *e = data;
	char comm[17];

	if (size < sizeof(*e) || !t->opts.on_proc) /* on_candidate comes with on_proc */
		return 0;
	memcpy(comm, e->comm, 16);
	comm[16] = '\0';
	switch (e->type) {
	case OBS_PROC_FORK:
		t->opts.on_proc(t->opts.ctx, PROC_CHANGE_FORK, e->pid, e->ppid, comm);
		break;
	case OBS_PROC_EXEC:
		t->opts.on_proc(t->opts.ctx, PROC_CHANGE_EXEC, e->pid, 0, comm);
		break;
	case OBS_PROC_EXIT:
		t->opts.on_proc(t->opts.ctx, PROC_CHANGE_EXIT, e->pid, 0, comm);
		break;
	case OBS_PROC_SPAWN:
	case OBS_PROC_LISTEN:
	case OBS_PROC_CGROUP:
		if (t->opts.on_candidate)
			t->opts.on_candidate(t->opts.ctx,
					     e->type == OBS_PROC_SPAWN	  ? OBS_DISC_EXEC
					     : e->type == OBS_PROC_LISTEN ? OBS_DISC_LISTEN
									  : OBS_DISC_CGROUP,
					     e->pid, e->ppid);
		break;
	case OBS_PROC_RING_HIGH: /* it woke the session: the payload ring is drained right after this one */
		series__add(metrics__series(t->opts.metrics, FAM_RING_WAKEUPS, (const char *[]){ "payload" }), 1);
		break;
	case OBS_PROC_MAPEXEC: /* a library loaded: a TLS one gets its probes now, before the program uses it */
		if (t->tls)
			tls__attach(t->tls, e->pid, false);
		break;
	}
	return 0;
}

static int on_data_event(void *ctx, void *data, size_t size)
{
	struct systrace *t = ctx;

	t->events++;
	if (t->opts.on_data && !t->baseline)
		t->opts.on_data(t->opts.ctx, data, size);
	return 0;
}

void systrace__capture(struct systrace *t, uint64_t sk, uint32_t capv)
{
	uint32_t old = SC_CAPV(SC_CAP - 1, SC_CAP - 1), sock = SC_CAPV_SOCKET(capv), tls = SC_CAPV_TLS(capv);

	if (sock == SC_CAPV_KEEP || tls == SC_CAPV_KEEP)
		bpf_map__lookup_elem(t->skel->maps.capture, &sk, sizeof(sk), &old, sizeof(old), 0);
	capv = SC_CAPV(sock == SC_CAPV_KEEP ? SC_CAPV_SOCKET(old) : sock, tls == SC_CAPV_KEEP ? SC_CAPV_TLS(old) : tls);
	bpf_map__update_elem(t->skel->maps.capture, &sk, sizeof(sk), &capv, sizeof(capv), BPF_ANY);
	__atomic_fetch_add(&t->skel->bss->cap_gen, 1, __ATOMIC_SEQ_CST); /* after the write: the fd caches reread */
}

static void tls_setup(struct systrace *t, bool on)
{
	struct bpf_program *p[] = { t->skel->progs.ssl_read,	  t->skel->progs.ssl_write,
				    t->skel->progs.ssl_read_ex,	  t->skel->progs.ssl_write_ex,
				    t->skel->progs.ssl_handshake, t->skel->progs.ssl_return,
				    t->skel->progs.ssl_free };

	/* attached per process by tls.c, never by the skeleton (that would be every process on the host) */
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		bpf_program__set_autoattach(p[i], false);
		bpf_program__set_autoload(p[i], on);
	}
}

struct systrace *systrace__new(const struct systrace_opts *opts, char *err, size_t errlen)
{
	struct systrace *t = calloc(1, sizeof(*t));
	struct sysfold_opts fo;
	int e;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->opts = *opts;
	t->skel = syscalls_bpf__open();
	if (!t->skel) {
		snprintf(err, errlen, "cannot open the syscall BPF object: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < opts->bounds->n; i++)
		t->skel->rodata->cfg_bounds_ns[i] = opts->bounds->ns[i];
	t->skel->rodata->cfg_nbounds = opts->bounds->n;
	t->skel->rodata->cfg_follow_children = opts->follow_children;
	t->skel->rodata->cfg_skip_nr = syscall_nr("uretprobe");
	t->skel->rodata->cfg_net = opts->net && opts->syscalls;
	t->skel->rodata->cfg_payload = opts->payload && t->skel->rodata->cfg_net;
	t->skel->rodata->cfg_logs = opts->logs && opts->syscalls;
	t->skel->rodata->cfg_tls = opts->tls && t->skel->rodata->cfg_payload;
	tls_setup(t, t->skel->rodata->cfg_tls);
	if (!t->skel->rodata->cfg_payload && !t->skel->rodata->cfg_logs) {
		bpf_map__set_max_entries(t->skel->maps.data_events, 4096);
	} else {
		bpf_map__set_max_entries(t->skel->maps.data_events,
					 (opts->payload_ring_mb ? opts->payload_ring_mb : SYSTRACE_RING_MB) << 20);
		/* past half full, the ring wakes the session (bpf/sockio.bpf.h: ring_crosses) */
		t->skel->rodata->cfg_ring_wake = bpf_map__max_entries(t->skel->maps.data_events) / 2;
	}
	t->skel->rodata->cfg_discover = opts->discover;
	if (!t->skel->rodata->cfg_net && !(opts->discover & OBS_DISC_LISTEN))
		bpf_program__set_autoload(t->skel->progs.tcp_state, false);
	if (!(opts->discover & OBS_DISC_CGROUP))
		bpf_program__set_autoload(t->skel->progs.proc_cgroup, false);
	if (!opts->syscalls) {
		bpf_program__set_autoload(t->skel->progs.sys_enter, false);
		bpf_program__set_autoload(t->skel->progs.sys_exit, false);
	}
	bpf_map__set_max_entries(t->skel->maps.traced_bytes, (pid_max() + 7) / 8);
	e = syscalls_bpf__load(t->skel);
	if (e) {
		snprintf(err, errlen, "cannot load the syscall BPF programs: %s%s", strerror(-e),
			 e == -EPERM ? " (run as root, or use the shim: obsprobe run --preload)" : "");
		goto fail;
	}
	t->traced_len = (size_t)bpf_map__max_entries(t->skel->maps.traced_bytes) * 8;
	t->traced_bytes = mmap(NULL, t->traced_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       bpf_map__fd(t->skel->maps.traced_bytes), 0);
	if (t->traced_bytes == MAP_FAILED) {
		t->traced_bytes = NULL;
		snprintf(err, errlen, "cannot map the traced-process table: %s", strerror(errno));
		goto fail;
	}
	e = syscalls_bpf__attach(t->skel);
	if (e) {
		snprintf(err, errlen, "cannot attach to the syscall/sched tracepoints: %s", strerror(-e));
		goto fail;
	}
	if (t->skel->rodata->cfg_tls) {
		struct tls_progs tp = { .read = t->skel->progs.ssl_read,
					.write = t->skel->progs.ssl_write,
					.read_ex = t->skel->progs.ssl_read_ex,
					.write_ex = t->skel->progs.ssl_write_ex,
					.handshake = t->skel->progs.ssl_handshake,
					.ret = t->skel->progs.ssl_return,
					.free = t->skel->progs.ssl_free };

		t->tls = tls__new(&tp);
		if (!t->tls) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_event, t, NULL);
	fo = (struct sysfold_opts){ .metrics = opts->metrics,
				    .service = opts->service,
				    .nslots = opts->bounds->n + 1,
				    .hists = opts->syscalls ? bpf_map__fd(t->skel->maps.hists) : -1,
				    .errors = opts->syscalls ? bpf_map__fd(t->skel->maps.errors) : -1,
				    .socks = opts->syscalls && opts->net ? bpf_map__fd(t->skel->maps.socks) : -1,
				    .conn_stats = opts->syscalls && opts->net ? bpf_map__fd(t->skel->maps.conn_stats)
									      : -1,
				    .stats = bpf_map__fd(t->skel->maps.stats) };
	t->fold = sysfold__new(&fo);
	if (!t->rb || ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.data_events), on_data_event, t) < 0 ||
	    !t->fold) {
		snprintf(err, errlen, "cannot set up the event ring buffer: %s", strerror(errno));
		goto fail;
	}
	return t;
fail:
	systrace__free(t);
	return NULL;
}

void systrace__free(struct systrace *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	tls__free(t->tls);
	if (t->traced_bytes)
		munmap((void *)t->traced_bytes, t->traced_len);
	syscalls_bpf__destroy(t->skel);
	sysfold__free(t->fold);
	free(t);
}

int systrace__add_pid(struct systrace *t, pid_t pid)
{
	uint32_t key = pid;
	uint8_t one = 1;

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.traced), &key, &one, BPF_ANY))
		return -errno;
	if ((size_t)pid < t->traced_len)
		t->traced_bytes[pid] = 1; /* after the hash: the BPF side's fast answer never runs ahead of it */
	return 0;
}

int systrace__remove_pid(struct systrace *t, pid_t pid)
{
	uint32_t key = pid;

	if ((size_t)pid < t->traced_len)
		t->traced_bytes[pid] = 0;
	return bpf_map_delete_elem(bpf_map__fd(t->skel->maps.traced), &key) ? -errno : 0;
}

bool systrace__tls_check(struct systrace *t, pid_t pid, char *out, size_t len)
{
	const char *path;
	int e;

	if (!t->tls) {
		snprintf(out, len, "off (needs payload capture; --no-tls)");
		return false;
	}
	e = tls__attach(t->tls, pid, true);
	path = tls__path(t->tls, pid, 0);
	if (e)
		snprintf(out, len, "uprobe attach failed: %s", tls__error(t->tls));
	else if (!path)
		snprintf(out, len, "no libssl.so.3 on this host (a process mapping its own is still covered)");
	else
		snprintf(out, len, "uprobes on SSL_read/_write(_ex), SSL_do_handshake, SSL_free attach (%s)%s%s%s",
			 path, tls__path(t->tls, pid, 1) ? "; GnuTLS's gnutls_record_recv/send too (" : "",
			 tls__path(t->tls, pid, 1) ? tls__path(t->tls, pid, 1) : "",
			 tls__path(t->tls, pid, 1) ? ")" : "");
	tls__detach(t->tls, pid);
	return !e && path;
}

void systrace__drain(struct systrace *t)
{
	ring_buffer__consume(t->rb);
	if (t->tls)
		tls__drain(t->tls);
}

void systrace__poll(struct systrace *t)
{
	ring_buffer__consume(t->rb);
	sysfold__fold(t->fold, !t->baseline, &t->events, &t->lost);
}

void systrace__baseline(struct systrace *t)
{
	uint64_t events = t->events;

	t->baseline = true;
	systrace__poll(t);
	t->baseline = false;
	t->events = events;
}

void systrace__totals(struct systrace *t, uint64_t *events, uint64_t *lost)
{
	*events = t->events;
	*lost = t->lost;
}

int systrace__traced_fd(struct systrace *t)
{
	return bpf_map__fd(t->skel->maps.traced);
}

/* ---- the session's view (source.h) ---- */

static void *source_new(const struct source_opts *o, char *err, size_t errlen)
{
	struct systrace_opts so = { .metrics = o->metrics,
				    .bounds = o->bounds,
				    .service = o->service,
				    .syscalls = o->syscalls,
				    .follow_children = o->follow_children,
				    .net = o->net,
				    .payload = o->payload,
				    .logs = o->log_writes,
				    .tls = o->tls,
				    .payload_ring_mb = o->payload_ring_mb,
				    .on_proc = o->on_proc,
				    .discover = o->discover,
				    .on_candidate = o->on_candidate,
				    .on_data = o->on_data,
				    .ctx = o->ctx };

	return systrace__new(&so, err, errlen);
}

static void source_free(void *s)
{
	systrace__free(s);
}

static void source_drain(void *s)
{
	systrace__drain(s);
}

static void source_poll(void *s)
{
	systrace__poll(s);
}

static void source_baseline(void *s)
{
	systrace__baseline(s);
}

static int source_add_target(void *s, pid_t pid, bool initial, char *err, size_t errlen)
{
	struct systrace *t = s;
	int e = systrace__add_pid(t, pid);

	(void)initial;
	if (e)
		snprintf(err, errlen, "attach: cannot trace pid %d: %s", pid, strerror(-e));
	else if (t->tls)
		tls__attach(t->tls, pid, false); /* a failure is counted and said at exit: syscalls still work */
	return e ? -1 : 0;
}

static void source_on_process(void *s, enum proc_change what, pid_t pid)
{
	struct systrace *t = s;

	if (!t->tls)
		return;
	switch (what) {
	case PROC_CHANGE_FORK: /* the parent's maps: its libssl, if any */
		tls__attach(t->tls, pid, false);
		break;
	case PROC_CHANGE_EXEC:
		tls__on_exec(t->tls, pid);
		break;
	case PROC_CHANGE_EXIT:
		tls__detach(t->tls, pid);
		break;
	}
}

static void source_describe(void *s, char *buf, size_t len)
{
	struct systrace *t = s;

	if (t->tls)
		tls__describe(t->tls, buf, len);
}

static void source_report(void *s)
{
	struct systrace *t = s;

	if (t->tls)
		tls__report(t->tls);
}

static void source_totals(void *s, struct source_totals *out)
{
	systrace__totals(s, &out->events, &out->lost);
}

/* the two tracepoints (sys_enter/sys_exit) that time its syscalls */
static int source_nprobes(void *s, pid_t pid)
{
	struct systrace *t = s;

	return (t->opts.syscalls ? 2 : 0) + (t->tls ? tls__nprobes(t->tls, pid) : 0);
}

static void source_needs(void *s, struct privs_need *need)
{
	need->bpf_fds = true;
	need->uprobes |= ((struct systrace *)s)->tls != NULL;
}

/* process changes wake the session at once (the proc ring wakes its readers; the payload ring never does) */
static int source_wait_fd(void *s)
{
	struct systrace *t = s;

	return bpf_map__fd(t->skel->maps.events);
}

static int source_traced_fd(void *s)
{
	return systrace__traced_fd(s);
}

static int source_progs(void *s, int *fds, int max)
{
	struct systrace *t = s;

	return bpf_object_prog_fds(t->skel->obj, fds, max);
}

/* the budget's switches: one bit of the programs' .bss each (abi/syscalls.h, SC_SHED_*) */
static int source_shed(void *s, enum shed_step step, char *what, size_t len)
{
	struct systrace *t = s;
	const struct syscalls_bpf__rodata *ro = t->skel->rodata;
	uint32_t bit = 0, now = __atomic_load_n(&t->skel->bss->rt_shed, __ATOMIC_RELAXED);

	switch (step) {
	case SHED_PAYLOAD:
		if (ro->cfg_payload)
			bit = SC_SHED_PAYLOAD;
		snprintf(what, len, "payload capture of new connections (1 in 8 kept)");
		break;
	case SHED_LOGS:
		if (ro->cfg_logs)
			bit = SC_SHED_LOGS;
		snprintf(what, len, "log capture (stdout/stderr writes)");
		break;
	case SHED_SYSCALLS:
		if (t->opts.syscalls)
			bit = SC_SHED_SYSCALLS;
		snprintf(what, len, "per-syscall detail (duration histograms, errno counts)");
		break;
	default:
		break;
	}
	if (!bit || (now & bit))
		return 0;
	__atomic_fetch_or(&t->skel->bss->rt_shed, bit, __ATOMIC_RELAXED);
	return 1;
}

static int source_calibrate_on(void *s, pid_t helper)
{
	struct systrace *t = s;

	return t->opts.syscalls ? systrace__add_pid(t, helper) : -1;
}

static void source_calibrate_off(void *s, pid_t helper)
{
	systrace__remove_pid(s, helper);
}

const struct source_ops syscalls_source = {
	.name = "syscalls",
	.path = SOURCE_EBPF,
	.new = source_new,
	.free = source_free,
	.add_target = source_add_target,
	.on_process = source_on_process,
	.drain = source_drain,
	.poll = source_poll,
	.baseline = source_baseline,
	.totals = source_totals,
	.nprobes = source_nprobes,
	.needs = source_needs,
	.describe = source_describe,
	.report = source_report,
	.traced_fd = source_traced_fd,
	.wait_fd = source_wait_fd,
	.progs = source_progs,
	.shed = source_shed,
	.probe = "syscall",
	.loop = CALIB_SYSCALLS,
	.calibrate_on = source_calibrate_on,
	.calibrate_off = source_calibrate_off,
};
