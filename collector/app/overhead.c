/* overhead.c -- what tracing costs, measured while it runs (the kernel's BPF run-time statistics, the traced
 * processes' CPU from /proc/PID/stat), and the --max-overhead budget that sheds work one step per window */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/overhead.h"
#include "base/log.h"
#include "lib/clock.h"
#include "lib/procstat.h"
#include "source/budget.h"
#include "source/progstats.h"

#define READ_NS 1000000000ull	/* the statistics are read at most once a second */
#define WINDOW_NS 2000000000ull /* the budget judges every 2 s */
#define MAX_PROGS 64
#define MIN_TARGET_TICKS 2 /* less CPU than this in a window: the targets were idle, no verdict */

struct proc_cpu {
	pid_t pid;
	uint64_t start; /* starttime, ticks after boot: a reused pid is another process */
	uint64_t base;	/* its CPU (ticks) when first seen: what it used before the session, or 0 */
	uint64_t now;	/* its CPU at the last read */
	uint64_t win;	/* at the start of the window */
	double pct;	/* its CPU over the last window, % of one CPU; < 0 before the first */
	bool seen;	/* in the targets at the last read */
};

struct prog_total {
	char name[16];
	uint64_t run_ns, runs;
};

struct overhead {
	struct metrics *m;
	double max_pct;
	int stats_fd;
	long tck;
	uint64_t self_start; /* obsprobe's own starttime (ticks): processes born after it count from 0 */
	double hit_ns;	     /* calibrated cost of one uprobe hit (the function source's); < 0 unknown */
	int nfuncs_probes;
	uint64_t t0, last_read, win_start;
	/* cumulative: now, and at the start of the window */
	uint64_t probe_ns, uprobe_ns, hits, target_ticks, gone_ticks;
	uint64_t w_probe_ns, w_uprobe_ns, w_hits, w_target_ticks;
	struct proc_cpu *procs;
	int nprocs, cap;
	unsigned left; /* steps still possible */
	unsigned shed_mask;
	char shed[768]; /* what was shed, for the exit line */
	struct budget_verdict last;
	double last_calls_per_s;
	bool judged, said_empty, said_rate;
};

struct overhead *overhead__new(struct metrics *m, double max_pct, bool stats)
{
	struct overhead *o = calloc(1, sizeof(*o));
	struct procstat self;
	char err[256];

	if (!o) {
		elog("out of memory");
		return NULL;
	}
	o->m = m;
	o->max_pct = max_pct;
	o->tck = sysconf(_SC_CLK_TCK);
	o->hit_ns = -1;
	o->left = SHED_ALL;
	o->last.pct = -1;
	o->last_calls_per_s = -1;
	if (procstat__read(0, &self) >= PROCSTAT_STARTTIME)
		o->self_start = self.starttime;
	o->stats_fd = -1;
	if (!stats && !(max_pct > 0))
		return o; /* said after the start line (overhead__say): an error before it stays the only line */
	o->stats_fd = progstats__enable(err, sizeof(err));
	if (o->stats_fd < 0) {
		if (max_pct > 0) { /* a budget without the numbers it judges on */
			elog("--max-overhead: %s", err);
			free(o);
			return NULL;
		}
		vlog("%s: obsprobe_probe_cpu_seconds_total stays empty", err);
	}
	return o;
}

void overhead__say(const struct overhead *o)
{
	if (o && o->stats_fd < 0 && !(o->max_pct > 0))
		ilog("probe CPU (obsprobe_probe_cpu_seconds_total): off; --probe-stats turns the kernel's BPF statistics on (they add two clock reads to every BPF program run on the host)");
}

void overhead__free(struct overhead *o)
{
	if (!o)
		return;
	if (o->stats_fd >= 0)
		close(o->stats_fd);
	free(o->procs);
	free(o);
}

