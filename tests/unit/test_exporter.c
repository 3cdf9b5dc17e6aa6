/* test_exporter.c -- the OTLP/HTTP exporter against tests/otlp/receiver.py on loopback: delivery, retries, drops */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "export/exporter.h"
#include "export/otlpresp.h"

#define RECEIVER "tests/otlp/receiver.py"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the receiver --------------------------------------------------------------------------------- */

struct receiver {
	pid_t pid;
	int port;
	char dir[64];
	char url[128];
};

/* extra: receiver.py flags, e.g. {"--fail", "3", NULL} */
static void receiver_start(struct receiver *r, const char *const *extra)
{
	char portfile[128];
	const char *argv[32] = { "python3", RECEIVER, "--dir", NULL, "--port-file", NULL, "--max-seconds", "30" };
	int argc = 8;
	FILE *f;

	ck_assert_msg(access(RECEIVER, R_OK) == 0, RECEIVER " missing: run the test from the repository root");
	strcpy(r->dir, "/tmp/test_exporter.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(portfile, sizeof(portfile), "%s/port", r->dir);
	argv[3] = r->dir;
	argv[5] = portfile;
	for (; extra && *extra && argc < 30; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	r->pid = fork();
	ck_assert_int_ge(r->pid, 0);
	if (r->pid == 0) {
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	r->port = 0;
	for (int i = 0; i < 100 && !r->port; i++) { /* up to 5 s */
		f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &r->port) != 1)
				r->port = 0;
			fclose(f);
		}
		if (!r->port)
			sleep_ms(50);
	}
	ck_assert_msg(r->port > 0, "receiver did not start");
	/* a trailing slash: the exporter must not send //v1/traces (the receiver answers 404 to that) */
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/", r->port);
}

static void receiver_stop(struct receiver *r)
{
	char cmd[128];
	int st;

	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, &st, 0);
		r->pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* lines of DIR/requests.log whose status is @status (0 = all) */
static int requests_with(const struct receiver *r, int status)
{
	char path[128], line[256];
	int n = 0, st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/requests.log", r->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d", &st) == 1 && (!status || st == status))
			n++;
	fclose(f);
	return n;
}

/* ---- decoding what arrived -------------------------------------------------------------------------- */

static uint64_t varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	ck_abort_msg("bad varint");
	return 0;
}

/* Walk the length-delimited fields numbered path[0], path[1], ... down to depth @depth and call
 * @leaf with each field path[depth-1]'s payload.  Any malformed input fails the test. */
static void walk(const uint8_t *p, const uint8_t *end, const unsigned *path, int depth,
		 void (*leaf)(const uint8_t *, size_t, void *), void *arg)
{
	while (p < end) {
		uint64_t key = varint(&p, end), len;
		unsigned field = (unsigned)(key >> 3), wire = key & 7;

		switch (wire) {
		case 0:
			varint(&p, end);
			break;
		case 1:
			p += 8;
			break;
		case 5:
			p += 4;
			break;
		case 2:
			len = varint(&p, end);
			ck_assert_msg(len <= (uint64_t)(end - p), "length past the end");
			if (field == path[0]) {
				if (depth == 1)
					leaf(p, (size_t)len, arg);
				else
					walk(p, p + len, path + 1, depth - 1, leaf, arg);
			}
			p += len;
			break;
		default:
			ck_abort_msg("bad wire type %u", wire);
		}
	}
	ck_assert_msg(p == end, "field past the end");
}

struct names {
	int n;
	int seen[20000]; /* how often "span-<i>" / "log-<i>" arrived */
	int bad;
};

static void count_name(const uint8_t *p, size_t len, void *arg)
{
	struct names *nm = arg;
	char tmp[64];
	int i;

	nm->n++;
	if (len >= sizeof(tmp)) {
		nm->bad++;
		return;
	}
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if ((sscanf(tmp, "span-%d", &i) == 1 || sscanf(tmp, "log-%d", &i) == 1) && i >= 0 && i < 20000)
		nm->seen[i]++;
	else
		nm->bad++;
}

