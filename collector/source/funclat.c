/* funclat.c -- loads funclat.bpf.c, attaches uprobe pairs for --func globs, reports function latency */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "source/bpfutil.h"
#include "source/calibrate.h"
#include "abi/funclat.h"
#include "source/funcbin.h"
#include "source/funclat.h"
#include "source/funcspec.h"
#include "funclat.skel.h"
#include "base/log.h"
#include "source/procs.h"
#include "source/symbols.h"

struct func {
	char name[128];
	char object[64]; /* basename of the binary/library */
	uint64_t offset;
	struct hist last;
	uint64_t mark; /* last.count when the budget last looked: the calls since are its heat */
	bool shed;     /* detached by the overhead budget: never attached again */
};

struct probe_link {
	pid_t pid; /* -1: the whole binary @dev/@ino (funcbin.h) */
	uint32_t id;
	dev_t dev;
	ino_t ino;
	struct bpf_link *entry, *exit;
};

struct funclat {
	struct funclat_opts opts;
	struct funclat_bpf *skel;
	struct ring_buffer *rb; /* call events, with opts.on_call */
	struct percpu_buf hbuf, ubuf;
	struct func funcs[FL_MAX_FUNCS]; /* [0] is calibration */
	int nfuncs;			 /* ids used, including 0 */
	struct probe_link *links;
	int nlinks, caplinks;
	uint64_t last_stats[FL_STAT__COUNT];
	uint64_t events, lost;
	uint64_t calls; /* of traced functions (not the calibration): the uprobe hits the budget counts */
	bool baseline;
	bool filtered;				  /* the traced-process map is the syscall source's */
	bool (*per_binary)(void *ctx, pid_t pid); /* discovery: is @pid's binary probed as a whole */
	void *pb_ctx;
	struct funcbin bins; /* the processes using whole-binary probes */
};

static int on_call_event(void *ctx, void *data, size_t size)
{
	struct funclat *fl = ctx;
	const struct fl_call_event *e = data;

	if (size < sizeof(*e) || e->id == 0 || e->id >= (uint32_t)fl->nfuncs || fl->baseline)
		return 0;
	fl->opts.on_call(fl->opts.ctx, e, fl->funcs[e->id].name, fl->funcs[e->id].object);
	return 0;
}

struct funclat *funclat__new(const struct funclat_opts *opts, char *err, size_t errlen)
{
	struct funclat *fl = calloc(1, sizeof(*fl));
	int e;

