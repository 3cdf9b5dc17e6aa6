/* expo.c -- exposition: snapshotted families in Prometheus text 0.0.4 or OpenMetrics 1.0.0, and process_*, streamed
 * a series at a time.  Each series' label set is written once into a prefix and copied into each of its lines; the
 * numbers are integers (seconds from whole nanoseconds), formatted without printf. */
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

/* room for @n more bytes; false (and oom) when it cannot be had */
static bool reserve(struct buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

/* the writers below need room reserved first */
static inline char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put(p, lit, sizeof(lit) - 1)
#define U64_MAX_DIGITS 20
#define SECONDS_MAX_LEN (U64_MAX_DIGITS + 10)

static char *put_u64(char *p, uint64_t v)
{
	char tmp[U64_MAX_DIGITS];
	int n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put(p, tmp + sizeof(tmp) - n, n);
}

/* fmt_seconds (hist.h) without printf: "12", "0.0000025" */
static char *put_seconds(char *p, uint64_t ns)
{
	uint64_t frac = ns % 1000000000ull;
	int digits = 9;

	p = put_u64(p, ns / 1000000000ull);
	if (!frac)
		return p;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	*p++ = '.';
	for (int k = digits - 1; k >= 0; k--, frac /= 10)
		p[k] = (char)('0' + frac % 10);
	return p + digits;
}

/* label value escaping per the text format: \\, \", \n (needs 2 * strlen(v) bytes) */
static char *put_escaped(char *p, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"') {
			*p++ = '\\';
			*p++ = *v;
		} else if (*v == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else {
			*p++ = *v;
		}
	}
	return p;
}

struct expo {
	const struct family_def *defs;
	struct hist_bounds bounds;
	bool om;
	expo_next_fn next;
	void *ctx;
	/* the series handed over last, and the next one to format */
	const struct snap *sn;
	int n, i;
	int fam;		     /* theirs, or -1 before the first */
	size_t name_len;	     /* strlen(defs[fam].name) */
	int nlabels;		     /* defs[fam]'s */
	char le[OBS_HIST_SLOTS][32]; /* ",le=\"0.005\"}" without the comma or brace: 0.005 */
	size_t le_len[OBS_HIST_SLOTS];
	struct buf prefix; /* the series' labels: {a="x",b="y" (no closing brace; empty without labels) */
	struct buf out;	   /* formatted, not yet read: out.p[pos..len) */
	size_t pos;
	bool families_done, done;
};

struct expo *expo__new(const struct family_def *defs, const struct hist_bounds *bounds, bool om, expo_next_fn next,
		       void *ctx)
{
	struct expo *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	*e = (struct expo){ .defs = defs, .bounds = *bounds, .om = om, .next = next, .ctx = ctx, .fam = -1 };
	for (int k = 0; k <= bounds->n; k++) {
		if (k < bounds->n)
			fmt_seconds(e->le[k], sizeof(e->le[k]), bounds->ns[k]);
		else
			snprintf(e->le[k], sizeof(e->le[k]), "+Inf");
		e->le_len[k] = strlen(e->le[k]);
	}
	return e;
}

void expo__free(struct expo *e)
{
	if (!e)
		return;
	free(e->prefix.p);
	free(e->out.p);
	free(e);
}

static void put_header(struct expo *e, const struct family_def *fd)
{
	const char *type = fd->type == COUNTER ? "counter" : fd->type == GAUGE ? "gauge" : "histogram";
	const char *suffix = fd->type == COUNTER && !e->om ? "_total" : "";

	/* OpenMetrics names the counter family without _total; 0.0.4 with it */
	bprintf(&e->out, "# HELP %s%s %s\n", fd->name, suffix, fd->help);
	bprintf(&e->out, "# TYPE %s%s %s\n", fd->name, suffix, type);
	if (e->om && strstr(fd->name, "_seconds"))
		bprintf(&e->out, "# UNIT %s seconds\n", fd->name);
}

/* the series' label set into e->prefix; false when out of memory */
static bool make_prefix(struct expo *e, const struct family_def *fd, const struct snap *s)
{
	size_t need = 1;
	char *p;

	for (int l = 0; l < e->nlabels; l++)
		need += strlen(fd->labels[l]) + 2 * strlen(s->values[l]) + 4;
	e->prefix.len = 0;
	if (!reserve(&e->prefix, need))
		return false;
	p = e->prefix.p;
	for (int l = 0; l < e->nlabels; l++) {
		*p++ = l ? ',' : '{';
		p = put(p, fd->labels[l], strlen(fd->labels[l]));
		p = PUT_LIT(p, "=\"");
		p = put_escaped(p, s->values[l]);
		*p++ = '"';
	}
	e->prefix.len = p - e->prefix.p;
	return true;
}

/* name, @suffix, the labels and the closing brace */
static char *put_series(struct expo *e, char *p, const char *suffix, size_t suffix_len)
{
	p = put(p, e->defs[e->fam].name, e->name_len);
	p = put(p, suffix, suffix_len);
	p = put(p, e->prefix.p, e->prefix.len);
	if (e->nlabels)
		*p++ = '}';
	return p;
}