void overhead__calibrated(struct overhead *o, const struct source_set *set, const double per_hit[SOURCE_MAX])
{
	if (!o)
		return;
	for (int i = 0; i < set->n; i++) {
		if (!set->ops[i]->uprobe_hits)
			continue;
		o->hit_ns = per_hit[i] >= 0 ? per_hit[i] * 1e9 : -1;
		o->nfuncs_probes = set->ops[i]->nprobes ? set->ops[i]->nprobes(set->s[i], 0) : 0;
	}
	if (!o->nfuncs_probes)
		return;
	if (o->hit_ns >= 0)
		ilog("--func: %d uprobe pair%s; one call of a traced function costs about %.1f us here (calibrated): 10,000 calls/s would take %.0f%% of a CPU; the measured rate is on /api/v1/targets after %.0f s",
		     o->nfuncs_probes, o->nfuncs_probes == 1 ? "" : "s", o->hit_ns / 1e3, o->hit_ns * 1e4 / 1e9 * 100,
		     WINDOW_NS / 1e9);
	else
		ilog("--func: %d uprobe pair%s; their cost per call could not be calibrated; the measured rate is on /api/v1/targets after %.0f s",
		     o->nfuncs_probes, o->nfuncs_probes == 1 ? "" : "s", WINDOW_NS / 1e9);
}

/* ---- the programs ---- */

static void read_progs(struct overhead *o, struct source_set *set)
{
	int fds[MAX_PROGS], n = 0;
	struct prog_stat st[MAX_PROGS];
	struct prog_total tot[MAX_PROGS];
	int nt = 0, ns;

	o->probe_ns = o->uprobe_ns = o->hits = 0;
	for (int i = 0; i < set->n && n < MAX_PROGS; i++) {
		int k;

		if (!set->ops[i]->progs)
			continue;
		k = set->ops[i]->progs(set->s[i], fds + n, MAX_PROGS - n);
		if (set->ops[i]->uprobe_hits && o->stats_fd < 0) {
			o->hits += set->ops[i]->uprobe_hits(set->s[i]);
		} else if (set->ops[i]->uprobe_hits) {
			struct prog_stat us[MAX_PROGS];
			int nu = progstats__read(fds + n, k, us);

			for (int j = 0; j < nu; j++)
				o->uprobe_ns += us[j].run_ns;
			o->hits += set->ops[i]->uprobe_hits(set->s[i]);
		}
		n += k;
	}
	if (o->stats_fd < 0)
		return;
	ns = progstats__read(fds, n, st);
	for (int i = 0; i < ns; i++) {
		int t = 0;

		o->probe_ns += st[i].run_ns;
		while (t < nt && strcmp(tot[t].name, st[i].name))
			t++;
		if (t == nt) {
			memcpy(tot[nt].name, st[i].name, sizeof(tot[nt].name));
			tot[nt].run_ns = tot[nt].runs = 0;
			nt++;
		}
		tot[t].run_ns += st[i].run_ns;
		tot[t].runs += st[i].runs;
	}
	for (int t = 0; t < nt; t++) {
		const char *v[] = { tot[t].name };

		series__set_total(metrics__series(o->m, FAM_PROBE_CPU, v), tot[t].run_ns);
		series__set_total(metrics__series(o->m, FAM_PROBE_RUNS, v), tot[t].runs);
	}
}

/* ---- the traced processes ---- */