	if (!fl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fl->opts = *opts;
	fl->nfuncs = 1;
	snprintf(fl->funcs[0].name, sizeof(fl->funcs[0].name), "(calibration)");
	fl->skel = funclat_bpf__open();
	if (!fl->skel) {
		snprintf(err, errlen, "cannot open the function BPF object: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < opts->bounds->n; i++)
		fl->skel->rodata->cfg_bounds_ns[i] = opts->bounds->ns[i];
	fl->skel->rodata->cfg_nbounds = opts->bounds->n;
	fl->skel->rodata->cfg_call_events = opts->on_call != NULL;
	if (!opts->on_call)
		bpf_map__set_max_entries(fl->skel->maps.calls, 4096);
	if (opts->traced_fd > 0 && !bpf_map__reuse_fd(fl->skel->maps.traced, opts->traced_fd))
		fl->filtered = true;
	e = funclat_bpf__load(fl->skel);
	if (e) {
		snprintf(err, errlen, "cannot load the function BPF programs: %s", strerror(-e));
		goto fail;
	}
	if (percpu_buf__init(&fl->hbuf, sizeof(struct obs_hist)) || percpu_buf__init(&fl->ubuf, sizeof(uint64_t))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (opts->on_call) {
		fl->rb = ring_buffer__new(bpf_map__fd(fl->skel->maps.calls), on_call_event, fl, NULL);
		if (!fl->rb) {
			snprintf(err, errlen, "cannot set up the call ring buffer: %s", strerror(errno));
			goto fail;
		}
	}
	return fl;
fail:
	funclat__free(fl);
	return NULL;
}

void funclat__free(struct funclat *fl)
{
	if (!fl)
		return;
	for (int i = 0; i < fl->nlinks; i++) {
		bpf_link__destroy(fl->links[i].entry);
		bpf_link__destroy(fl->links[i].exit);
	}
	free(fl->links);
	funcbin__free(&fl->bins);
	ring_buffer__free(fl->rb);
	funclat_bpf__destroy(fl->skel);
	percpu_buf__free(&fl->hbuf);
	percpu_buf__free(&fl->ubuf);
	free(fl);
}

static int func_id(struct funclat *fl, const char *name, const char *path, uint64_t offset)
{
	char tmp[PATH_MAX], *base;
	struct func *f;

	snprintf(tmp, sizeof(tmp), "%s", path);
	base = basename(tmp);
	/* one id per function of an object, whichever process maps it (paths differ per
	 * pid through /proc/PID/root) */
	for (int i = 1; i < fl->nfuncs; i++)
		if (fl->funcs[i].offset == offset && !strcmp(fl->funcs[i].object, base) &&
		    !strcmp(fl->funcs[i].name, name))
			return i;
	if (fl->nfuncs == FL_MAX_FUNCS)
		return -1;
	f = &fl->funcs[fl->nfuncs];
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->object, sizeof(f->object), "%s", base);
	f->offset = offset;
	return fl->nfuncs++;
}

/* @bin: the probe is the whole binary's (pid -1), once */
static int add_link(struct funclat *fl, pid_t pid, uint32_t id, const char *path, uint64_t offset,
		    const struct stat *bin)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = id | (bin ? FL_COOKIE_BINARY : 0));
	struct probe_link l = {
		.pid = bin ? -1 : pid, .id = id, .dev = bin ? bin->st_dev : 0, .ino = bin ? bin->st_ino : 0
	};

	if (fl->funcs[id].shed)
		return 0; /* the budget took it off */
	for (int i = 0; i < fl->nlinks; i++)
		if (fl->links[i].pid == l.pid && fl->links[i].id == id && fl->links[i].ino == l.ino &&
		    fl->links[i].dev == l.dev)
			return 0; /* already attached */
	if (fl->nlinks == fl->caplinks) {
		int cap = fl->caplinks ? fl->caplinks * 2 : 64;
		struct probe_link *v = realloc(fl->links, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fl->links = v;
		fl->caplinks = cap;
	}
	l.entry = bpf_program__attach_uprobe_opts(fl->skel->progs.func_entry, l.pid, path, offset, &o);
	if (!l.entry)
		return -errno;
	o.retprobe = true;
	l.exit = bpf_program__attach_uprobe_opts(fl->skel->progs.func_exit, l.pid, path, offset, &o);
	if (!l.exit) {
		int e = -errno;

		bpf_link__destroy(l.entry);
		return e;
	}
	fl->links[fl->nlinks++] = l;
	return 0;
}

/* are the --func probes of this file attached whole (pid -1) */
static bool binary_probed(const struct funclat *fl, const struct stat *bin)
{
	for (int i = 0; i < fl->nlinks; i++)
		if (fl->links[i].pid == -1 && fl->links[i].ino == bin->st_ino && fl->links[i].dev == bin->st_dev)
			return true;
	return false;
}

static int attach_specs(struct funclat *fl, pid_t pid, const char *exe, bool strict, char *err, size_t errlen)
{
	/* discovery: a binary only targets run gets its probes once, for the whole file (docs/SPEC.md) */
	bool whole = !exe && pid > 0 && fl->filtered && fl->per_binary && fl->per_binary(fl->pb_ctx, pid);
	int attached = 0;

	for (int s = 0; s < fl->opts.nspecs; s++) {
		char obj[PATH_MAX], path[PATH_MAX], serr[256];
		const char *glob;
		struct elf_syms *syms;
		struct sym_match *m = NULL;
		struct stat bin, *binp = NULL;
		int n = 0;

		funcspec_split(fl->opts.specs[s], obj, sizeof(obj), &glob);
		if (funcspec_resolve(pid, exe, obj, path, sizeof(path))) {
			if (!strict)
				continue;
			snprintf(err, errlen,
				 "attach: --func '%s': no object '%s' is mapped by pid %d (list them: obsprobe symbols --pid %d)",
				 fl->opts.specs[s], obj[0] ? obj : "(main binary)", pid, pid);
			return -1;
		}
		syms = elf_syms__open(path, serr, sizeof(serr));
		if (!syms) {
			if (!strict)
				continue;
			snprintf(err, errlen, "attach: --func '%s': %s", fl->opts.specs[s], serr);
			return -1;
		}
		if (elf_syms__match(syms, glob, &m, &n) || n == 0) {
			if (strict) {
				funcspec_no_match(syms, glob, path, pid, exe || obj[0], err, errlen);
				free(m);
				elf_syms__free(syms);
				return -1;
			}
		}
		/* the main binary (libraries stay per process: libc is in every process); a child of a target whose
		 * binary is probed whole is counted by that probe: it holds it, and gets none of its own */
		if (!obj[0] && !exe && pid > 0 && fl->filtered && !stat(path, &bin) &&
		    (whole || binary_probed(fl, &bin)) && !funcbin__use(&fl->bins, pid, bin.st_dev, bin.st_ino))
			binp = &bin;
		for (int i = 0; i < n; i++) {
			int id = func_id(fl, m[i].name, path, m[i].offset), e;

			if (id < 0) {
				snprintf(err, errlen, "attach: more than %d functions match; narrow the --func globs",
					 FL_MAX_FUNCS - 1);
				free(m);
				elf_syms__free(syms);
				return -1;
			}
			e = add_link(fl, pid, id, path, m[i].offset, binp);
			if (e) {
				if (strict) {
					snprintf(err, errlen, "attach: cannot attach a uprobe to %s in %s: %s",
						 m[i].name, funcspec_shown(path), strerror(-e));
					free(m);
					elf_syms__free(syms);
					return -1;
				}
				vlog("pid %d: cannot attach to %s: %s", pid, m[i].name, strerror(-e));
				continue;
			}
			attached++;
		}
		free(m);
		elf_syms__free(syms);
	}
	return attached;
}

int funclat__attach_pid(struct funclat *fl, pid_t pid, bool strict, char *err, size_t errlen)
{
	return attach_specs(fl, pid, NULL, strict, err, errlen);
}

int funclat__attach_path(struct funclat *fl, pid_t pid, const char *exe, char *err, size_t errlen)
{
	return attach_specs(fl, pid, exe, true, err, errlen);
}

void funclat__detach_pid(struct funclat *fl, pid_t pid)
{
	int j = 0;
	dev_t dev = 0;
	ino_t ino = 0;
	/* the last process of a whole-binary probe's file: the probe goes too */
	bool last = funcbin__release(&fl->bins, pid, &dev, &ino) == 1;

	for (int i = 0; i < fl->nlinks; i++) {
		if (fl->links[i].id != 0 &&
		    (fl->links[i].pid == pid ||
		     (last && fl->links[i].pid == -1 && fl->links[i].ino == ino && fl->links[i].dev == dev))) {
			bpf_link__destroy(fl->links[i].entry);
			bpf_link__destroy(fl->links[i].exit);
			continue;
		}
		fl->links[j++] = fl->links[i];
	}
	fl->nlinks = j;
}

int funclat__attach_calibration(struct funclat *fl, pid_t pid, const char *path, uint64_t offset)
{
	return add_link(fl, pid, 0, path, offset, NULL);
}

void funclat__detach_calibration(struct funclat *fl)
{
	int j = 0;

	for (int i = 0; i < fl->nlinks; i++) {
		if (fl->links[i].id == 0) {
			bpf_link__destroy(fl->links[i].entry);
			bpf_link__destroy(fl->links[i].exit);
			continue;
		}
		fl->links[j++] = fl->links[i];
	}
	fl->nlinks = j;
}

int funclat__nfuncs(const struct funclat *fl)
{
	return fl->nfuncs - 1;
}

int funclat__nprobes(const struct funclat *fl, pid_t pid)
{
	dev_t dev = 0;
	ino_t ino = 0;
	bool whole = pid && funcbin__of(&fl->bins, pid, &dev, &ino);
	int n = 0;

	for (int i = 0; i < fl->nlinks; i++)
		if (fl->links[i].id &&
		    (!pid || fl->links[i].pid == pid ||
		     (whole && fl->links[i].pid == -1 && fl->links[i].ino == ino && fl->links[i].dev == dev)))
			n++;
	return n;
}

void funclat__per_binary(struct funclat *fl, bool (*per_binary)(void *ctx, pid_t pid), void *ctx)
{
	fl->per_binary = per_binary;
	fl->pb_ctx = ctx;
}

static const char *const stat_reason[FL_STAT__COUNT] = {
	[FL_STAT_TOO_DEEP] = "call_depth",
	[FL_STAT_UNMATCHED] = "unmatched_return",
	[FL_STAT_NO_STORAGE] = "task_storage",
	[FL_STAT_RINGBUF_FULL] = "call_ringbuf_full",
};

void funclat__poll(struct funclat *fl)
{
	int fd = bpf_map__fd(fl->skel->maps.hists), nslots = fl->opts.bounds->n + 1;

	if (fl->rb)
		ring_buffer__consume(fl->rb);
	for (int id = 0; id < fl->nfuncs; id++) {
		struct func *f = &fl->funcs[id];
		struct hist now, d;

		if (percpu_hist_sum(fd, id, &fl->hbuf, &now, nslots) || now.count == f->last.count)
			continue;
		hist_delta(&f->last, &now, &d, nslots);
		fl->calls += id ? d.count : 0;
		if (id == 0 || fl->baseline)
			continue;
		fl->events += d.count;
		series__add_hist(metrics__series(fl->opts.metrics, FAM_FUNCTION_DURATION,
						 (const char *[]){ fl->opts.service, f->name, f->object }),
				 d.buckets, d.count, d.sum_ns);
		series__add(metrics__series(fl->opts.metrics, FAM_EVENTS, (const char *[]){ "ebpf" }), d.count);
	}
	fd = bpf_map__fd(fl->skel->maps.stats);
	for (uint32_t i = 0; i < FL_STAT__COUNT; i++) {
		uint64_t now;

		if (percpu_u64_sum(fd, &i, &fl->ubuf, &now) || now == fl->last_stats[i])
			continue;
		if (!fl->baseline) {
			fl->lost += now - fl->last_stats[i];
			series__add(metrics__series(fl->opts.metrics, FAM_EVENTS_LOST,
						    (const char *[]){ "ebpf", stat_reason[i] }),
				    now - fl->last_stats[i]);
		}
		fl->last_stats[i] = now;
	}
}

void funclat__baseline(struct funclat *fl)
{
	fl->baseline = true;
	funclat__poll(fl);
	fl->baseline = false;
}

void funclat__totals(struct funclat *fl, uint64_t *events, uint64_t *lost)
{
	*events = fl->events;
	*lost = fl->lost;
}

int funclat__shed_hottest(struct funclat *fl, char *what, size_t len)
{
	int hot = 0, j = 0, nl = 0;
	uint64_t heat = 0;

	/* among the functions attached somewhere (links of id 0 are the calibration's) */
	for (int i = 0; i < fl->nlinks; i++) {
		struct func *f = &fl->funcs[fl->links[i].id];

		if (fl->links[i].id && (!hot || f->last.count - f->mark > heat)) {
			hot = fl->links[i].id;
			heat = f->last.count - f->mark;
		}
	}
	for (int id = 1; id < fl->nfuncs; id++)
		fl->funcs[id].mark = fl->funcs[id].last.count;
	if (!hot)
		return 0;
	fl->funcs[hot].shed = true;
	for (int i = 0; i < fl->nlinks; i++) {
		if (fl->links[i].id == (uint32_t)hot) {
			bpf_link__destroy(fl->links[i].entry);
			bpf_link__destroy(fl->links[i].exit);
			nl++;
			continue;
		}
		fl->links[j++] = fl->links[i];
	}
	fl->nlinks = j;
	snprintf(what, len, "--func %s (%s): %llu calls since the last look, %d uprobe pair%s detached",
		 fl->funcs[hot].name, fl->funcs[hot].object, (unsigned long long)heat, nl, nl == 1 ? "" : "s");
	return 1;
}

/* ---- the session's view (source.h) ---- */

static void *source_new(const struct source_opts *o, char *err, size_t errlen)
{
	struct funclat_opts fo = { .metrics = o->metrics,
				   .bounds = o->bounds,
				   .service = o->service,
				   .specs = o->funcs,
				   .nspecs = o->nfuncs,
				   .exe = o->run_exe && o->run_exe[0] ? o->run_exe : NULL,
				   .on_call = o->on_call,
				   .traced_fd = o->traced_fd,
				   .ctx = o->ctx };

	return funclat__new(&fo, err, errlen);
}

static void source_free(void *s)
{
	funclat__free(s);
}

/* the pids the user named: every spec must match (an error otherwise); children: what matches */
static int source_add_target(void *s, pid_t pid, bool initial, char *err, size_t errlen)
{
	struct funclat *fl = s;

	if (!fl->opts.nspecs)
		return 0;
	if (!initial) {
		funclat__attach_pid(fl, pid, false, err, errlen);
		return 0;
	}
	return (fl->opts.exe ? funclat__attach_path(fl, pid, fl->opts.exe, err, errlen)
			     : funclat__attach_pid(fl, pid, true, err, errlen)) < 0
		       ? -1
		       : 0;
}

static void source_on_process(void *s, enum proc_change what, pid_t pid)
{
	char err[512];

	switch (what) {
	case PROC_CHANGE_FORK:
		funclat__attach_pid(s, pid, false, err, sizeof(err));
		break;
	case PROC_CHANGE_EXEC:
		/* a new image: its functions live at new addresses */
		funclat__detach_pid(s, pid);
		funclat__attach_pid(s, pid, false, err, sizeof(err));
		break;
	case PROC_CHANGE_EXIT:
		funclat__detach_pid(s, pid);
		break;
	}
}

static void source_poll(void *s)
{
	funclat__poll(s);
}

static void source_baseline(void *s)
{
	funclat__baseline(s);
}

static void source_totals(void *s, struct source_totals *out)
{
	funclat__totals(s, &out->events, &out->lost);
}

static int source_nprobes(void *s, pid_t pid)
{
	return funclat__nprobes(s, pid);
}

static void source_describe(void *s, char *buf, size_t len)
{
	struct funclat *fl = s;
	int n = funclat__nfuncs(fl), nb = funcbin__nbinaries(&fl->bins);
	size_t at = strlen(buf);

	if (n && at < len)
		snprintf(buf + at, len - at, "%d function%s%s%.0d%s, ", n, n == 1 ? "" : "s",
			 nb ? " (uprobes once per binary: " : "", nb, nb ? (nb == 1 ? " binary)" : " binaries)") : "");
}

static void source_needs(void *s, struct privs_need *need)
{
	need->bpf_fds = true;
	need->uprobes |= ((struct funclat *)s)->opts.nspecs > 0;
}

static int source_progs(void *s, int *fds, int max)
{
	return bpf_object_prog_fds(((struct funclat *)s)->skel->obj, fds, max);
}

static uint64_t source_uprobe_hits(void *s)
{
	return ((struct funclat *)s)->calls;
}

static int source_shed(void *s, enum shed_step step, char *what, size_t len)
{
	return step == SHED_FUNC ? funclat__shed_hottest(s, what, len) : 0;
}

/* the uprobe on obsprobe's own calibration function, in the helper */
static int source_calibrate_on(void *s, pid_t helper)
{
	char exe[PATH_MAX];
	uint64_t off;

	if (calibration_target(exe, sizeof(exe), &off))
		return -1;
	return funclat__attach_calibration(s, helper, exe, off);
}

static void source_calibrate_off(void *s, pid_t helper)
{
	(void)helper;
	funclat__detach_calibration(s);
}

const struct source_ops funclat_source = {
	.name = "functions",
	.path = SOURCE_EBPF,
	.new = source_new,
	.free = source_free,
	.add_target = source_add_target,
	.on_process = source_on_process,
	.poll = source_poll,
	.baseline = source_baseline,
	.totals = source_totals,
	.nprobes = source_nprobes,
	.describe = source_describe,
	.needs = source_needs,
	.progs = source_progs,
	.uprobe_hits = source_uprobe_hits,
	.shed = source_shed,
	.probe = "uprobe",
	.loop = CALIB_CALLS,
	.calibrate_on = source_calibrate_on,
	.calibrate_off = source_calibrate_off,
};
