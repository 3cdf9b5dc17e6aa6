/* test_metrics_stream.c -- /metrics as a stream (metrics.h): read in pieces of any size it is the same text as
 * metrics__render; the series are those there were when it began, and the sorted order kept between streams takes in
 * series created later; each series is copied whole (a histogram's +Inf bucket equals its _count) while a writer
 * thread observes during the read. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/metrics.h"

static struct metrics *new_registry(int max_series)
{
	static struct hist_bounds b;
	char err[128];
	struct metrics_opts o;

	ck_assert_int_eq(hist_bounds__parse(&b, "0.000001,0.001,0.5,10", err, sizeof(err)), 0);
	o = (struct metrics_opts){ .bounds_ns = b.ns, .nbounds = b.n, .max_series = max_series };
	return metrics__new(&o);
}

/* the whole stream read @piece bytes at a time (pieces of 1, 2, 3 ... when @piece is 0) */
static char *read_all(struct metrics *m, bool om, size_t piece, size_t *len)
{
	struct metrics_stream *st = metrics__stream(m, om);
	size_t cap = 1 << 20, used = 0, k = 1;
	char *out = malloc(cap);
	long n;

	ck_assert_ptr_nonnull(st);
	for (;;) {
		size_t want = piece ? piece : k++ % 97 + 1;

		if (used + want + 1 > cap)
			ck_assert_ptr_nonnull(out = realloc(out, cap *= 2));
		n = metrics_stream__read(st, out + used, want);
		ck_assert_int_ge(n, 0);
		if (!n)
			break;
		ck_assert_uint_le((size_t)n, want);
		used += n;
	}
	ck_assert_int_eq(metrics_stream__read(st, out, 16), 0); /* stays at the end */
	metrics_stream__free(st);
	out[used] = '\0';
	*len = used;
	return out;
}

/* @text without its process_* lines (they change between two reads) */
static void drop_process(char *text)
{
	char *w = text;

	for (char *r = text; *r;) {
		char *nl = strchr(r, '\n');
		size_t n = nl ? (size_t)(nl - r + 1) : strlen(r);

		if (strncmp(r, "process_", 8) && !memmem(r, n, " process_", 9))
			memmove(w, r, n), w += n;
		r += n;
	}
	*w = '\0';
}

static void fill(struct metrics *m, int from, int to)
{
	char route[64], tid[33];

	for (int i = from; i < to; i++) {
		struct series *s;

		/* created out of order, with characters to escape */
		snprintf(route, sizeof(route), "/r/%d%s", (i * 7919) % 1000, i % 5 ? "" : "\"q\\\n");
		s = metrics__series(m, FAM_HTTP_SERVER_DURATION,
				    (const char *[]){ "svc", i % 2 ? "GET" : "PUT", "200", route });
		series__observe_ns(s, (uint64_t)i * 1000);
		snprintf(tid, sizeof(tid), "%032x", i + 1);
		series__exemplar(s, (uint64_t)i * 1000, tid, "00000000000000aa", 1700000000.5);
		series__add(metrics__series(m, FAM_SYSCALL_ERRORS, (const char *[]){ "svc", "read", route }), i);
	}
	series__set(metrics__series(m, FAM_TCP_ACTIVE, (const char *[]){ "svc", "inbound" }), 2.5);
	series__set_total(metrics__series(m, FAM_EVENTS, (const char *[]){ "ebpf" }), 1);
}

START_TEST(pieces_equal_render)
{
	struct metrics *m = new_registry(1000);

	fill(m, 0, 300);
	for (int om = 0; om < 2; om++) {
		size_t n0, n1, n2;
		char *whole = metrics__render(m, om, &n0), *a = read_all(m, om, 1, &n1), *b = read_all(m, om, 0, &n2);

		ck_assert_ptr_nonnull(whole);
		ck_assert_ptr_nonnull(strstr(whole, "\\\"q\\\\\\n"));
		drop_process(whole), drop_process(a), drop_process(b);
		ck_assert_msg(!strcmp(a, whole), "the texts differ");
		ck_assert_msg(!strcmp(b, whole), "the texts differ");
		ck_assert(!om || strstr(whole, "# {trace_id=\"") != NULL);
		free(whole), free(a), free(b);
	}
	metrics__free(m);
}
END_TEST

