/* scrape_bench.c -- the time of one /metrics render with many histogram series, and how long a writer (the
 * capture side, series__observe_ns) waits while scrapes run.  The registry is filled as a traced server with N
 * distinct routes fills it (service, method, status, route; default buckets; an exemplar per series), plus a
 * syscall family; a writer thread observes into random series for the whole run.
 *
 * Each scrape is read as /metrics reads it (metrics.h's stream into a 64 KiB buffer). NO_WRITER=1: no writer.
 * Built with -DWHOLE_RENDER against an older tree, it times metrics__render, what /metrics did before the stream.
 *
 * usage: scrape_bench [SERIES] [SCRAPES]
 * prints "series N lines L bytes B text_ms_median X om_ms_median Y max_observe_wait_us W without_scrapes_us I
 * observed O rss_kb R hwm_kb H text_cpu_ms C om_cpu_ms D max_lock_wait_us L": W the writer's longest single
 * observation while scrapes ran, I its longest while none ran (as long: the machine's own noise), C and D the median
 * CPU time of a scrape, L the longest observation in which the writer slept on the registry lock while scrapes ran
 * (W can be a preemption: two vCPUs, the scrape taking one) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "signal/metrics.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

struct writer {
	struct series **s;
	int n;
	atomic_bool stop;
	double max_wait;  /* the longest single observation */
	double max_block; /* the longest one in which the writer slept (the registry lock was held by another) */
	unsigned long observed;
};

