/* summary.c -- a readable exit summary, in the manner of bcc's funclatency */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "signal/summary.h"

struct row {
	char name[160];
	struct hist h;
};

struct rows {
	struct row *v;
	int n, cap;
	int name_label;	  /* which label names the row */
	int object_label; /* -1, or a label appended as " (obj)" */
};

static void collect(void *ctx, const char *const *values, const struct hist *h)
{
	struct rows *r = ctx;

	if (!h->count)
		return;
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 32;
		struct row *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return;
		r->v = v;
		r->cap = cap;
	}
	if (r->object_label >= 0)
		snprintf(r->v[r->n].name, sizeof(r->v[r->n].name), "%s (%s)", values[r->name_label],
			 values[r->object_label]);
	else
		snprintf(r->v[r->n].name, sizeof(r->v[r->n].name), "%s", values[r->name_label]);
	r->v[r->n].h = *h;
	r->n++;
}

static int by_total_time(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->h.sum_ns < y->h.sum_ns ? 1 : x->h.sum_ns > y->h.sum_ns ? -1 : strcmp(x->name, y->name);
}

static void fmt_dur(char *buf, size_t len, uint64_t ns)
{
	if (ns == UINT64_MAX)
		snprintf(buf, len, "+Inf");
	else if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.4gus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.4gms", ns / 1e6);
	else
		snprintf(buf, len, "%.4gs", ns / 1e9);
}

static void print_hist(FILE *out, const struct hist *h, const struct hist_bounds *b)
{
	uint64_t max = 0;
	int first = -1, last = -1;

	for (int i = 0; i <= b->n; i++) {
		if (h->buckets[i] > max)
			max = h->buckets[i];
		if (h->buckets[i]) {
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (first < 0)
		return;
	fprintf(out, "      %21s : %-10s distribution\n", "le", "count");
	for (int i = first; i <= last; i++) {
		char lo[16], hi[16], stars[41];
		int nstars = max ? (int)((h->buckets[i] * 40 + max - 1) / max) : 0;

		fmt_dur(lo, sizeof(lo), i ? b->ns[i - 1] : 0);
		fmt_dur(hi, sizeof(hi), i < b->n ? b->ns[i] : UINT64_MAX);
		memset(stars, '*', nstars);
		stars[nstars] = '\0';
		fprintf(out, "      %9s -> %-8s : %-10llu |%-40s|\n", lo, hi, (unsigned long long)h->buckets[i], stars);
	}
}

static void print_rows(FILE *out, const char *title, struct rows *r, int limit, const struct hist_bounds *b)
{
	if (!r->n)
		return;
	qsort(r->v, r->n, sizeof(*r->v), by_total_time);
	fprintf(out, "\n%s\n", title);
	for (int i = 0; i < r->n && i < limit; i++) {
		char p50[16], p99[16], avg[16];
		const struct hist *h = &r->v[i].h;

		fmt_dur(p50, sizeof(p50), hist__quantile_bound(h, b, 0.50));
		fmt_dur(p99, sizeof(p99), hist__quantile_bound(h, b, 0.99));
		fmt_dur(avg, sizeof(avg), h->sum_ns / h->count);
		fprintf(out, "  %-40s count %-10llu avg %-9s p50 <= %-9s p99 <= %s\n", r->v[i].name,
			(unsigned long long)h->count, avg, p50, p99);
		print_hist(out, h, b);
	}
	if (r->n > limit)
		fprintf(out, "  (%d more; all of them are on /metrics)\n", r->n - limit);
}

void summary__print(FILE *out, struct metrics *m, int top_syscalls, const struct summary_totals *t)
{
	const struct hist_bounds *b = metrics__bounds(m);
	struct rows fn = { .name_label = 1, .object_label = 2 };
	struct rows kf = { .name_label = 1, .object_label = -1 };
	struct rows sc = { .name_label = 1, .object_label = -1 };

	metrics__foreach_hist(m, FAM_FUNCTION_DURATION, collect, &fn);
	metrics__foreach_hist(m, FAM_KFUNC_DURATION, collect, &kf);
	metrics__foreach_hist(m, FAM_SYSCALL_DURATION, collect, &sc);
	fprintf(out, "\nobsprobe summary (p50/p99 are bucket upper bounds; histograms are exact)\n");
	print_rows(out, "Functions:", &fn, 1000, b);
	print_rows(out, "Kernel functions:", &kf, 1000, b);
	print_rows(out, "Top syscalls by total time:", &sc, top_syscalls, b);
	if (!fn.n && !kf.n && !sc.n)
		fprintf(out, "  no calls were recorded\n");
	if (t)
		fprintf(out, "\n%llu events recorded, %llu lost%s\n", (unsigned long long)t->events,
			(unsigned long long)t->lost,
			t->lost ? " -- WARNING: some data was dropped (obsprobe_events_lost_total)" : "");
	if (t && t->shed && t->shed[0])
		fprintf(out, "the overhead budget shed (--max-overhead, obsprobe_shed_total): %s\n", t->shed);
	free(fn.v);
	free(kf.v);
	free(sc.v);
}

void summary__warn(const struct summary_totals *t)
{
	if (t->lost)
		elog("WARNING: %llu events were lost (obsprobe_events_lost_total)", (unsigned long long)t->lost);
	if (t->shed && t->shed[0])
		elog("the overhead budget shed (--max-overhead, obsprobe_shed_total): %s", t->shed);
}
