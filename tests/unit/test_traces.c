/* test_traces.c -- span assembly and the 4-tuple join: ids, parents, RED metrics, the span written */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/hex.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

static char path[64];
static struct metrics *m;
static struct redactor *red;
static struct traces *t;
static const struct span_resource res = { .service_name = "svc", .executable_name = "srv", .pid = 2 };
static const struct trace_ctx none;

static void setup(void)
{
	static const uint64_t bounds[] = { 1000000, 1000000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 2 };
	struct traces_opts to;
	char err[128];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_traces.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	m = metrics__new(&mo);
	red = redactor__new(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(red);
	to = (struct traces_opts){ .metrics = m,
				   .redactor = red,
				   .spans_file = path,
				   .host_name = "h",
				   .source = "ebpf",
				   .sample_ratio = 1.0,
				   .max_spans_per_second = 1000 };
	t = traces__new(&to, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
}

static void teardown(void)
{
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	unlink(path);
}

static struct obs_addr v4(uint8_t last, uint16_t port)
{
	return (struct obs_addr){ .family = AF_INET, .port = port, .addr = { 127, 0, 0, last } };
}

static struct obs_exchange exchange(int kind, int pid, int tid, uint64_t start, struct obs_addr local,
				    struct obs_addr peer)
{
	struct obs_exchange x = { .proto = OBS_PROTO_HTTP1,
				  .kind = kind,
				  .pid = pid,
				  .tid = tid,
				  .start_ns = start,
				  .local = local,
				  .peer = peer,
				  .version = 1 };

	strcpy(x.op, "GET");
	strcpy(x.target, "/api/users/42?q=1");
	strcpy(x.host, "b.example:8080");
	return x;
}

static char *spans(void)
{
	static char buf[65536];
	FILE *f;
	size_t n;

	traces__poll(t); /* the span lines are written once per poll */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *hex(const uint8_t *id, size_t len)
{
	static char out[4][33];
	static int i;

	i = (i + 1) % 4;
	hex__encode(out[i], id, len);
	return out[i];
}

static uint64_t hist_count(enum family_id fam, const char *a, const char *b, const char *c)
{
	struct hist h;

	if (!metrics__get_hist(m, fam, (const char *[]){ "svc", a, b, c }, &h))
		return 0;
	return h.count;
}

/* A traced client on this host calls a traced server on the same host: the client's span is the parent of
 * the server's (the 4-tuple, seen from the two ends, joins them); a call the server makes while serving is
 * its child. */
START_TEST(four_tuple_join)
{
	struct obs_exchange cx = exchange(OBS_X_CLIENT, 1, 11, 1000000, v4(1, 40000), v4(2, 8080));
	struct obs_exchange sx = exchange(OBS_X_SERVER, 2, 22, 1000500, v4(2, 8080), v4(1, 40000));
	struct obs_exchange dx = exchange(OBS_X_CLIENT, 2, 22, 1000700, v4(2, 50000), v4(3, 9000));
	uint8_t tid[16], sid[8], zero[8] = { 0 };
	char want[256], *out;

	traces__start_exchange(t, &cx, &none);
	ck_assert(!span__id_is_zero(cx.trace_id, 16) && !span__id_is_zero(cx.span_id, 8));
	ck_assert_mem_eq(cx.parent_id, zero, 8); /* a root */
	ck_assert_int_eq(cx.sampled, 1);
	ck_assert_int_eq(cx.parent_remote, 0);

	traces__start_exchange(t, &sx, &none);
	ck_assert_mem_eq(sx.trace_id, cx.trace_id, 16);
	ck_assert_mem_eq(sx.parent_id, cx.span_id, 8);
	ck_assert(memcmp(sx.span_id, cx.span_id, 8) != 0);
	ck_assert_int_eq(sx.parent_remote, 1);
	ck_assert(traces__current(t, 2, 22, tid, sid));
	ck_assert_mem_eq(tid, sx.trace_id, 16);
	ck_assert_mem_eq(sid, sx.span_id, 8);
	ck_assert(!traces__current(t, 2, 23, tid, sid));

	traces__start_exchange(t, &dx, &none); /* the serving thread calls on */
	ck_assert_mem_eq(dx.trace_id, sx.trace_id, 16);
	ck_assert_mem_eq(dx.parent_id, sx.span_id, 8);
	ck_assert_int_eq(dx.parent_remote, 0);

	dx.status = 200, dx.end_ns = 1000800;
	traces__end_exchange(t, &dx, &res);
	sx.status = 200, sx.end_ns = 1000900;
	traces__end_exchange(t, &sx, &res);
	ck_assert(!traces__current(t, 2, 22, tid, sid)); /* served */
	cx.status = 503, cx.end_ns = 1001000;
	traces__end_exchange(t, &cx, &res);

	ck_assert_uint_eq(hist_count(FAM_HTTP_SERVER_DURATION, "GET", "200", "/api/users/{id}"), 1);
	ck_assert_uint_eq(hist_count(FAM_HTTP_CLIENT_DURATION, "GET", "200", "b.example"), 1);
	ck_assert_uint_eq(hist_count(FAM_HTTP_CLIENT_DURATION, "GET", "503", "b.example"), 1);

	out = spans();
	snprintf(want, sizeof(want), "\"traceId\":\"%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\"",
		 hex(sx.trace_id, 16), hex(sx.span_id, 8), hex(cx.span_id, 8));
	ck_assert_msg(strstr(out, want), "no server span %s in %s", want, out);
	ck_assert(strstr(out, "\"name\":\"GET /api/users/{id}\",\"kind\":2"));
	snprintf(want, sizeof(want), "\"spanId\":\"%s\",\"parentSpanId\":\"%s\"", hex(dx.span_id, 8),
		 hex(sx.span_id, 8));
	ck_assert_msg(strstr(out, want), "no child span %s", want);
	snprintf(want, sizeof(want), "\"traceId\":\"%s\",\"spanId\":\"%s\",\"flags\"", hex(cx.trace_id, 16),
		 hex(cx.span_id, 8));
	ck_assert_msg(strstr(out, want), "no root client span %s", want);
	ck_assert(strstr(out, "\"status\":{\"code\":2}")); /* the client's 503 */
	ck_assert(strstr(out, "\"url.query\""));
}
END_TEST

/* the joined client wins over context headers it passed on; a server request long after the client's
 * is another connection on a reused 4-tuple: the headers decide */
START_TEST(join_beats_headers_within_its_age)
{
	struct obs_exchange cx = exchange(OBS_X_CLIENT, 1, 11, 5000000000ull, v4(1, 40001), v4(2, 8080));
	struct obs_exchange sx = exchange(OBS_X_SERVER, 2, 22, 5000001000ull, v4(2, 8080), v4(1, 40001));
	struct obs_exchange late = exchange(OBS_X_SERVER, 2, 22, 16000000000ull, v4(2, 8080), v4(1, 40001));
	struct trace_ctx hdr = { .valid = 1, .decided = 1, .sampled = 1 };

	memset(hdr.trace_id, 0xab, 16);
	memset(hdr.span_id, 0xcd, 8);
	traces__start_exchange(t, &cx, &none);
	traces__start_exchange(t, &sx, &hdr);
	ck_assert_mem_eq(sx.trace_id, cx.trace_id, 16);
	ck_assert_mem_eq(sx.parent_id, cx.span_id, 8);
	traces__start_exchange(t, &late, &hdr);
	ck_assert_mem_eq(late.trace_id, hdr.trace_id, 16);
	ck_assert_mem_eq(late.parent_id, hdr.span_id, 8);
	ck_assert_int_eq(late.parent_remote, 1);
}
END_TEST

/* no response: no duration, a lost event; an exchange of no registered protocol is ignored */
START_TEST(unanswered_and_unknown)
{
	struct obs_exchange sx = exchange(OBS_X_SERVER, 2, 22, 1000, v4(2, 8080), v4(1, 40002));
	struct traces_stats st;
	size_t len;
	char *text;

	traces__start_exchange(t, &sx, &none);
	sx.end_ns = 2000;
	traces__end_exchange(t, &sx, &res);
	sx.proto = OBS_PROTO_NONE;
	sx.status = 200;
	traces__end_exchange(t, &sx, &res);
	ck_assert_uint_eq(hist_count(FAM_HTTP_SERVER_DURATION, "GET", "200", "/api/users/{id}"), 0);
	traces__stats(t, &st);
	ck_assert_uint_eq(st.incomplete, 1);
	text = metrics__render(m, false, &len);
	ck_assert(strstr(text, "obsprobe_events_lost_total{source=\"ebpf\",reason=\"http_unanswered\"} 1"));
	free(text);
	ck_assert_str_eq(spans(), "");
}
END_TEST

/* --max-spans-per-second 1: of three requests in the same bucket, the first span leaves and is the bucket's
 * exemplar; the two the limit drops leave no exemplar (it would point at a trace nobody has) */
START_TEST(exemplar_only_for_spans_that_leave)
{
	struct traces_opts to = { .metrics = m,
				  .redactor = red,
				  .spans_file = path,
				  .host_name = "h",
				  .source = "ebpf",
				  .sample_ratio = 1.0,
				  .max_spans_per_second = 1 };
	struct obs_exchange sx[3];
	struct traces_stats st;
	char err[128], *text, *ex;
	size_t len;

	traces__free(t);
	t = traces__new(&to, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	for (int i = 0; i < 3; i++) {
		sx[i] = exchange(OBS_X_SERVER, 2, 22, 1000 + i * 10000, v4(2, 8080), v4(1, 40010 + i));
		traces__start_exchange(t, &sx[i], &none);
		sx[i].status = 200;
		sx[i].end_ns = sx[i].start_ns + 5000;
		traces__end_exchange(t, &sx[i], &res);
	}
	traces__stats(t, &st);
	ck_assert_uint_eq(st.rate_limited, 2);
	ck_assert_uint_eq(hist_count(FAM_HTTP_SERVER_DURATION, "GET", "200", "/api/users/{id}"), 3);
	text = metrics__render(m, true, &len);
	ex = strstr(text, "# {trace_id=");
	ck_assert_msg(ex != NULL, "no exemplar in\n%s", text);
	ck_assert(strstr(ex, hex(sx[0].span_id, 8)) != NULL);
	ck_assert(strstr(text, hex(sx[1].span_id, 8)) == NULL);
	ck_assert(strstr(text, hex(sx[2].span_id, 8)) == NULL);
	ck_assert(strstr(ex + 1, "# {trace_id=") == NULL); /* one bucket, one exemplar */
	free(text);
}
END_TEST

/* Exchanges that make no span find their labels' series by what describe() reads (the label memo): repeats count
 * in the right series, a status or a client's host apart, and a target the redactor changes goes through it
 * each time (its redactions are counted per exchange, never remembered away) */
START_TEST(labels_remembered_unless_redacted)
{
	struct traces_opts to = {
		.metrics = m, .redactor = red, .host_name = "h", .source = "ebpf", .sample_ratio = 1.0
	};
	struct redact_stats rs;
	char err[128];

	traces__free(t);
	t = traces__new(&to, err, sizeof(err)); /* no span sink: no exchange builds a span */
	ck_assert_msg(t != NULL, "%s", err);
	for (int i = 0; i < 12; i++) {
		struct obs_exchange x =
			exchange(i < 10 ? OBS_X_SERVER : OBS_X_CLIENT, 2, 22, 1000, v4(2, 8080), v4(1, 40000 + i));

		x.status = i < 5 ? 200 : 500;
		if (i >= 7 && i < 10)
			strcpy(x.target, "/login?user=a&password=hunter2");
		if (i == 11)
			strcpy(x.host, "c.example");
		x.end_ns = 2000;
		traces__end_exchange(t, &x, &res);
	}
	ck_assert_uint_eq(hist_count(FAM_HTTP_SERVER_DURATION, "GET", "200", "/api/users/{id}"), 5);
	ck_assert_uint_eq(hist_count(FAM_HTTP_SERVER_DURATION, "GET", "500", "/api/users/{id}"), 2);
	ck_assert_uint_eq(hist_count(FAM_HTTP_SERVER_DURATION, "GET", "500", "/login"), 3);
	ck_assert_uint_eq(hist_count(FAM_HTTP_CLIENT_DURATION, "GET", "500", "b.example"), 1);
	ck_assert_uint_eq(hist_count(FAM_HTTP_CLIENT_DURATION, "GET", "500", "c.example"), 1);
	redactor__stats(red, &rs);
	ck_assert_uint_eq(rs.redactions, 3);
}
END_TEST

/* a span line counts as exported once it reached --spans-file; one a write error kept out as export_failed */
START_TEST(span_lines_counted_when_written)
{
	struct traces_opts to = { .metrics = m,
				  .redactor = red,
				  .spans_file = "/dev/full",
				  .host_name = "h",
				  .source = "ebpf",
				  .sample_ratio = 1.0,
				  .max_spans_per_second = 1000 };
	struct obs_exchange sx;
	struct traces_stats st;
	char err[128], *text;
	size_t len;

	for (int round = 0; round < 2; round++) { /* the test's file, then /dev/full */
		if (round) {
			traces__free(t);
			t = traces__new(&to, err, sizeof(err));
			ck_assert_msg(t != NULL, "%s", err);
		}
		for (int i = 0; i < 2; i++) {
			sx = exchange(OBS_X_SERVER, 2, 22, 1000 + i * 10000, v4(2, 8080), v4(1, 40020 + i));
			traces__start_exchange(t, &sx, &none);
			sx.status = 200;
			sx.end_ns = sx.start_ns + 5000;
			traces__end_exchange(t, &sx, &res);
		}
		traces__stats(t, &st);
		ck_assert_uint_eq(st.written + st.file_failed, 0); /* nothing out before the poll */
		traces__poll(t);
		traces__stats(t, &st);
		ck_assert_uint_eq(st.written, round ? 0 : 2);
		ck_assert_uint_eq(st.file_failed, round ? 2 : 0);
	}
	text = metrics__render(m, false, &len);
	ck_assert_msg(strstr(text, "obsprobe_spans_total{outcome=\"exported\"} 2\n"), "%s", text);
	ck_assert_msg(strstr(text, "obsprobe_spans_total{outcome=\"export_failed\"} 2\n"), "%s", text);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("traces");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, four_tuple_join);
	tcase_add_test(tc, join_beats_headers_within_its_age);
	tcase_add_test(tc, unanswered_and_unknown);
	tcase_add_test(tc, exemplar_only_for_spans_that_leave);
	tcase_add_test(tc, span_lines_counted_when_written);
	tcase_add_test(tc, labels_remembered_unless_redacted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