/* the capture side: one observation at a time, the worst single call remembered */
static void *writer_run(void *arg)
{
	struct writer *w = arg;
	unsigned x = 12345;

	while (!atomic_load(&w->stop)) {
		double t0, dt;

		struct rusage r0, r1;

		x = x * 1103515245u + 12345u;
		getrusage(RUSAGE_THREAD, &r0);
		t0 = now_s();
		series__observe_ns(w->s[(x >> 8) % w->n], 1000 + (x >> 12) % 5000000);
		dt = now_s() - t0;
		getrusage(RUSAGE_THREAD, &r1);
		if (dt > w->max_wait)
			w->max_wait = dt;
		/* a voluntary switch inside the call: it slept on the lock (a preemption is an involuntary one) */
		if (r1.ru_nvcsw > r0.ru_nvcsw && dt > w->max_block)
			w->max_block = dt;
		/* about 500,000 a second at most: far above a collector's event rate, yet the lock is mostly free */
		if (++w->observed % 64 == 0)
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void status_kb(const char *key, long *out)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*out = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			*out = atol(line + strlen(key));
	fclose(f);
}

/* one scrape as /metrics makes it: the stream read into the server's 64 KiB buffer; @lines counted when asked.
 * Returns the wall time, *@cpu the thread's CPU time (what the wall time is without this VM's preemption). */
static double scrape(struct metrics *m, bool om, size_t *len, long *lines, double *cpu)
{
	static char block[64 * 1024];
	double t0 = now_s(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
#ifdef WHOLE_RENDER /* a tree before the stream: /metrics was metrics__render, the whole text at once */
	char *text = metrics__render(m, om, len);

	(void)block;
	if (!text)
		exit(1);
	for (size_t k = 0; lines && k < *len; k++)
		*lines += text[k] == '\n';
	free(text);
#else
	struct metrics_stream *st = metrics__stream(m, om);
	long n;

	*len = 0;
	while (st && (n = metrics_stream__read(st, block, sizeof(block))) > 0) {
		*len += n;
		for (long k = 0; lines && k < n; k++)
			*lines += block[k] == '\n';
	}
	if (!st || n < 0) {
		fprintf(stderr, "scrape_bench: out of memory\n");
		exit(1);
	}
	metrics_stream__free(st);
#endif
	*cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return now_s() - t0;
}

/* median wall time, and in *@cpu the median CPU time */
static double median_scrape(struct metrics *m, bool om, int scrapes, double *cpu)
{
	double *t = calloc(2 * scrapes, sizeof(*t)), *c = t + scrapes, med;
	size_t len;

	for (int i = 0; i < scrapes; i++)
		t[i] = scrape(m, om, &len, NULL, &c[i]);
	qsort(t, scrapes, sizeof(*t), cmp_double);
	qsort(c, scrapes, sizeof(*c), cmp_double);
	med = t[scrapes / 2];
	*cpu = c[scrapes / 2];
	free(t);
	return med;
}

int main(int argc, char **argv)
{
	int nseries = argc > 1 ? atoi(argv[1]) : 10000, scrapes = argc > 2 ? atoi(argv[2]) : 11;
	struct hist_bounds b;
	char err[128], route[64], tid[33], sid[17];
	struct metrics_opts mo;
	struct metrics *m;
	struct writer w = { 0 };
	pthread_t th;
	double text_ms, om_ms, t0, nap, idle_wait, cpu[2];
	size_t len = 0;
	long lines = 0, rss, hwm;

	if (nseries < 1 || scrapes < 1 || hist_bounds__parse(&b, OBS_DEFAULT_BUCKETS, err, sizeof(err))) {
		fprintf(stderr, "usage: scrape_bench [SERIES] [SCRAPES]\n");
		return 2;
	}
	mo = (struct metrics_opts){ .bounds_ns = b.ns, .nbounds = b.n, .max_series = nseries * 2 };
	m = metrics__new(&mo);
	w.s = calloc(nseries, sizeof(*w.s));
	if (!m || !w.s)
		return 1;
	for (int i = 0; i < nseries; i++) {
		snprintf(route, sizeof(route), "/t/w%d", i);
		w.s[i] = metrics__series(m, FAM_HTTP_SERVER_DURATION,
					 (const char *[]){ "python3", "GET", "200", route });
		for (int k = 0; k < 3; k++)
			series__observe_ns(w.s[i], 20000 + (uint64_t)i * 97 + k * 1000003);
		snprintf(tid, sizeof(tid), "%032x", i + 1);
		snprintf(sid, sizeof(sid), "%016x", i + 1);
		series__exemplar(w.s[i], 20000 + (uint64_t)i * 97, tid, sid, 1765000000.123);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(route, sizeof(route), "sys%d", i);
		series__observe_ns(metrics__series(m, FAM_SYSCALL_DURATION, (const char *[]){ "python3", route }),
				   1500);
	}
	w.n = nseries;
	if (getenv("NO_WRITER"))
		atomic_store(&w.stop, true);
	pthread_create(&th, NULL, writer_run, &w);
	/* the writer alone first, as long as the scrapes will take: its longest wait without them (preemption) */
	t0 = now_s();
	scrape(m, true, &len, NULL, &cpu[0]);
	scrape(m, false, &len, &lines, &cpu[0]);
	nap = (now_s() - t0) * scrapes;
	w.max_wait = 0;
	nanosleep(&(struct timespec){ (time_t)nap, (long)((nap - (time_t)nap) * 1e9) }, NULL);
	idle_wait = w.max_wait;
	w.max_wait = w.max_block = 0;
	text_ms = median_scrape(m, false, scrapes, &cpu[0]) * 1e3;
	om_ms = median_scrape(m, true, scrapes, &cpu[1]) * 1e3;
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	status_kb("VmRSS:", &rss);
	status_kb("VmHWM:", &hwm);
	printf("series %d lines %ld bytes %zu text_ms_median %.1f om_ms_median %.1f max_observe_wait_us %.0f "
	       "without_scrapes_us %.0f observed %lu rss_kb %ld hwm_kb %ld text_cpu_ms %.1f om_cpu_ms %.1f "
	       "max_lock_wait_us %.0f\n",
	       nseries, lines, len, text_ms, om_ms, w.max_wait * 1e6, idle_wait * 1e6, w.observed, rss, hwm,
	       cpu[0] * 1e3, cpu[1] * 1e3, w.max_block * 1e6);
	free(w.s);
	metrics__free(m);
	return 0;
}
