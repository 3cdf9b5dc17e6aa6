/* kfunc.c -- loads kfunc.bpf.c once per function (fentry) or once for all (kprobe) and reports latency */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "source/bpfutil.h"
#include "source/kfunc.h"
#include "kfunc.skel.h"
#include "base/log.h"

#define KF_MAX 64

struct kfunc {
	struct kfunc_opts opts;
	bool fentry;
	struct kfunc_bpf *skels[KF_MAX]; /* fentry: one per function; kprobe: [0] */
	struct bpf_link *links[2 * KF_MAX];
	int nlinks;
	char names[KF_MAX][128];
	struct hist last[KF_MAX];
	int n;
	struct percpu_buf hbuf, ubuf;
	uint64_t last_stats[KF_MAX][FL_STAT__COUNT]; /* per skeleton: fentry has one stats map per function */
	uint64_t events, lost;
	bool baseline; /* the next poll records, but does not report */
};

static struct kfunc_bpf *open_skel(const struct kfunc_opts *o, bool fentry, uint32_t id, const char *target)
{
	struct kfunc_bpf *s = kfunc_bpf__open();

	if (!s)
		return NULL;
	if (o) {
		for (int i = 0; i < o->bounds->n; i++)
			s->rodata->cfg_bounds_ns[i] = o->bounds->ns[i];
		s->rodata->cfg_nbounds = o->bounds->n;
		bpf_map__set_max_entries(s->maps.calls, 4096); /* no call events for kernel functions */
		if (o->traced_fd >= 0) {
			int e = bpf_map__reuse_fd(s->maps.traced, o->traced_fd);

			if (e) {
				kfunc_bpf__destroy(s);
				errno = -e;
				return NULL;
			}
			s->rodata->cfg_traced_only = true;
		}
	}
	s->rodata->cfg_func_id = id;
	bpf_program__set_autoload(s->progs.kfunc_entry, fentry);
	bpf_program__set_autoload(s->progs.kfunc_exit, fentry);
	bpf_program__set_autoload(s->progs.kprobe_entry, !fentry);
	bpf_program__set_autoload(s->progs.kprobe_exit, !fentry);
	if (fentry) {
		bpf_program__set_attach_target(s->progs.kfunc_entry, 0, target);
		bpf_program__set_attach_target(s->progs.kfunc_exit, 0, target);
	}
	if (kfunc_bpf__load(s)) {
		int e = errno;

		kfunc_bpf__destroy(s);
		errno = e;
		return NULL;
	}
	return s;
}

/* try fentry on @name; 0 or -errno */
static int try_fentry(struct kfunc *k, const struct kfunc_opts *o, int id, const char *name)
{
	struct kfunc_bpf *s = open_skel(o, true, id, name);
	int e;

	if (!s)
		return -(errno ? errno : EINVAL);
	e = kfunc_bpf__attach(s);
	if (e) {
		kfunc_bpf__destroy(s);
		return e;
	}
	if (k)
		k->skels[id] = s;
	else
		kfunc_bpf__destroy(s);
	return 0;
}

static int try_kprobe(struct kfunc *k, const struct kfunc_opts *o, int id, const char *name)
{
	struct kfunc_bpf *s = k && k->skels[0] ? k->skels[0] : open_skel(o, false, 0, NULL);
	LIBBPF_OPTS(bpf_kprobe_opts, ko, .bpf_cookie = id);
	struct bpf_link *a, *b;
	int e;

	if (!s)
		return -(errno ? errno : EINVAL);
	a = bpf_program__attach_kprobe_opts(s->progs.kprobe_entry, name, &ko);
	e = a ? 0 : -errno;
	ko.retprobe = true;
	b = a ? bpf_program__attach_kprobe_opts(s->progs.kprobe_exit, name, &ko) : NULL;
	if (a && !b)
		e = -errno;
	if (e || !k) {
		bpf_link__destroy(a);
		bpf_link__destroy(b);
		if (!k || !k->skels[0])
			kfunc_bpf__destroy(s);
		return e;
	}
	k->skels[0] = s;
	k->links[k->nlinks++] = a;
	k->links[k->nlinks++] = b;
	return 0;
}