static void put_histogram(struct expo *e, const struct snap *s)
{
	/* per line: name, the longest suffix, labels, le, the count, an exemplar */
	size_t line = e->name_len + 8 + e->prefix.len + 2 + 8 + 32 + U64_MAX_DIGITS + 4;
	size_t ex = e->om && s->ex ? 512 : 0;
	uint64_t cum = 0;
	char *p;

	if (!reserve(&e->out, (size_t)(e->bounds.n + 3) * (line + ex)))
		return;
	p = e->out.p + e->out.len;
	for (int k = 0; k <= e->bounds.n; k++) {
		cum += s->hist.buckets[k];
		p = put(p, e->defs[e->fam].name, e->name_len);
		p = PUT_LIT(p, "_bucket");
		p = put(p, e->prefix.p, e->prefix.len);
		p = e->nlabels ? PUT_LIT(p, ",le=\"") : PUT_LIT(p, "{le=\"");
		p = put(p, e->le[k], e->le_len[k]);
		p = PUT_LIT(p, "\"} ");
		p = put_u64(p, cum);
		if (ex && s->ex[k].trace_id[0]) {
			char v[32];

			int w;

			fmt_seconds(v, sizeof(v), s->ex[k].ns);
			w = snprintf(p, ex, " # {trace_id=\"%.32s\",span_id=\"%.16s\"} %s %.3f", s->ex[k].trace_id,
				     s->ex[k].span_id, v, s->ex[k].ts);
			p += w < 0 ? 0 : w < (int)ex ? w : (int)ex - 1;
		}
		*p++ = '\n';
	}
	p = put_series(e, p, "_sum", 4);
	*p++ = ' ';
	p = put_seconds(p, s->hist.sum_ns);
	*p++ = '\n';
	p = put_series(e, p, "_count", 6);
	*p++ = ' ';
	p = put_u64(p, s->hist.count);
	*p++ = '\n';
	e->out.len = p - e->out.p;
}

/* one series, all its lines, into e->out */
static void put_one(struct expo *e, const struct snap *s)
{
	const struct family_def *fd = &e->defs[e->fam];
	char *p;

	if (!make_prefix(e, fd, s)) {
		e->out.oom = true;
		return;
	}
	if (fd->type == HISTOGRAM) {
		put_histogram(e, s);
	} else if (fd->type == COUNTER) {
		if (!reserve(&e->out, e->name_len + 6 + e->prefix.len + 2 + SECONDS_MAX_LEN + 1))
			return;
		p = put_series(e, e->out.p + e->out.len, "_total", 6);
		*p++ = ' ';
		/* a counter kept in nanoseconds is exposed in seconds */
		p = fd->ns ? put_seconds(p, s->counter) : put_u64(p, s->counter);
		*p++ = '\n';
		e->out.len = p - e->out.p;
	} else {
		char v[64];
		int n = snprintf(v, sizeof(v), "%.17g", s->gauge);

		if (!reserve(&e->out, e->name_len + e->prefix.len + 2 + n + 1))
			return;
		p = put_series(e, e->out.p + e->out.len, "", 0);
		*p++ = ' ';
		p = put(p, v, n);
		*p++ = '\n';
		e->out.len = p - e->out.p;
	}
}

/* process_* for the collector itself, from /proc/self/stat */
static void put_process(struct buf *b, bool om)
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

/* format what comes next into e->out (empty); false at the end */
static bool produce(struct expo *e)
{
	if (e->i < e->n) {
		put_one(e, &e->sn[e->i++]);
		return true;
	}
	if (!e->families_done) {
		enum family_id fam;
		int n = e->next(e->ctx, &fam, &e->sn);

		if (n < 0) {
			e->out.oom = true;
			return true;
		}
		if (n > 0) {
			if ((int)fam != e->fam) {
				e->fam = fam;
				e->name_len = strlen(e->defs[fam].name);
				e->nlabels = family_def__nlabels(&e->defs[fam]);
				put_header(e, &e->defs[fam]);
			}
			e->n = n;
			e->i = 0;
			return true;
		}
		e->families_done = true;
		put_process(&e->out, e->om);
		if (e->om)
			bprintf(&e->out, "# EOF\n");
		return true;
	}
	return false;
}

long expo__read(struct expo *e, char *dst, size_t max)
{
	size_t got = 0;

	while (got < max) {
		if (e->out.oom)
			return -1;
		if (e->pos < e->out.len) {
			size_t k = e->out.len - e->pos < max - got ? e->out.len - e->pos : max - got;

			memcpy(dst + got, e->out.p + e->pos, k);
			e->pos += k;
			got += k;
			continue;
		}
		e->out.len = e->pos = 0;
		if (e->done || !produce(e)) {
			e->done = true;
			break;
		}
	}
	return (long)got;
}