START_TEST(series_fixed_at_start_and_order_merged)
{
	struct metrics *m = new_registry(2000), *fresh = new_registry(2000);
	struct metrics_stream *st;
	char buf[256], *x, *y;
	size_t n;

	fill(m, 0, 100);
	x = metrics__render(m, false, &n); /* sorts and keeps the order of the first 100 */
	free(x);
	st = metrics__stream(m, false);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_gt(metrics_stream__read(st, buf, sizeof(buf)), 0);
	fill(m, 100, 250); /* while a stream is open: not in it, merged into the order for the next one */
	{
		char *rest = malloc(1 << 22);
		size_t used = 0;
		long k;

		while ((k = metrics_stream__read(st, rest + used, 65536)) > 0)
			used += k;
		rest[used] = '\0';
		ck_assert_ptr_nonnull(strstr(rest, "http_route=\"/r/919\"")); /* i = 99 */
		ck_assert_ptr_null(strstr(rest, "http_route=\"/r/837\""));    /* i = 101, created after */
		free(rest);
	}
	metrics_stream__free(st);
	fill(fresh, 0, 250); /* the same series, never streamed before: sorted from scratch */
	x = metrics__render(m, false, &n);
	y = metrics__render(fresh, false, &n);
	drop_process(x), drop_process(y);
	ck_assert_msg(!strcmp(x, y), "the texts differ");
	free(x), free(y);
	metrics__free(m);
	metrics__free(fresh);
}
END_TEST

struct writer {
	struct series *s[64];
	atomic_bool stop;
	unsigned long n;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;

	while (!atomic_load(&w->stop)) {
		series__observe_ns(w->s[w->n % 64], (w->n * 7717) % 20000000000ull);
		w->n++;
	}
	return NULL;
}

START_TEST(series_copied_whole_while_written)
{
	struct metrics *m = new_registry(1000);
	struct writer w = { 0 };
	char route[32];
	pthread_t th;

	for (int i = 0; i < 64; i++) {
		snprintf(route, sizeof(route), "/w/%02d", i);
		w.s[i] = metrics__series(m, FAM_HTTP_SERVER_DURATION, (const char *[]){ "svc", "GET", "200", route });
	}
	pthread_create(&th, NULL, writer_run, &w);
	for (int round = 0; round < 50; round++) {
		const char *bucket = "http_server_request_duration_seconds_bucket{",
			   *cnt = "http_server_request_duration_seconds_count{";
		unsigned long inf = 0;
		char *text, *line, *save = NULL;
		size_t len;
		int seen = 0;

		text = read_all(m, round % 2, 0, &len);
		/* a series' +Inf bucket, then its _sum, then its _count */
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, bucket, strlen(bucket)) && strstr(line, ",le=\"+Inf\"} "))
				inf = strtoul(strstr(line, "} ") + 2, NULL, 10);
			if (!strncmp(line, cnt, strlen(cnt))) {
				ck_assert_uint_eq(strtoul(strstr(line, "} ") + 2, NULL, 10), inf);
				seen++;
			}
		}
		ck_assert_int_eq(seen, 64);
		free(text);
	}
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	ck_assert_uint_gt(w.n, 0);
	metrics__free(m);
}
END_TEST

START_TEST(ns_counter_in_seconds)
{
	struct metrics *m = new_registry(10);
	char *text;

	series__add(metrics__series(m, FAM_PROBE_CPU, (const char *[]){ "x" }), 1500000001);
	series__add(metrics__series(m, FAM_PROBE_CPU, (const char *[]){ "y" }), 3000000000);
	series__add(metrics__series(m, FAM_PROBE_RUNS, (const char *[]){ "x" }), 7);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_probe_cpu_seconds_total{program=\"x\"} 1.500000001\n"
					   "obsprobe_probe_cpu_seconds_total{program=\"y\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_probe_runs_total{program=\"x\"} 7\n"));
	free(text);
	metrics__free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics_stream");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pieces_equal_render);
	tcase_add_test(tc, series_fixed_at_start_and_order_merged);
	tcase_add_test(tc, series_copied_whole_while_written);
	tcase_add_test(tc, ns_counter_in_seconds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