/* span name: Request.resource_spans(1) / ResourceSpans.scope_spans(2) / ScopeSpans.spans(2) / Span.name(5);
 * log body: resource_logs(1) / scope_logs(2) / log_records(2) / body(5) / AnyValue.string_value(1) */
static void decode_pb(const char *body, size_t len, bool logs, struct names *nm)
{
	static const unsigned span_path[] = { 1, 2, 2, 5 }, log_path[] = { 1, 2, 2, 5, 1 };

	walk((const uint8_t *)body, (const uint8_t *)body + len, logs ? log_path : span_path, logs ? 5 : 4, count_name,
	     nm);
}

static void decode_json(const char *body, bool logs, struct names *nm)
{
	cJSON *root = cJSON_Parse(body), *rs, *ss, *it;

	ck_assert_msg(root != NULL, "bad JSON body");
	cJSON_ArrayForEach(rs, cJSON_GetObjectItem(root, logs ? "resourceLogs" : "resourceSpans"))
		cJSON_ArrayForEach(ss, cJSON_GetObjectItem(rs, logs ? "scopeLogs" : "scopeSpans"))
			cJSON_ArrayForEach(it, cJSON_GetObjectItem(ss, logs ? "logRecords" : "spans"))
	{
		cJSON *name = logs ? cJSON_GetObjectItem(cJSON_GetObjectItem(it, "body"), "stringValue")
				   : cJSON_GetObjectItem(it, "name");

		ck_assert(cJSON_IsString(name));
		count_name((const uint8_t *)name->valuestring, strlen(name->valuestring), nm);
	}
	cJSON_Delete(root);
}