/* kernel functions matching @glob, from vmlinux BTF (no tracefs needed) */
static int match_btf(const char *glob, char names[][128], int max, int *n)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (!btf)
		return -errno;
	for (unsigned id = 1; id < btf__type_cnt(btf) && *n < max; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name;

		if (!btf_is_func(t))
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		if (name && !fnmatch(glob, name, 0)) {
			bool dup = false;

			for (int i = 0; i < *n; i++)
				dup |= !strcmp(names[i], name);
			if (!dup)
				snprintf(names[(*n)++], 128, "%s", name);
		}
	}
	btf__free(btf);
	return 0;
}

struct kfunc *kfunc__new(const struct kfunc_opts *opts, char *err, size_t errlen)
{
	struct kfunc *k = calloc(1, sizeof(*k));
	int e;

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->opts = *opts;
	k->n = 1; /* id 0 unused: ids match funclat's convention */
	for (int g = 0; g < opts->nglobs; g++) {
		int before = k->n;

		e = match_btf(opts->globs[g], k->names, KF_MAX, &k->n);
		if (e) {
			snprintf(err, errlen, "kfunc: cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): %s",
				 strerror(-e));
			goto fail;
		}
		if (k->n == before) {
			snprintf(err, errlen, "kfunc: no kernel function matches '%s'", opts->globs[g]);
			goto fail;
		}
	}
	/* the mechanism is chosen once, on the first function: fentry, else kprobe */
	e = try_fentry(k, opts, 1, k->names[1]);
	k->fentry = !e;
	for (int id = 1; id < k->n; id++) {
		int ef = 0, ek;

		if (k->fentry && (id == 1 || !(ef = try_fentry(k, opts, id, k->names[id]))))
			continue;
		ek = try_kprobe(k, opts, id, k->names[id]);
		if (ek) {
			snprintf(err, errlen,
				 "kfunc: cannot trace kernel function '%s': fentry %s (%s) and kprobe %s (%s); this kernel offers no way to time kernel functions (see obsprobe check)",
				 k->names[id], "refused", strerror(-(ef ? ef : e)), "failed", strerror(-ek));
			goto fail;
		}
	}
	if (percpu_buf__init(&k->hbuf, sizeof(struct obs_hist)) || percpu_buf__init(&k->ubuf, sizeof(uint64_t))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return k;
fail:
	kfunc__free(k);
	return NULL;
}

void kfunc__free(struct kfunc *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->nlinks; i++)
		bpf_link__destroy(k->links[i]);
	for (int i = 0; i < KF_MAX; i++)
		kfunc_bpf__destroy(k->skels[i]);
	percpu_buf__free(&k->hbuf);
	percpu_buf__free(&k->ubuf);
	free(k);
}

int kfunc__nfuncs(const struct kfunc *k)
{
	return k->n - 1;
}

const char *kfunc__mechanism(const struct kfunc *k)
{
	return k->fentry ? "fentry" : "kprobe";
}

/* the same reasons as --func's probes (funclat.c): they share callstack.bpf.h */
static const char *const stat_reason[FL_STAT__COUNT] = {
	[FL_STAT_TOO_DEEP] = "call_depth",
	[FL_STAT_UNMATCHED] = "unmatched_return",
	[FL_STAT_NO_STORAGE] = "task_storage",
	[FL_STAT_RINGBUF_FULL] = "call_ringbuf_full",
};

/* what the probes of skeleton @i could not time */
static void poll_stats(struct kfunc *k, int i)
{
	int fd = bpf_map__fd(k->skels[i]->maps.stats);

	for (uint32_t r = 0; r < FL_STAT__COUNT; r++) {
		uint64_t now;

		if (percpu_u64_sum(fd, &r, &k->ubuf, &now) || now == k->last_stats[i][r])
			continue;
		if (!k->baseline) {
			k->lost += now - k->last_stats[i][r];
			series__add(metrics__series(k->opts.metrics, FAM_EVENTS_LOST,
						    (const char *[]){ "ebpf", stat_reason[r] }),
				    now - k->last_stats[i][r]);
		}
		k->last_stats[i][r] = now;
	}
}

