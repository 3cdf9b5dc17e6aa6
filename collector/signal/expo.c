/* expo.c -- exposition: snapshotted families in Prometheus text 0.0.4 or OpenMetrics 1.0.0, and process_* */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procstat.h"
#include "signal/expo.h"

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		{
			size_t cap = b->cap * 2 + n + 1;
			char *p = realloc(b->p, cap);

			if (!p) {
				b->oom = true;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

/* label value escaping per the text format: \\, \", \n */
static void put_escaped(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			bprintf(b, "\\\\");
		else if (*v == '"')
			bprintf(b, "\\\"");
		else if (*v == '\n')
			bprintf(b, "\\n");
		else
			bprintf(b, "%c", *v);
	}
}

static void put_labels(struct buf *b, const struct family_def *fd, const struct snap *s, const char *le)
{
	bool any = false;

	for (int l = 0; l < METRICS_MAX_LABELS && fd->labels[l]; l++) {
		bprintf(b, "%s%s=\"", any ? "," : "{", fd->labels[l]);
		put_escaped(b, s->values[l]);
		bprintf(b, "\"");
		any = true;
	}
	if (le) {
		bprintf(b, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (any)
		bprintf(b, "}");
}

static int snap_cmp(const void *a, const void *b, void *arg)
{
	int nlabels = *(const int *)arg;
	const struct snap *x = a, *y = b;

	for (int l = 0; l < nlabels; l++) {
		int c = strcmp(x->values[l], y->values[l]);

		if (c)
			return c;
	}
	return 0;
}

static void put_double(struct buf *b, double v)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%.17g", v);
	bprintf(b, "%s", tmp);
}

static void render_family(const struct family_def *fd, const struct hist_bounds *bounds, struct buf *b, int nlabels,
			  struct snap *sn, int n, bool om)
{
	const char *type = fd->type == COUNTER ? "counter" : fd->type == GAUGE ? "gauge" : "histogram";
	const char *suffix = fd->type == COUNTER ? "_total" : "";

	if (!n)
		return;
	/* OpenMetrics names the counter family without _total; 0.0.4 with it */
	bprintf(b, "# HELP %s%s %s\n", fd->name, om ? "" : suffix, fd->help);
	bprintf(b, "# TYPE %s%s %s\n", fd->name, om ? "" : suffix, type);
	if (om && strstr(fd->name, "_seconds"))
		bprintf(b, "# UNIT %s seconds\n", fd->name);
	qsort_r(sn, n, sizeof(*sn), snap_cmp, &nlabels);

	for (int i = 0; i < n; i++) {
		const struct snap *p = &sn[i];

		if (fd->type == COUNTER) {
			bprintf(b, "%s_total", fd->name);
			put_labels(b, fd, p, NULL);
			if (fd->ns) {
				char v[32];

				fmt_seconds(v, sizeof(v), p->counter);
				bprintf(b, " %s\n", v);
			} else {
				bprintf(b, " %llu\n", (unsigned long long)p->counter);
			}
		} else if (fd->type == GAUGE) {
			bprintf(b, "%s", fd->name);
			put_labels(b, fd, p, NULL);
			bprintf(b, " ");
			put_double(b, p->gauge);
			bprintf(b, "\n");
		} else {
			uint64_t cum = 0;
			char le[32], sum[32];

			for (int k = 0; k <= bounds->n; k++) {
				cum += p->hist.buckets[k];
				if (k < bounds->n)
					fmt_seconds(le, sizeof(le), bounds->ns[k]);
				else
					snprintf(le, sizeof(le), "+Inf");
				bprintf(b, "%s_bucket", fd->name);
				put_labels(b, fd, p, le);
				bprintf(b, " %llu", (unsigned long long)cum);
				if (om && p->ex && p->ex[k].trace_id[0]) {
					char v[32];

					fmt_seconds(v, sizeof(v), p->ex[k].ns);
					bprintf(b, " # {trace_id=\"%s\",span_id=\"%s\"} %s %.3f", p->ex[k].trace_id,
						p->ex[k].span_id, v, p->ex[k].ts);
				}
				bprintf(b, "\n");
			}
			fmt_seconds(sum, sizeof(sum), p->hist.sum_ns);
			bprintf(b, "%s_sum", fd->name);
			put_labels(b, fd, p, NULL);
			bprintf(b, " %s\n", sum);
			bprintf(b, "%s_count", fd->name);
			put_labels(b, fd, p, NULL);
			bprintf(b, " %llu\n", (unsigned long long)p->hist.count);
		}
	}
}

/* process_* for the collector itself, from /proc/self/stat */
static void render_process(struct buf *b, bool om)
{
	struct procstat st;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	double boot = 0;
	char line[1024];
	FILE *f;

	if (procstat__read(0, &st) < PROCSTAT_RSS)
		return;
	f = fopen("/proc/stat", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %lf", &boot) == 1)
				break;
		fclose(f);
	}
	bprintf(b, "# HELP process_cpu_seconds%s Total user and system CPU time spent in seconds.\n",
		om ? "" : "_total");
	bprintf(b, "# TYPE process_cpu_seconds%s counter\n", om ? "" : "_total");
	bprintf(b, "process_cpu_seconds_total %.2f\n", (double)(st.utime + st.stime) / tck);
	bprintf(b, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
	bprintf(b, "# TYPE process_resident_memory_bytes gauge\n");
	bprintf(b, "process_resident_memory_bytes %ld\n", st.rss * page);
	bprintf(b, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n");
	bprintf(b, "# TYPE process_start_time_seconds gauge\n");
	bprintf(b, "process_start_time_seconds %.2f\n", boot + (double)st.starttime / tck);
}

char *expo__render(const struct family_def *defs, struct snap *const *sn, const int *n,
		   const struct hist_bounds *bounds, bool om, size_t *len)
{
	struct buf b = { .cap = 16384 };

	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = '\0';
	for (int f = 0; f < FAM__COUNT; f++)
		render_family(&defs[f], bounds, &b, metrics__nlabels(f), sn[f], n[f], om);
	render_process(&b, om);
	if (om)
		bprintf(&b, "# EOF\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}