/* Decode every body the receiver accepted; returns the number of requests of that kind. */
static int received(const struct receiver *r, bool logs, struct names *nm)
{
	const char *kind = logs ? "-logs." : "-traces.";
	char path[512], *body;
	struct dirent *de;
	int requests = 0;
	size_t len;
	DIR *d = opendir(r->dir);

	ck_assert_ptr_nonnull(d);
	memset(nm, 0, sizeof(*nm));
	while ((de = readdir(d))) {
		const char *ext = strrchr(de->d_name, '.');

		if (!strstr(de->d_name, kind) || !ext || (strcmp(ext, ".bin") && strcmp(ext, ".json")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->dir, de->d_name);
		body = slurp(path, &len);
		if (!strcmp(ext, ".bin"))
			decode_pb(body, len, logs, nm);
		else
			decode_json(body, logs, nm);
		free(body);
		requests++;
	}
	closedir(d);
	return requests;
}

/* every one of 0..n-1 arrived exactly once, nothing else */
static void assert_exactly(const struct names *nm, int n)
{
	ck_assert_int_eq(nm->bad, 0);
	ck_assert_int_eq(nm->n, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(nm->seen[i] == 1, "item %d arrived %d times", i, nm->seen[i]);
}

/* the headers of the first accepted traces request */
static char *first_headers(const struct receiver *r)
{
	char path[256];
	size_t len;

	snprintf(path, sizeof(path), "%s/1-traces.headers", r->dir);
	return slurp(path, &len);
}

static void make_span(struct span *s, int i)
{
	memset(s, 0, sizeof(*s));
	s->trace_id[0] = 0xab;
	s->trace_id[15] = (uint8_t)i;
	s->span_id[0] = 1;
	s->span_id[4] = (uint8_t)(i >> 8);
	s->span_id[7] = (uint8_t)i;
	snprintf(s->name, sizeof(s->name), "span-%d", i);
	s->kind = SPAN_KIND_SERVER;
	s->start_ns = 1700000000000000000ull + (uint64_t)i;
	s->end_ns = s->start_ns + 1000;
	span__copy_str(s->resource.service_name, SPAN_RES_STR_LEN, i % 2 ? "odd" : "even");
	s->resource.pid = 100 + i % 2;
	span__add_str(s, "http.request.method", "GET");
	span__add_int(s, "http.response.status_code", 200);
}

static void make_log(struct log_record *l, int i)
{
	memset(l, 0, sizeof(*l));
	l->time_ns = l->observed_ns = 1700000000000000000ull;
	snprintf(l->body, sizeof(l->body), "log-%d", i);
	l->pid = 7;
	l->tid = 7;
	strcpy(l->stream, "stdout");
	strcpy(l->service, "svc");
}

static struct names nm; /* big: not on the stack */

/* ---- tests ---------------------------------------------------------------------------------------- */

struct pusher {
	struct exporter *e;
	int from, to;
};

static void *push_range(void *arg)
{
	struct pusher *p = arg;
	struct span s;

	for (int i = p->from; i < p->to; i++) {
		make_span(&s, i);
		ck_assert_int_eq(exporter__push_span(p->e, &s), 0);
	}
	return NULL;
}

START_TEST(delivers_every_span_protobuf_gzip)
{
	const char *hdrs[] = { "X-Test-Token=abc=def", "Authorization=Bearer t0k" };
	struct exporter_opts o = {
		.headers = hdrs, .nheaders = 2, .batch_max = 100, .batch_delay_ms = 100, .host_name = "testhost"
	};
	struct pusher p[4];
	pthread_t th[4];
	struct exporter_stats st;
	struct receiver r;
	struct log_record l;
	struct exporter *e;
	char *h;
	int reqs;

	receiver_start(&r, NULL);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int t = 0; t < 4; t++) { /* four capture threads at once */
		p[t] = (struct pusher){ e, t * 250, (t + 1) * 250 };
		pthread_create(&th[t], NULL, push_range, &p[t]);
	}
	for (int i = 0; i < 10; i++) {
		make_log(&l, i);
		ck_assert_int_eq(exporter__push_log(e, &l), 0);
	}
	for (int t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	exporter__shutdown(e);
	exporter__stats(e, &st);
	ck_assert_uint_eq(st.spans_exported, 1000);
	ck_assert_uint_eq(st.spans_queue_full, 0);
	ck_assert_uint_eq(st.spans_export_failed, 0);
	ck_assert_uint_eq(st.logs_exported, 10);
	ck_assert_uint_eq(st.logs_export_failed, 0);
	ck_assert_uint_eq(st.spans_queued, 0);
	ck_assert_uint_eq(st.retries, 0);
	ck_assert_int_eq(st.last_status, 200);
	exporter__free(e);

	reqs = received(&r, false, &nm);
	assert_exactly(&nm, 1000);
	ck_assert_int_ge(reqs, 10); /* at most 100 per request */
	ck_assert_uint_eq(st.requests, (uint64_t)requests_with(&r, 200));
	received(&r, true, &nm);
	assert_exactly(&nm, 10);
	h = first_headers(&r);
	ck_assert_ptr_nonnull(strstr(h, "Content-Type: application/x-protobuf\n"));
	ck_assert_ptr_nonnull(strstr(h, "Content-Encoding: gzip\n"));
	ck_assert_ptr_nonnull(strstr(h, "X-Test-Token: abc=def\n"));
	ck_assert_ptr_nonnull(strstr(h, "Authorization: Bearer t0k\n"));
	ck_assert_ptr_nonnull(strstr(h, "User-Agent: obsprobe/" OBSPROBE_VERSION "\n"));
	free(h);
	ck_assert_int_eq(requests_with(&r, 0), requests_with(&r, 200)); /* no 404 for a doubled slash */
	receiver_stop(&r);
}
END_TEST

START_TEST(delivers_json_without_gzip)
{
	struct exporter_opts o = { .protocol = OTLP_HTTP_JSON, .no_gzip = true, .batch_delay_ms = 50 };
	struct exporter_stats st;
	struct receiver r;
	struct span s;
	struct log_record l;
	struct exporter *e;
	char *h;

	receiver_start(&r, NULL);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 50; i++) {
		make_span(&s, i);
		ck_assert_int_eq(exporter__push_span(e, &s), 0);
	}
	for (int i = 0; i < 5; i++) {
		make_log(&l, i);
		ck_assert_int_eq(exporter__push_log(e, &l), 0);
	}
	exporter__free(e);
	ck_assert_int_eq(received(&r, false, &nm), 1); /* one batch */
	assert_exactly(&nm, 50);
	received(&r, true, &nm);
	assert_exactly(&nm, 5);
	h = first_headers(&r);
	ck_assert_ptr_nonnull(strstr(h, "Content-Type: application/json\n"));
	ck_assert_ptr_null(strstr(h, "Content-Encoding"));
	free(h);
	(void)st;
	receiver_stop(&r);
}
END_TEST

/* a batch that never fills leaves after batch_delay_ms, without a shutdown */
START_TEST(partial_batch_leaves_after_delay)
{
	struct exporter_opts o = { .batch_delay_ms = 300 };
	struct exporter_stats st = { 0 };
	struct receiver r;
	struct span s;
	struct exporter *e;
	double t0, waited;

	receiver_start(&r, NULL);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	t0 = now_s();
	for (int i = 0; i < 3; i++) {
		make_span(&s, i);
		exporter__push_span(e, &s);
	}
	for (int i = 0; i < 300 && st.spans_exported < 3; i++) {
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	waited = now_s() - t0;
	ck_assert_uint_eq(st.spans_exported, 3);
	ck_assert_msg(waited >= 0.28 && waited < 2.0, "sent after %.3f s, batch delay is 0.3 s", waited);
	exporter__free(e);
	received(&r, false, &nm);
	assert_exactly(&nm, 3);
	receiver_stop(&r);
}
END_TEST

START_TEST(retries_503_then_delivers)
{
	const char *args[] = { "--fail", "3", "--status", "503", NULL };
	struct exporter_opts o = { .batch_max = 20, .batch_delay_ms = 60000, .backoff_ms = 50 }; /* one full batch */
	struct exporter_stats st;
	struct receiver r;
	struct span s;
	struct exporter *e;

	receiver_start(&r, args);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 20; i++) {
		make_span(&s, i);
		ck_assert_int_eq(exporter__push_span(e, &s), 0);
	}
	exporter__shutdown(e);
	exporter__stats(e, &st);
	ck_assert_uint_eq(st.spans_exported, 20);
	ck_assert_uint_eq(st.spans_export_failed, 0);
	ck_assert_uint_eq(st.retries, 3);
	ck_assert_uint_eq(st.requests, 4);
	exporter__free(e);
	ck_assert_int_eq(requests_with(&r, 503), 3);
	ck_assert_int_eq(requests_with(&r, 200), 1);
	received(&r, false, &nm);
	assert_exactly(&nm, 20);
	receiver_stop(&r);
}
END_TEST

START_TEST(retry_after_is_honoured)
{
	const char *args[] = { "--fail", "1", "--status", "429", "--retry-after", "1", NULL };
	struct exporter_opts o = { .batch_delay_ms = 10, .backoff_ms = 10 };
	struct exporter_stats st = { 0 };
	struct receiver r;
	struct span s;
	struct exporter *e;
	double t0, waited;

	receiver_start(&r, args);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	t0 = now_s();
	for (int i = 0; i < 5; i++) {
		make_span(&s, i);
		exporter__push_span(e, &s);
	}
	for (int i = 0; i < 400 && st.spans_exported < 5; i++) {
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	waited = now_s() - t0;
	ck_assert_uint_eq(st.spans_exported, 5);
	ck_assert_msg(waited >= 0.95 && waited < 3.0, "delivered after %.3f s; Retry-After said 1 s", waited);
	exporter__free(e);
	ck_assert_int_eq(requests_with(&r, 429), 1);
	receiver_stop(&r);
}
END_TEST

START_TEST(gives_up_after_max_attempts)
{
	const char *args[] = { "--fail", "1000", "--status", "503", NULL };
	struct exporter_opts o = { .batch_delay_ms = 10, .backoff_ms = 20, .max_attempts = 3 };
	struct exporter_stats st = { 0 };
	struct receiver r;
	struct span s;
	struct exporter *e;

	receiver_start(&r, args);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 10; i++) {
		make_span(&s, i);
		exporter__push_span(e, &s);
	}
	for (int i = 0; i < 300 && st.spans_export_failed < 10; i++) {
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	ck_assert_uint_eq(st.spans_export_failed, 10);
	ck_assert_uint_eq(st.spans_exported, 0);
	ck_assert_int_eq(st.last_status, 503);
	exporter__free(e);
	ck_assert_int_eq(requests_with(&r, 0), 3);
	receiver_stop(&r);
}
END_TEST

/* 400 is not retried; the next batch goes out normally */
START_TEST(client_error_is_not_retried)
{
	const char *args[] = { "--fail", "1", "--status", "400", NULL };
	struct exporter_opts o = { .batch_delay_ms = 10, .backoff_ms = 10 };
	struct exporter_stats st = { 0 };
	struct receiver r;
	struct span s;
	struct exporter *e;

	receiver_start(&r, args);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 10; i++) {
		make_span(&s, i);
		exporter__push_span(e, &s);
	}
	for (int i = 0; i < 300 && st.spans_export_failed < 10; i++) {
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	ck_assert_uint_eq(st.spans_export_failed, 10);
	ck_assert_uint_eq(st.requests, 1);
	for (int i = 10; i < 20; i++) {
		make_span(&s, i);
		exporter__push_span(e, &s);
	}
	exporter__shutdown(e);
	exporter__stats(e, &st);
	ck_assert_uint_eq(st.spans_exported, 10);
	ck_assert_uint_eq(st.spans_export_failed, 10);
	exporter__free(e);
	received(&r, false, &nm);
	ck_assert_int_eq(nm.n, 10);
	for (int i = 10; i < 20; i++)
		ck_assert_int_eq(nm.seen[i], 1);
	receiver_stop(&r);
}
END_TEST

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* a loopback port nobody listens on */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

START_TEST(no_receiver_never_blocks)
{
	struct exporter_opts o = { .span_queue = 1024,
				   .log_queue = 256,
				   .batch_delay_ms = 10,
				   .backoff_ms = 20,
				   .timeout_ms = 200,
				   .flush_timeout_ms = 500 };
	const int n = 20000;
	struct exporter_stats st;
	struct span s;
	struct log_record l;
	struct exporter *e;
	char url[64];
	double t0, worst = 0, total, t;
	long rss0, grew;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
	o.endpoint = url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	rss0 = rss_kb();
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		make_span(&s, i);
		t = now_s();
		exporter__push_span(e, &s);
		if (i < 2000) {
			make_log(&l, i);
			exporter__push_log(e, &l);
		}
		t = now_s() - t;
		if (t > worst)
			worst = t;
	}
	total = now_s() - t0;
	grew = rss_kb() - rss0;
	/* Never blocking is shown by the queue-full counts (a push that waited for room would have none); how long
	 * the pushes took is printed, not asserted: upper bounds on time belong to make bench (issue 11). */
	printf("no_receiver_never_blocks: %d pushes in %.3f s, the slowest %.3f s\n", n, total, worst);
	exporter__stats(e, &st);
	ck_assert_uint_ge(st.spans_queue_full, (uint64_t)(n - 4096)); /* a few batches may have left the queue */
	ck_assert_uint_ge(st.logs_queue_full, 1000);
	ck_assert_uint_eq(st.spans_exported, 0);
	/* the sender's first attempt may not have failed yet when the pushes end (a loaded machine): wait for it */
	for (int i = 0; i < 1000 && st.last_status == 0; i++) {
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	ck_assert_int_eq(st.last_status, -1);
	/* the queue, not the number of pushes, bounds memory: 1024 spans of ~4.6 KB plus slack */
	ck_assert_msg(grew < (long)(1024 * sizeof(struct span) / 1024) + 8192, "RSS grew %ld kB", grew);

	t0 = now_s();
	exporter__shutdown(e);
	t = now_s() - t0;
	/* a bound that only a shutdown ignoring its deadline misses (it would retry with backoff up to 10 s), not a
	 * speed check */
	ck_assert_msg(t < 5.0, "shutdown took %.3f s with a 0.5 s flush deadline", t);
	exporter__stats(e, &st);
	/* every push is accounted for exactly once */
	ck_assert_uint_eq(st.spans_exported + st.spans_queue_full + st.spans_export_failed, (uint64_t)n);
	ck_assert_uint_eq(st.logs_exported + st.logs_queue_full + st.logs_export_failed, 2000);
	ck_assert_uint_eq(st.spans_queued, 0);
	exporter__free(e);
}
END_TEST

/* a peer that accepts the connection and never answers: the shutdown deadline still holds */
START_TEST(shutdown_deadline_cuts_a_hanging_request)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct exporter_opts o = { .batch_delay_ms = 10, .timeout_ms = 20000, .flush_timeout_ms = 400 };
	socklen_t al = sizeof(a);
	struct exporter_stats st;
	struct exporter *e;
	struct span s;
	char url[64];
	double t0, t;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0); /* the kernel completes the handshake; nobody reads */
	getsockname(fd, (struct sockaddr *)&a, &al);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	o.endpoint = url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 5; i++) {
		make_span(&s, i);
		exporter__push_span(e, &s);
	}
	sleep_ms(200); /* the request is in flight now */
	t0 = now_s();
	exporter__shutdown(e);
	t = now_s() - t0;
	exporter__stats(e, &st);
	/* waited for the in-flight request, then gave up at the deadline: not a speed check (the
	 * request timeout is 20 s) */
	ck_assert_msg(t >= 0.35 && t < 5.0, "shutdown took %.3f s with a 0.4 s flush deadline", t);
	ck_assert_uint_eq(st.spans_export_failed, 5);
	ck_assert_uint_eq(st.spans_exported, 0);
	exporter__free(e);
	close(fd);
}
END_TEST

