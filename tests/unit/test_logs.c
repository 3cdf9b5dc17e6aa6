/* test_logs.c -- log records from writes: each line keeps the trace context of its first write, redaction outcomes */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signal/logline.h"
#include "signal/logs.h"

static struct metrics *m;
static struct redactor *red;
static struct logs *l;
static char path[64];

static void setup(void)
{
	static const uint64_t bounds[] = { 1000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 1 };
	struct logs_opts lo;
	char err[128];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_logs.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	m = metrics__new(&mo);
	red = redactor__new(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(red);
	lo = (struct logs_opts){ .metrics = m, .redactor = red, .log_file = path };
	l = logs__new(&lo, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
}

static void teardown(void)
{
	if (l)
		logs__free(l);
	redactor__free(red);
	metrics__free(m);
	unlink(path);
}

/* close the records file and return its text (static) */
static const char *records(void)
{
	static char text[1 << 21];
	FILE *f;
	size_t n;

	logs__tick(l, true);
	logs__poll(l); /* the lines reach the file, and are counted, once per poll */
	logs__free(l);
	l = NULL;
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* the JSON line whose body is @body (static copy), or NULL */
static const char *line_with(const char *text, const char *body)
{
	static char line[4096];
	char needle[256];
	const char *at, *end;

	snprintf(needle, sizeof(needle), "\"body\":\"%s\"}\n", body);
	at = strstr(text, needle);
	if (!at)
		return NULL;
	end = strchr(at, '\n');
	while (at > text && at[-1] != '\n')
		at--;
	snprintf(line, sizeof(line), "%.*s", (int)(end - at), at);
	return line;
}

static long outcome(const char *name)
{
	char *text = metrics__render(m, false, NULL), needle[128], *at;
	long v = 0;

	snprintf(needle, sizeof(needle), "obsprobe_log_records_total{outcome=\"%s\"} ", name);
	at = strstr(text, needle);
	if (at)
		v = strtol(at + strlen(needle), NULL, 10);
	free(text);
	return v;
}

/* a partial line held while more than 4096 other writes happen keeps its own trace and process */
START_TEST(partial_line_keeps_its_tag)
{
	static const uint8_t tid_a[16] = { 0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xaa };
	static const uint8_t sid_a[8] = { 0xa5, 1, 2, 3, 4, 5, 6, 0xa5 };
	static const uint8_t tid_b[16] = { 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xbb };
	static const uint8_t sid_b[8] = { 0xb5, 1, 2, 3, 4, 5, 6, 0xb5 };
	struct span_resource ra = { .service_name = "svc-a", .executable_name = "a.out", .pid = 100 },
			     rb = { .service_name = "svc-b", .executable_name = "b.out", .pid = 200 };
	const char *text, *ln;

	logs__write(l, 100, 100, 1, 1000, "request a: ", 11, true, tid_a, sid_a, &ra);
	for (int i = 0; i < 5000; i++)
		logs__write(l, 200, 200, 1, 2000 + i, "b line\n", 7, true, tid_b, sid_b, &rb);
	logs__write(l, 100, 100, 1, 9000, "done\n", 5, true, NULL, NULL, &ra);
	text = records();
	ln = line_with(text, "request a: done");
	ck_assert_msg(ln != NULL, "no record for the held line");
	ck_assert_msg(strstr(ln, "\"service\":\"svc-a\",\"pid\":100,"), "%s", ln);
	ck_assert_msg(strstr(ln, "\"trace_id\":\"aa0102030405060708090a0b0c0d0eaa\",\"span_id\":\"a5010203040506a5\""),
		      "%s", ln);
	ck_assert_int_eq(outcome("written"), 5001);
}
END_TEST

/* a body whose redacted form outgrows a record is cut and marked, written, counted; no secret leaves */
START_TEST(redaction_cuts_instead_of_dropping)
{
	struct span_resource ra = { .service_name = "svc-a", .executable_name = "a.out", .pid = 100 };
	char line[1100];
	const char *text, *at;
	size_t n = 0;

	while (n < 1020)
		n += snprintf(line + n, sizeof(line) - n, "pwd=x&");
	line[n++] = '\n';
	logs__write(l, 100, 100, 2, 1000, line, n, true, NULL, NULL, &ra);
	logs__write(l, 100, 100, 2, 1001, "after\n", 6, true, NULL, NULL, &ra);
	ck_assert_int_eq(outcome("written"), 0); /* not before the poll writes them */
	logs__poll(l);
	ck_assert_int_eq(outcome("redaction_failed"), 0);
	ck_assert_int_eq(outcome("redaction_truncated"), 1);
	ck_assert_int_eq(outcome("written"), 2);
	text = records();
	at = strstr(text, "\"body\":\"pwd=[REDACTED]&pwd=[REDACTED]&");
	ck_assert_msg(at != NULL, "%.400s", text);
	ck_assert_msg(strstr(at, " [truncated]\"}\n"), "%.1200s", at);
	ck_assert_msg(!strstr(text, "=x"), "a secret left");
	ck_assert_ptr_nonnull(line_with(text, "after"));
}
END_TEST

/* a line cut at LOGLINE_MAX that ends inside a secret the rules only see whole leaves none of it */
START_TEST(cut_line_leaves_no_partial_secret)
{
	static const struct {
		const char *secret, *probe; /* probe: a part that must not appear */
	} cases[] = {
		{ "card 4111 1111 1111 1111 end", "4111 1111" },
		{ "card 4111-1111-1111-1111 end", "4111-1111" },
		{ "mail alice.smith@example.com end", "alice" },
		{ "dsn postgres://admin:S3cretPassw0rd@db:5432/x end", "S3cr" },
		{ "{\"card\":\"4111111111111111\"}", "411111" },
	};
	struct span_resource ra = { .service_name = "svc-a", .executable_name = "a.out", .pid = 100 };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *sec = cases[c].secret;

		/* the cut at 1024 falls at every byte inside the secret */
		for (size_t at = 1; at < strlen(sec); at++) {
			char line[1200];
			size_t pre = LOG_BODY_LEN - sizeof(" [truncated]") - at; /* the body's cut */
			const char *text, *body;

			memset(line, 'x', pre);
			line[pre - 1] = ' ';
			snprintf(line + pre, sizeof(line) - pre, "%s and more words after it to be cut off\n", sec);
			logs__write(l, 100, 100, 1, 1000, line, strlen(line), true, NULL, NULL, &ra);
			text = records();
			body = strstr(text, "\"body\":\"xxxx");
			ck_assert_msg(body != NULL, "%s at %zu: no record: %.300s", sec, at, text);
			ck_assert_msg(!strstr(body, cases[c].probe), "%s cut at %zu: %s", sec, at, body + 1000);
			ck_assert_msg(strstr(body, " [truncated]\"}\n"), "%s at %zu: not marked: %s", sec, at,
				      body + 1000);
			teardown();
			setup();
		}
	}
	/* a line that is one long token keeps all but its last 256 bytes */
	{
		char line[1200];
		const char *body;

		memset(line, 'x', 1100);
		strcpy(line + 1100, "\n");
		logs__write(l, 100, 100, 1, 1000, line, strlen(line), true, NULL, NULL, &ra);
		body = strstr(records(), "\"body\":\"");
		ck_assert_ptr_nonnull(body);
		ck_assert_uint_eq(strlen(body), strlen("\"body\":\"") + LOG_BODY_LEN - sizeof(" [truncated]") - 256 +
							strlen(" [truncated]\"}\n"));
	}
}
END_TEST

/* the exposition holds exactly @line (name{labels} value) */
static bool exposes(const char *line)
{
	char *text = metrics__render(m, false, NULL), needle[256];
	bool found;

	snprintf(needle, sizeof(needle), "\n%s\n", line);
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

static bool mentions(const char *what)
{
	char *text = metrics__render(m, false, NULL);
	bool found = strstr(text, what) != NULL;

	free(text);
	return found;
}

/* the line assembly's counts are metrics: complete, partial (flushed), evicted (257 held at once), exact */
START_TEST(line_counts_are_metrics)
{
	struct span_resource ra = { .service_name = "svc-a", .executable_name = "a.out", .pid = 100 };
	char part[32];

	for (int i = 0; i < 5; i++)
		logs__write(l, 100, 100, 1, 1000 + i, "a line\n", 7, true, NULL, NULL, &ra);
	logs__write(l, 100, 100, 1, 1010, "one ", 4, true, NULL, NULL, &ra);
	logs__write(l, 100, 100, 1, 1011, "line\r\n\n", 7, true, NULL, NULL, &ra); /* the empty one: not a line */
	logs__poll(l);
	ck_assert(exposes("obsprobe_log_lines_total{outcome=\"complete\"} 6"));
	ck_assert(!mentions("obsprobe_log_lines_total{outcome=\"partial\"}")); /* none yet: no series */
	ck_assert(!mentions("obsprobe_log_lines_total{outcome=\"evicted\"}"));
	/* 257 threads each with a line in progress: the oldest goes out early */
	for (int t = 0; t < 257; t++) {
		snprintf(part, sizeof(part), "partial %d", t);
		logs__write(l, 100, 1000 + t, 1, 2000 + t, part, strlen(part), true, NULL, NULL, &ra);
	}
	logs__tick(l, true);
	logs__poll(l);
	logs__poll(l); /* folding twice counts once */
	ck_assert(exposes("# TYPE obsprobe_log_lines_total counter"));
	ck_assert(exposes("obsprobe_log_lines_total{outcome=\"complete\"} 6"));
	ck_assert(exposes("obsprobe_log_lines_total{outcome=\"evicted\"} 1"));
	ck_assert(exposes("obsprobe_log_lines_total{outcome=\"partial\"} 256"));
	ck_assert_int_eq(outcome("written"), 6 + 257);
}
END_TEST

/* a file that takes nothing (/dev/full): every record counted write_failed, none written */
START_TEST(write_errors_are_counted)
{
	struct span_resource ra = { .service_name = "svc-a", .executable_name = "a.out", .pid = 100 };
	struct logs_opts lo = { .metrics = m, .redactor = red, .log_file = "/dev/full" };
	struct logs *full;
	char err[128];

	full = logs__new(&lo, err, sizeof(err));
	ck_assert_msg(full != NULL, "%s", err);
	for (int i = 0; i < 3; i++)
		logs__write(full, 100, 100, 1, 1000 + i, "a line\n", 7, true, NULL, NULL, &ra);
	logs__poll(full);
	ck_assert_int_eq(outcome("write_failed"), 3);
	ck_assert_int_eq(outcome("written"), 0);
	ck_assert_uint_eq(logs__file_failed(full), 3);
	logs__free(full);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, partial_line_keeps_its_tag);
	tcase_add_test(tc, redaction_cuts_instead_of_dropping);
	tcase_add_test(tc, cut_line_leaves_no_partial_secret);
	tcase_add_test(tc, line_counts_are_metrics);
	tcase_add_test(tc, write_errors_are_counted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