void kfunc__poll(struct kfunc *k)
{
	int nslots = k->opts.bounds->n + 1;

	for (int id = 1; id < k->n; id++) {
		struct kfunc_bpf *s = k->fentry ? k->skels[id] : k->skels[0];
		struct hist now, d;

		if (!s || percpu_hist_sum(bpf_map__fd(s->maps.hists), id, &k->hbuf, &now, nslots) ||
		    now.count == k->last[id].count)
			continue;
		hist_delta(&k->last[id], &now, &d, nslots);
		if (k->baseline)
			continue;
		k->events += d.count;
		{
			const char *v[] = { k->opts.service, k->names[id] };

			series__add_hist(metrics__series(k->opts.metrics, FAM_KFUNC_DURATION, v), d.buckets, d.count,
					 d.sum_ns);
		}
		series__add(metrics__series(k->opts.metrics, FAM_EVENTS, (const char *[]){ "ebpf" }), d.count);
	}
	for (int i = 0; i < KF_MAX; i++)
		if (k->skels[i])
			poll_stats(k, i);
}

void kfunc__baseline(struct kfunc *k)
{
	k->baseline = true;
	kfunc__poll(k);
	k->baseline = false;
}

void kfunc__totals(struct kfunc *k, uint64_t *events, uint64_t *lost)
{
	*events = k->events;
	*lost = k->lost;
}

bool kfunc_probe_fentry(char *why, size_t len)
{
	int e = try_fentry(NULL, NULL, 1, "vfs_read");

	if (e)
		snprintf(why, len, "fentry/fexit on vfs_read: %s%s", strerror(-e),
			 e == -EPERM ? " (the kernel refuses fentry attach)" : "");
	return !e;
}

bool kfunc_probe_kprobe(char *why, size_t len)
{
	int e = try_kprobe(NULL, NULL, 1, "vfs_read");

	if (e)
		snprintf(why, len, "kprobe on vfs_read: %s%s", strerror(-e),
			 e == -ENOENT ? " (kernel built without CONFIG_KPROBES)" : "");
	return !e;
}

/* ---- the session's view (source.h) ---- */

static void *source_new(const struct source_opts *o, char *err, size_t errlen)
{
	struct kfunc_opts ko = { .metrics = o->metrics,
				 .bounds = o->bounds,
				 .service = o->service,
				 .globs = o->kfuncs,
				 .nglobs = o->nkfuncs,
				 .traced_fd = o->traced_fd };

	if (!o->nkfuncs)
		return NULL; /* not wanted */
	return kfunc__new(&ko, err, errlen);
}

static void source_free(void *s)
{
	kfunc__free(s);
}

static void source_poll(void *s)
{
	kfunc__poll(s);
}

static void source_baseline(void *s)
{
	kfunc__baseline(s);
}

static void source_totals(void *s, struct source_totals *out)
{
	kfunc__totals(s, &out->events, &out->lost);
}

static void source_describe(void *s, char *buf, size_t len)
{
	int n = kfunc__nfuncs(s);
	size_t at = strlen(buf);

	if (at < len)
		snprintf(buf + at, len - at, "%d kernel function%s (%s), ", n, n == 1 ? "" : "s", kfunc__mechanism(s));
}

static void source_needs(void *s, struct privs_need *need)
{
	(void)s;
	need->bpf_fds = true;
}

const struct source_ops kfunc_source = {
	.name = "kernel functions",
	.path = SOURCE_EBPF,
	.new = source_new,
	.free = source_free,
	.poll = source_poll,
	.baseline = source_baseline,
	.totals = source_totals,
	.describe = source_describe,
	.needs = source_needs,
};