START_TEST(pushes_after_shutdown_are_counted)
{
	struct exporter_opts o = { .endpoint = "http://127.0.0.1:1" };
	struct exporter_stats st;
	struct exporter *e = exporter__new(&o);
	struct span s;

	ck_assert_ptr_nonnull(e);
	exporter__shutdown(e);
	make_span(&s, 0);
	ck_assert_int_eq(exporter__push_span(e, &s), -ENOSPC);
	exporter__stats(e, &st);
	ck_assert_uint_eq(st.spans_queue_full, 1);
	exporter__shutdown(e); /* idempotent */
	exporter__free(e);
	exporter__free(NULL);
}
END_TEST

START_TEST(endpoint_validation)
{
	static const char *good[] = { "http://localhost:4318", "https://otel.example.com/prefix/", "http://[::1]:4318",
				      "HTTP://127.0.0.1:4318", "http://user:pw@collector:4318",	   "http://a" };
	static const char *bad[] = { "",
				     "localhost:4318",
				     "ftp://x",
				     "http://",
				     "http://:4318",
				     "http://host:0",
				     "http://host:65536",
				     "http://host:12ab",
				     "http://ho st:1",
				     "http://host/?a=b",
				     "http://[::1",
				     "http://host#frag",
				     "http://a_b:99999999999",
				     "http://h\tost" };
	const char *bad_hdr1[] = { "NoEquals" }, *bad_hdr2[] = { "Bad Key=v" }, *bad_hdr3[] = { "K=v\r\nX: y" };
	const char *const *bad_hdrs[] = { bad_hdr1, bad_hdr2, bad_hdr3 };
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(exporter__check_endpoint(good[i], err, sizeof(err)) == 0, "rejected %s: %s", good[i],
			      err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(exporter__check_endpoint(bad[i], err, sizeof(err)) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(err[0], "no reason for '%s'", bad[i]);
	}
	{
		struct exporter_opts o = { .endpoint = "localhost:4318" };

		errno = 0;
		ck_assert_ptr_null(exporter__new(&o));
		ck_assert_int_eq(errno, EINVAL);
	}
	for (size_t i = 0; i < 3; i++) {
		struct exporter_opts o = { .endpoint = "http://127.0.0.1:4318", .headers = bad_hdrs[i], .nheaders = 1 };

		errno = 0;
		ck_assert_ptr_null(exporter__new(&o));
		ck_assert_int_eq(errno, EINVAL);
	}
}
END_TEST

/* OTLP/HTTP: a 200 with partial_success -- the rejected items are lost and counted, never retried */
START_TEST(partial_success_rejections_are_counted)
{
	for (int json = 0; json < 2; json++) {
		const char *args[] = { "--partial", "3", NULL };
		struct exporter_opts o = { .batch_delay_ms = 10,
					   .backoff_ms = 10,
					   .protocol = json ? OTLP_HTTP_JSON : OTLP_HTTP_PROTOBUF };
		struct exporter_stats st = { 0 };
		struct receiver r;
		struct span s;
		struct log_record l;
		struct exporter *e;

		receiver_start(&r, args);
		o.endpoint = r.url;
		e = exporter__new(&o);
		ck_assert_ptr_nonnull(e);
		for (int i = 0; i < 10; i++) {
			make_span(&s, i);
			exporter__push_span(e, &s);
		}
		for (int i = 0; i < 5; i++) {
			make_log(&l, i);
			exporter__push_log(e, &l);
		}
		exporter__shutdown(e);
		exporter__stats(e, &st);
		ck_assert_uint_eq(st.spans_exported, 7);
		ck_assert_uint_eq(st.spans_export_failed, 3);
		ck_assert_uint_eq(st.logs_exported, 2);
		ck_assert_uint_eq(st.logs_export_failed, 3);
		ck_assert_uint_eq(st.retries, 0);
		ck_assert_uint_eq(st.requests, 2);
		exporter__free(e);
		receiver_stop(&r);
	}
}
END_TEST

START_TEST(parse_response_bodies)
{
	/* ExportTraceServiceResponse{partial_success{rejected_spans: 300, error_message: "old\n"}} + unknown fields */
	static const uint8_t pb[] = { 0x0a, 0x09, 0x08, 0xac, 0x02, 0x12, 0x04, 'o', 'l',
				      'd',  '\n', 0x18, 0x01, 0x25, 1,	  2,	3,   4 };
	static const uint8_t pb_short[] = { 0x0a, 0x09, 0x08, 0xac, 0x02 }; /* length past the end */
	static const uint8_t pb_varint[] = { 0x0a, 0x02, 0x08, 0xff };	    /* varint runs off the end */
	static const uint8_t pb_wire7[] = { 0x0f };
	static const uint8_t pb_negative[] = { 0x0a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t pb_warn[] = { 0x0a, 0x04, 0x12, 0x02, 'h', 'i' }; /* a warning: nothing rejected */
	uint64_t rej;
	char msg[64];

	ck_assert_int_eq(otlpresp__parse(pb, sizeof(pb), false, &rej, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(rej, 300);
	ck_assert_str_eq(msg, "old?");
	ck_assert_int_eq(otlpresp__parse(pb_warn, sizeof(pb_warn), false, &rej, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(rej, 0);
	ck_assert_str_eq(msg, "hi");
	ck_assert_int_eq(otlpresp__parse("", 0, false, &rej, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(rej, 0);
	ck_assert_int_eq(otlpresp__parse(pb_short, sizeof(pb_short), false, &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(otlpresp__parse(pb_varint, sizeof(pb_varint), false, &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(otlpresp__parse(pb_wire7, sizeof(pb_wire7), false, &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(otlpresp__parse(pb_negative, sizeof(pb_negative), false, &rej, msg, sizeof(msg)), -1);
	ck_assert_uint_eq(rej, 0);

#define J(s) s, sizeof(s) - 1, true, &rej, msg, sizeof(msg)
	ck_assert_int_eq(otlpresp__parse(J("{\"partialSuccess\":{\"rejectedSpans\":\"12\",\"errorMessage\":\"x\"}}")),
			 0);
	ck_assert_uint_eq(rej, 12);
	ck_assert_str_eq(msg, "x");
	ck_assert_int_eq(otlpresp__parse(J("{\"partialSuccess\":{\"rejectedLogRecords\":4}}")), 0);
	ck_assert_uint_eq(rej, 4);
	ck_assert_int_eq(otlpresp__parse(J("{}")), 0);
	ck_assert_uint_eq(rej, 0);
	ck_assert_int_eq(otlpresp__parse(J("{\"partialSuccess\":{\"rejectedSpans\":\"-1\"}}")), -1);
	ck_assert_int_eq(otlpresp__parse(J("{\"partialSuccess\":{\"rejectedSpans\":\"1x\"}}")), -1);
	ck_assert_int_eq(otlpresp__parse(J("{\"partialSuccess\":{\"rejectedSpans\":-5}}")), -1);
	ck_assert_int_eq(otlpresp__parse(J("{\"partialSuccess\":[]}")), -1);
	ck_assert_int_eq(otlpresp__parse(J("not json")), -1);
	ck_assert_uint_eq(rej, 0);
#undef J
}
END_TEST

/* a backlog (the receiver stalls for a while) touches many queue slots; once it has drained, the pages past one
 * batch are given back: a receiver outage does not leave the collector's RSS at its high-water mark */
START_TEST(backlog_memory_is_given_back)
{
	const char *args[] = { "--fault", "slow", "--delay", "0.5", NULL };
	struct exporter_opts o = { .batch_max = 500, .batch_delay_ms = 10 };
	const long n = 4000, slot_kb = (long)(sizeof(struct span) / 1024);
	struct exporter_stats st = { 0 };
	struct receiver r;
	struct span s;
	struct exporter *e;
	long rss0, mid, end;

	receiver_start(&r, args);
	o.endpoint = r.url;
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	make_span(&s, 0);
	exporter__push_span(e, &s); /* the sender leaves with it and waits for the slow answer */
	for (int i = 0; i < 100 && !st.requests; i++) {
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	rss0 = rss_kb();
	for (int i = 1; i <= n; i++) {
		make_span(&s, i);
		ck_assert_int_eq(exporter__push_span(e, &s), 0);
	}
	mid = rss_kb() - rss0;
	for (int i = 0; i < 2000 && st.spans_exported < (uint64_t)n + 1; i++) { /* 9 slow batches: ~5 s */
		sleep_ms(10);
		exporter__stats(e, &st);
	}
	ck_assert_uint_eq(st.spans_exported, (uint64_t)n + 1);
	end = rss_kb() - rss0;
	ck_assert_msg(mid >= n * slot_kb * 9 / 10, "the backlog of %ld spans grew RSS by only %ld kB", n, mid);
	/* kept: one batch of slots (500 x 4.6 KB) plus the encode buffers.  Not under ASan: its quarantine keeps
	 * freed blocks (the encode and libcurl buffers of every batch) resident by design; the plain build of this
	 * test (unit/test_exporter) asserts it. */
#ifndef __SANITIZE_ADDRESS__
	ck_assert_msg(end < n * slot_kb / 2, "RSS still %ld kB above the start after the backlog drained", end);
#else
	(void)end;
#endif
	exporter__free(e);
	receiver_stop(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exporter");
	TCase *tc = tcase_create("otlp-http");
	SRunner *sr;
	int failed;

	unsetenv("http_proxy"); /* loopback only, never through a proxy */
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, endpoint_validation);
	tcase_add_test(tc, delivers_every_span_protobuf_gzip);
	tcase_add_test(tc, delivers_json_without_gzip);
	tcase_add_test(tc, partial_batch_leaves_after_delay);
	tcase_add_test(tc, retries_503_then_delivers);
	tcase_add_test(tc, retry_after_is_honoured);
	tcase_add_test(tc, gives_up_after_max_attempts);
	tcase_add_test(tc, client_error_is_not_retried);
	tcase_add_test(tc, no_receiver_never_blocks);
	tcase_add_test(tc, shutdown_deadline_cuts_a_hanging_request);
	tcase_add_test(tc, pushes_after_shutdown_are_counted);
	tcase_add_test(tc, partial_success_rejections_are_counted);
	tcase_add_test(tc, parse_response_bodies);
	tcase_add_test(tc, backlog_memory_is_given_back);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
