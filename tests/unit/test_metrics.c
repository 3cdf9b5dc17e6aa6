/* test_metrics.c -- registry, overflow folding, exposition format (escaping, ordering, cumulative buckets) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/metrics.h"
#include "signal/names.h"
#include "signal/redact.h"

static struct metrics *new_registry(const char *bounds, int max_series)
{
	static struct hist_bounds b;
	char err[128];
	struct metrics_opts o;

	ck_assert_int_eq(hist_bounds__parse(&b, bounds, err, sizeof(err)), 0);
	o = (struct metrics_opts){ .bounds_ns = b.ns, .nbounds = b.n, .max_series = max_series };
	return metrics__new(&o);
}

START_TEST(histogram_exposition)
{
	struct metrics *m = new_registry("0.001,0.01", 100);
	struct series *s = metrics__series(m, FAM_SYSCALL_DURATION, (const char *[]){ "svc", "read" });
	char *text;

	series__observe_ns(s, 500000);
	series__observe_ns(s, 2000000);
	series__observe_ns(s, 2000000);
	series__observe_ns(s, 50000000);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE obsprobe_syscall_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(
		strstr(text,
		       "obsprobe_syscall_duration_seconds_bucket{service=\"svc\",syscall=\"read\",le=\"0.001\"} 1\n"
		       "obsprobe_syscall_duration_seconds_bucket{service=\"svc\",syscall=\"read\",le=\"0.01\"} 3\n"
		       "obsprobe_syscall_duration_seconds_bucket{service=\"svc\",syscall=\"read\",le=\"+Inf\"} 4\n"
		       "obsprobe_syscall_duration_seconds_sum{service=\"svc\",syscall=\"read\"} 0.0545\n"
		       "obsprobe_syscall_duration_seconds_count{service=\"svc\",syscall=\"read\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(text, "process_resident_memory_bytes "));
	ck_assert_ptr_null(strstr(text, "# EOF"));
	free(text);
	metrics__free(m);
}
END_TEST

START_TEST(add_hist_deltas)
{
	struct metrics *m = new_registry("0.001,0.01", 100);
	const char *v[] = { "svc", "f", "bin" };
	struct series *s = metrics__series(m, FAM_FUNCTION_DURATION, v);
	uint64_t d1[3] = { 2, 0, 1 }, d2[3] = { 0, 5, 0 };
	struct hist h;

	series__add_hist(s, d1, 3, 100);
	series__add_hist(s, d2, 5, 200);
	ck_assert(metrics__get_hist(m, FAM_FUNCTION_DURATION, v, &h));
	ck_assert_uint_eq(h.count, 8);
	ck_assert_uint_eq(h.sum_ns, 300);
	ck_assert_uint_eq(h.buckets[0], 2);
	ck_assert_uint_eq(h.buckets[1], 5);
	ck_assert_uint_eq(h.buckets[2], 1);
	ck_assert(!metrics__get_hist(m, FAM_FUNCTION_DURATION, (const char *[]){ "svc", "g", "bin" }, &h));
	metrics__free(m);
}
END_TEST

START_TEST(escaping_and_order)
{
	struct metrics *m = new_registry("1", 100);
	char *text, *a, *b;

	series__add(metrics__series(m, FAM_SYSCALL_ERRORS, (const char *[]){ "s", "write", "EPIPE" }), 2);
	series__add(metrics__series(m, FAM_SYSCALL_ERRORS, (const char *[]){ "s", "read", "EAGAIN" }), 7);
	series__add(metrics__series(m, FAM_SYSCALL_ERRORS, (const char *[]){ "a\"b\\c\nd", "read", "EAGAIN" }), 1);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_nonnull(
		strstr(text,
		       "obsprobe_syscall_errors_total{service=\"a\\\"b\\\\c\\nd\",syscall=\"read\",errno=\"EAGAIN\"} 1\n"));
	a = strstr(text, "{service=\"s\",syscall=\"read\"");
	b = strstr(text, "{service=\"s\",syscall=\"write\"");
	ck_assert(a && b && a < b);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE obsprobe_syscall_errors_total counter\n"));
	free(text);
	text = metrics__render(m, true, NULL);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE obsprobe_syscall_errors counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n# EOF\n"));
	free(text);
	metrics__free(m);
}
END_TEST

START_TEST(overflow_folds)
{
	struct metrics *m = new_registry("1", 3);
	char name[32], *text;

	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "/path/%d", i);
		series__observe_ns(metrics__series(m, FAM_HTTP_SERVER_DURATION,
						   (const char *[]){ "svc", "GET", "200", name }),
				   1000);
	}
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_nonnull(strstr(
		text,
		"http_server_request_duration_seconds_count{service=\"svc\",http_request_method=\"__overflow__\",http_response_status_code=\"__overflow__\",http_route=\"__overflow__\"} 7\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "obsprobe_series_overflow_total{metric=\"http_server_request_duration_seconds\"} 7\n"));
	ck_assert_ptr_null(strstr(text, "/path/3"));
	free(text);
	metrics__free(m);
}
END_TEST

START_TEST(exemplars_in_openmetrics_only)
{
	struct metrics *m = new_registry("0.001,0.01", 100);
	struct series *s = metrics__series(m, FAM_HTTP_SERVER_DURATION, (const char *[]){ "svc", "GET", "200", "/" });
	char *text;

	series__observe_ns(s, 2000000);
	series__exemplar(s, 2000000, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1700000000.5);
	text = metrics__render(m, true, NULL);
	ck_assert_ptr_nonnull(strstr(
		text,
		"le=\"0.01\"} 1 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.002 1700000000.500\n"));
	free(text);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_null(strstr(text, "trace_id"));
	free(text);
	metrics__free(m);
}
END_TEST

START_TEST(names)
{
	char buf[32];

	ck_assert_str_eq(syscall_name(0, buf, sizeof(buf)), "read");
	ck_assert_str_eq(syscall_name(1, buf, sizeof(buf)), "write");
	ck_assert_str_eq(syscall_name(110, buf, sizeof(buf)), "getppid");
	ck_assert_str_eq(syscall_name(100000, buf, sizeof(buf)), "syscall_100000");
	ck_assert_int_eq(syscall_nr("getppid"), 110);
	ck_assert_int_eq(syscall_nr("nope"), -1);
	ck_assert_str_eq(errno_name(11, buf, sizeof(buf)), "EAGAIN");
	ck_assert_str_eq(errno_name(2, buf, sizeof(buf)), "ENOENT");
	ck_assert_str_eq(errno_name(4000, buf, sizeof(buf)), "E4000");
}
END_TEST

/* the redactor's counts are metrics, by rule and by what became of the text; exact, and folding is idempotent */
START_TEST(redactor_counts_are_metrics)
{
	static const char *const patterns[] = { "ACME-[0-9]+", NULL };
	struct metrics *m = new_registry("0.001", 100);
	char err[128], out[64], *text;
	struct redactor *r = redactor__new(patterns, err, sizeof(err));
	static const char *const texts[] = {
		"GET https://bob:hunter2@db.example/x",	      /* url_credentials */
		"password=hunter2&token=abc",		      /* secret_key x2 */
		"using Bearer eyJhbGciOi.payload.sig now",    /* bearer */
		"mail alice@example.com and bob@example.org", /* email x2 */
		"card 4111 1111 1111 1111",		      /* card */
		"ticket ACME-123 and ACME-456",		      /* pattern x2 */
	};

	ck_assert_msg(r != NULL, "%s", err);
	metrics__fold_redactor(m, r);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_null(strstr(text, "obsprobe_redact")); /* nothing counted: no series */
	free(text);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		ck_assert_int_ge(redact__text(r, texts[i], strlen(texts[i]), out, sizeof(out)), 0);
	/* a text whose redacted form does not fit: cut, counted, its replacements counted too */
	ck_assert_int_eq(redact__text(r, "pwd=1 pwd=2 pwd=3 pwd=4 pwd=5", 29, out, 16), 15);
	metrics__fold_redactor(m, r);
	metrics__fold_redactor(m, r);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE obsprobe_redactions_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redactions_total{rule=\"url_credentials\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redactions_total{rule=\"secret_key\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redactions_total{rule=\"bearer\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redactions_total{rule=\"email\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redactions_total{rule=\"card\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redactions_total{rule=\"pattern\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nobsprobe_redacted_texts_total{outcome=\"truncated\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "outcome=\"failed\""));
	free(text);
	redactor__free(r);
	metrics__free(m);
}
END_TEST