static struct proc_cpu *proc_slot(struct overhead *o, pid_t pid)
{
	for (int i = 0; i < o->nprocs; i++)
		if (o->procs[i].pid == pid)
			return &o->procs[i];
	if (o->nprocs == o->cap) {
		int cap = o->cap ? o->cap * 2 : 16;
		struct proc_cpu *v = realloc(o->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		o->procs = v;
		o->cap = cap;
	}
	memset(&o->procs[o->nprocs], 0, sizeof(o->procs[0]));
	o->procs[o->nprocs].pid = pid;
	o->procs[o->nprocs].pct = -1;
	return &o->procs[o->nprocs++];
}

/* every live target's CPU; a process gone keeps what it used in gone_ticks */
static void read_targets(struct overhead *o, const struct targets *ts)
{
	for (int i = 0; i < o->nprocs; i++)
		o->procs[i].seen = false;
	for (int i = 0; i < ts->n; i++) {
		struct procstat st;
		struct proc_cpu *p;
		uint64_t cpu;

		if (!ts->t[i].alive || procstat__read(ts->t[i].pid, &st) < PROCSTAT_STARTTIME)
			continue;
		cpu = (uint64_t)st.utime + st.stime;
		p = proc_slot(o, ts->t[i].pid);
		if (!p)
			continue;
		if (p->start && p->start != st.starttime) { /* the pid was reused */
			o->gone_ticks += p->now - p->base;
			p->start = 0;
		}
		if (!p->start) {
			p->start = st.starttime;
			/* born during the session: everything it used is traced time */
			p->base = st.starttime >= o->self_start ? 0 : cpu;
			p->win = p->base;
		}
		p->now = cpu < p->base ? p->base : cpu;
		p->seen = true;
	}
	o->target_ticks = o->gone_ticks;
	for (int i = 0; i < o->nprocs;) {
		struct proc_cpu *p = &o->procs[i];

		if (!p->seen) {
			o->gone_ticks += p->now - p->base;
			o->target_ticks += p->now - p->base;
			*p = o->procs[--o->nprocs];
			continue;
		}
		o->target_ticks += p->now - p->base;
		i++;
	}
}

/* ---- the budget ---- */

static void add_shed(struct overhead *o, enum shed_step step, const char *what, double at_s)
{
	size_t at = strlen(o->shed);

	series__add(metrics__series(o->m, FAM_SHED, (const char *[]){ shed_step__name(step) }), 1);
	o->shed_mask |= 1u << step;
	snprintf(o->shed + at, sizeof(o->shed) - at, "%s%s (after %.0f s)", at ? "; " : "", what, at_s);
}

struct try_ctx {
	struct source_set *set;
	char what[256];
};

static int try_step(void *ctx, enum shed_step step)
{
	struct try_ctx *t = ctx;

	t->what[0] = '\0';
	return source_set__shed(t->set, step, t->what, sizeof(t->what));
}

static void judge(struct overhead *o, struct source_set *set, uint64_t now, uint64_t span)
{
	double tick_ns = 1e9 / (double)o->tck;
	struct budget_window w = {
		.probe_ns = o->probe_ns - o->w_probe_ns,
		.uprobe_run_ns = o->uprobe_ns - o->w_uprobe_ns,
		.uprobe_hits = o->hits - o->w_hits,
		.uprobe_hit_ns = o->hit_ns,
		.target_ns = (uint64_t)((double)(o->target_ticks - o->w_target_ticks) * tick_ns),
		.min_target_ns = (uint64_t)(MIN_TARGET_TICKS * tick_ns),
	};
	struct try_ctx t = { .set = set };
	int step;

	for (int i = 0; i < o->nprocs; i++) {
		o->procs[i].pct = (double)(o->procs[i].now - o->procs[i].win) * tick_ns * 100 / (double)span;
		o->procs[i].win = o->procs[i].now;
	}
	o->last_calls_per_s = (double)w.uprobe_hits * 1e9 / (double)span;
	step = budget__step(o->max_pct, &w, &o->left, try_step, &t, &o->last);
	o->judged = true;
	if (o->nfuncs_probes && !o->said_rate && o->stats_fd < 0 && o->hit_ns < 0) {
		o->said_rate = true;
		ilog("--func: %.0f calls/s measured over the first %.0f s (their cost is unknown: not calibrated, no --probe-stats)",
		     o->last_calls_per_s, span / 1e9);
	} else if (o->nfuncs_probes && !o->said_rate) {
		o->said_rate = true;
		ilog("--func: %.0f calls/s measured over the first %.0f s: about %.1f%% of a CPU in uprobes (%s)",
		     o->last_calls_per_s, span / 1e9, (double)(w.uprobe_run_ns + o->last.trap_ns) * 100 / (double)span,
		     o->last.pct >= 0 ? "see /api/v1/targets" : "the traced processes were idle");
	}
	if (step >= 0) {
		elog("overhead budget: the probes used %.1f%% of the traced processes' CPU over the last %.1f s (--max-overhead %g): shedding %s",
		     o->last.pct, span / 1e9, o->max_pct, t.what);
		add_shed(o, step, t.what, (now - o->t0) / 1e9);
	} else if (o->last.over && !o->said_empty) {
		o->said_empty = true;
		elog("overhead budget: the probes still use %.1f%% of the traced processes' CPU (--max-overhead %g) and nothing is left to shed: what remains is the cost of tracing syscalls at all",
		     o->last.pct, o->max_pct);
	}
}

void overhead__tick(struct overhead *o, struct source_set *set, const struct targets *ts)
{
	uint64_t now = mono_ns();

	if (!o || (o->last_read && now - o->last_read < READ_NS))
		return;
	o->last_read = now;
	read_progs(o, set);
	read_targets(o, ts);
	if (!o->win_start) {
		o->win_start = o->t0 = now;
	} else if (now - o->win_start >= WINDOW_NS) {
		judge(o, set, now, now - o->win_start);
		o->win_start = now;
	} else {
		return;
	}
	o->w_probe_ns = o->probe_ns;
	o->w_uprobe_ns = o->uprobe_ns;
	o->w_hits = o->hits;
	o->w_target_ticks = o->target_ticks;
}

void overhead__annotate(struct overhead *o, cJSON *rows)
{
	cJSON *row;

	if (!o)
		return;
	cJSON_ArrayForEach(row, rows)
	{
		cJSON *pid = cJSON_GetObjectItem(row, "pid"), *mode = cJSON_GetObjectItem(row, "mode"), *ov;

		if (!cJSON_IsNumber(pid) || !cJSON_IsString(mode) || strcmp(mode->valuestring, "ebpf"))
			continue;
		for (int i = 0; i < o->nprocs; i++)
			if (o->procs[i].pid == pid->valueint && o->procs[i].pct >= 0)
				cJSON_AddNumberToObject(row, "cpu_percent", o->procs[i].pct);
		if (!o->judged)
			continue;
		/* the session's figures (the probes are not told apart by process) */
		ov = cJSON_AddObjectToObject(row, "overhead");
		cJSON_AddBoolToObject(ov, "probe_stats", o->stats_fd >= 0);
		if (o->stats_fd >= 0 && o->last.pct >= 0)
			cJSON_AddNumberToObject(ov, "probe_cpu_percent_of_targets", o->last.pct);
		else if (o->stats_fd >= 0)
			cJSON_AddNullToObject(ov, "probe_cpu_percent_of_targets");
		cJSON_AddNumberToObject(ov, "window_seconds", WINDOW_NS / 1e9);
		cJSON_AddNumberToObject(ov, "uprobe_calls_per_second", o->last_calls_per_s);
		if (o->hit_ns >= 0)
			cJSON_AddNumberToObject(ov, "uprobe_call_cost_ns", o->hit_ns);
		cJSON_AddNumberToObject(ov, "max_overhead_percent", o->max_pct);
		{
			cJSON *shed = cJSON_AddArrayToObject(ov, "shed");

			for (int s = 0; s < SHED__COUNT; s++)
				if (o->shed_mask & (1u << s))
					cJSON_AddItemToArray(shed, cJSON_CreateString(shed_step__name(s)));
		}
	}
}

const char *overhead__shed_list(struct overhead *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s", o ? o->shed : "");
	return buf;
}
