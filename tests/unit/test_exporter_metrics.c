/* test_exporter_metrics.c -- the exporter's metrics signal against tests/otlp/receiver.py on loopback: periodic pushes
 * and the one at shutdown, retries, failures and partial success counted in data points */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export/exporter.h"

#define RECEIVER "tests/otlp/receiver.py"
#define NPOINTS 5

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

struct receiver {
	pid_t pid;
	char dir[64];
	char url[128];
};

static void receiver_start(struct receiver *r, const char *const *extra)
{
	char portfile[128];
	const char *argv[32] = { "python3", RECEIVER, "--dir", NULL, "--port-file", NULL, "--max-seconds", "30" };
	int argc = 8, port = 0;
	FILE *f;

	ck_assert_msg(access(RECEIVER, R_OK) == 0, RECEIVER " missing: run the test from the repository root");
	strcpy(r->dir, "/tmp/test_exporter_metrics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(portfile, sizeof(portfile), "%s/port", r->dir);
	argv[3] = r->dir;
	argv[5] = portfile;
	for (; extra && *extra && argc < 30; extra++)
		argv[argc++] = *extra;
	r->pid = fork();
	ck_assert_int_ge(r->pid, 0);
	if (r->pid == 0) {
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 100 && !port; i++) { /* up to 5 s */
		if ((f = fopen(portfile, "r"))) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (!port)
			sleep_ms(50);
	}
	ck_assert_msg(port > 0, "receiver did not start");
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", port);
}

static void receiver_stop(struct receiver *r)
{
	char cmd[128];
	int st;

	kill(r->pid, SIGTERM);
	waitpid(r->pid, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* requests.log lines for /v1/metrics with @status (0 = any) */
static int metric_requests(const struct receiver *r, int status)
{
	char path[128], line[256], p[64];
	int n = 0, st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/requests.log", r->dir);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &st, p) == 2 && !strcmp(p, "/v1/metrics") && (!status || st == status))
			n++;
	fclose(f);
	return n;
}

/* the body of the last accepted metrics push ("" when none) */
static void last_body(const struct receiver *r, char *out, size_t len)
{
	char path[192];
	struct dirent *d;
	int best = 0, k;
	DIR *dir = opendir(r->dir);
	FILE *f;

	out[0] = '\0';
	ck_assert_ptr_nonnull(dir);
	while ((d = readdir(dir)))
		if (sscanf(d->d_name, "%d-metrics.bin", &k) == 1 && strstr(d->d_name, "-metrics.bin") && k > best)
			best = k;
	closedir(dir);
	if (!best)
		return;
	snprintf(path, sizeof(path), "%s/%d-metrics.bin", r->dir, best);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	out[fread(out, 1, len - 1, f)] = '\0';
	fclose(f);
}

/* the producer: a body naming the call, NPOINTS data points */
struct producer {
	int calls;
	bool stopping; /* set by the test before exporter__shutdown */
};

static int collect(void *ctx, struct otlp_buf *out, bool json, const struct otlp_host *host, size_t *npoints)
{
	struct producer *p = ctx;
	char tmp[64];
	int n;

	(void)json;
	(void)host;
	n = snprintf(tmp, sizeof(tmp), "push %d%s", ++p->calls, p->stopping ? " final" : "");
	*npoints = NPOINTS;
	return otlp_buf__append(out, tmp, (size_t)n);
}

static struct exporter *start(struct receiver *r, struct producer *p, int interval_ms, int max_attempts)
{
	struct exporter_opts o = { .endpoint = r->url,
				   .no_gzip = true,
				   .backoff_ms = 20,
				   .max_attempts = max_attempts,
				   .metrics_collect = collect,
				   .metrics_ctx = p,
				   .metrics_interval_ms = interval_ms };
	struct exporter *e = exporter__new(&o);

	ck_assert_ptr_nonnull(e);
	return e;
}

static void stop(struct exporter *e, struct producer *p, struct exporter_stats *st)
{
	p->stopping = true;
	exporter__shutdown(e);
	exporter__stats(e, st);
}

START_TEST(periodic_pushes_then_one_at_shutdown)
{
	struct producer p = { 0 };
	struct exporter_stats st = { 0 };
	struct receiver r;
	struct exporter *e;
	char body[256], want[64];

	receiver_start(&r, NULL);
	e = start(&r, &p, 100, 0);
	for (int i = 0; i < 300 && st.metric_pushes < 2; i++) { /* bounded: 3 s */
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	ck_assert_uint_ge(st.metric_pushes, 2);
	stop(e, &p, &st);
	ck_assert_uint_eq(st.metric_pushes, (uint64_t)p.calls);
	ck_assert_uint_eq(st.metric_points_exported, (uint64_t)p.calls * NPOINTS);
	ck_assert_uint_eq(st.metric_points_export_failed, 0);
	ck_assert_int_eq(metric_requests(&r, 200), p.calls);
	last_body(&r, body, sizeof(body));
	snprintf(want, sizeof(want), "push %d final", p.calls);
	ck_assert_str_eq(body, want);
	exporter__free(e);
	receiver_stop(&r);
}
END_TEST

/* no spans, no logs, a long interval: exactly the push at shutdown */
START_TEST(metrics_only_pushes_once_at_shutdown)
{
	struct producer p = { 0 };
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;
	char body[256];

	receiver_start(&r, NULL);
	e = start(&r, &p, 3600000, 0);
	stop(e, &p, &st);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_uint_eq(st.metric_points_exported, NPOINTS);
	ck_assert_uint_eq(st.spans_exported + st.logs_exported, 0);
	ck_assert_int_eq(metric_requests(&r, 0), 1);
	last_body(&r, body, sizeof(body));
	ck_assert_str_eq(body, "push 1 final");
	exporter__free(e);
	receiver_stop(&r);
}
END_TEST

START_TEST(retries_503_then_delivers)
{
	const char *args[] = { "--fail", "2", "--status", "503", NULL };
	struct producer p = { 0 };
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;

	receiver_start(&r, args);
	e = start(&r, &p, 3600000, 0);
	stop(e, &p, &st);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_uint_eq(st.retries, 2);
	ck_assert_uint_eq(st.metric_points_exported, NPOINTS);
	ck_assert_uint_eq(st.metric_points_export_failed, 0);
	ck_assert_int_eq(metric_requests(&r, 503), 2);
	ck_assert_int_eq(metric_requests(&r, 200), 1);
	exporter__free(e);
	receiver_stop(&r);
}
END_TEST

START_TEST(gives_up_and_counts_the_points)
{
	const char *args[] = { "--fail", "1000", "--status", "503", NULL };
	struct producer p = { 0 };
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;

	receiver_start(&r, args);
	e = start(&r, &p, 3600000, 2);
	stop(e, &p, &st);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_uint_eq(st.metric_points_exported, 0);
	ck_assert_uint_eq(st.metric_points_export_failed, NPOINTS);
	ck_assert_int_eq(metric_requests(&r, 503), 2);
	exporter__free(e);
	receiver_stop(&r);
}
END_TEST

START_TEST(partial_success_rejects_points)
{
	const char *args[] = { "--partial", "2", NULL };
	struct producer p = { 0 };
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;

	receiver_start(&r, args);
	e = start(&r, &p, 3600000, 0);
	stop(e, &p, &st);
	ck_assert_uint_eq(st.metric_points_exported, NPOINTS - 2);
	ck_assert_uint_eq(st.metric_points_export_failed, 2);
	exporter__free(e);
	receiver_stop(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exporter_metrics");
	TCase *tc = tcase_create("push");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, periodic_pushes_then_one_at_shutdown);
	tcase_add_test(tc, metrics_only_pushes_once_at_shutdown);
	tcase_add_test(tc, retries_503_then_delivers);
	tcase_add_test(tc, gives_up_and_counts_the_points);
	tcase_add_test(tc, partial_success_rejects_points);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