START_TEST(container_labels)
{
	struct metrics_opts o = { .bounds_ns = (const uint64_t[]){ 1000 }, .nbounds = 1, .max_series = 100 };
	struct metrics *off = metrics__new(&o), *m;
	const struct metrics_ctr *a, *a2, *none, *over;
	const char *v[] = { "svc", "GET", "200", "/x" };
	bool folded;
	char *text;

	/* off: no pair is interned, and the families keep their own labels only */
	ck_assert_ptr_null(metrics__ctr(off, "abc", "uid"));
	series__observe_ns(metrics__series_ctr(off, FAM_HTTP_SERVER_DURATION, v, NULL, &folded), 10);
	text = metrics__render(off, false, NULL);
	ck_assert_ptr_nonnull(strstr(text, "http_route=\"/x\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "container_id"));
	free(text);
	metrics__free(off);

	o.container_labels = true;
	o.max_containers = 1;
	m = metrics__new(&o);
	a = metrics__ctr(m, "abc", "uid");
	a2 = metrics__ctr(m, "abc", "uid");
	none = metrics__ctr(m, "", "");
	over = metrics__ctr(m, "def", "");
	ck_assert_ptr_eq(a, a2); /* interned: one per pair */
	ck_assert(!a->folded && !none->folded && over->folded);
	ck_assert_str_eq(over->id, "__overflow__");
	ck_assert_ptr_eq(metrics__ctr(m, "abc", "uid"), a); /* a known pair stays itself past the cap */
	series__observe_ns(metrics__series_ctr(m, FAM_HTTP_SERVER_DURATION, v, a, &folded), 10);
	ck_assert(!folded);
	series__observe_ns(metrics__series_ctr(m, FAM_HTTP_SERVER_DURATION, v, over, &folded), 10);
	ck_assert(folded);
	series__observe_ns(metrics__series_ctr(m, FAM_HTTP_SERVER_DURATION, v, over, &folded), 10);
	series__observe_ns(metrics__series(m, FAM_HTTP_SERVER_DURATION, v), 10); /* no container: "" */
	series__add_hist(metrics__series_ctr(m, FAM_SYSCALL_DURATION, (const char *[]){ "svc", "read" }, a, &folded),
			 (const uint64_t[]){ 1, 0 }, 1, 10);
	text = metrics__render(m, false, NULL);
	ck_assert_ptr_nonnull(strstr(text, "http_route=\"/x\",container_id=\"abc\",k8s_pod_uid=\"uid\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "http_route=\"/x\",container_id=\"__overflow__\",k8s_pod_uid=\"__overflow__\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "http_route=\"/x\",container_id=\"\",k8s_pod_uid=\"\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "obsprobe_series_overflow_total{metric=\"http_server_request_duration_seconds\"} 2\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "obsprobe_syscall_duration_seconds_count{service=\"svc\",syscall=\"read\"} 1\n"));
	free(text);
	metrics__free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, histogram_exposition);
	tcase_add_test(tc, add_hist_deltas);
	tcase_add_test(tc, escaping_and_order);
	tcase_add_test(tc, overflow_folds);
	tcase_add_test(tc, exemplars_in_openmetrics_only);
	tcase_add_test(tc, names);
	tcase_add_test(tc, redactor_counts_are_metrics);
	tcase_add_test(tc, container_labels);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
