/* test_demux.c -- the eBPF path's events, out of ring order, become joined spans; what no protocol claims
 * gets its capture turned off */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi/syscalls.h"
#include "proto/demux.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

static char path[64];
static uint16_t client_port = 40000; /* the client end's port (a test with many connections moves it) */
static struct metrics *m;
static struct redactor *red;
static struct traces *t;
static struct demux *d;
static struct {
	int calls;
	uint64_t sk;
	uint32_t caplen;
} verdict;

static void resource(void *ctx, int pid, struct span_resource *out)
{
	(void)ctx;
	strcpy(out->service_name, "svc");
	out->pid = pid;
}

static void capture(void *ctx, uint64_t sk, uint32_t caplen)
{
	(void)ctx;
	verdict.calls++;
	verdict.sk = sk;
	verdict.caplen = caplen;
}

static void setup(void)
{
	static const uint64_t bounds[] = { 1000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 1 };
	struct traces_opts to;
	struct demux_opts dop;
	char err[128];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_demux.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	m = metrics__new(&mo);
	red = redactor__new(NULL, err, sizeof(err));
	to = (struct traces_opts){ .metrics = m,
				   .redactor = red,
				   .spans_file = path,
				   .host_name = "h",
				   .source = "ebpf",
				   .sample_ratio = 1.0,
				   .max_spans_per_second = 10000 };
	t = traces__new(&to, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	dop = (struct demux_opts){ .traces = t, .metrics = m, .resource = resource, .capture = capture };
	d = demux__new(&dop);
	ck_assert_ptr_nonnull(d);
	memset(&verdict, 0, sizeof(verdict));
}

static void teardown(void)
{
	client_port = 40000;
	demux__free(d);
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	unlink(path);
}

/* one socket I/O (or TLS plaintext: @stream) as the ring holds it, @n bytes; @client: the 127.0.0.1:40000
 * end of the connection to 127.0.0.2:8080 */
static void io_n(uint64_t sk, int pid, bool client, int dir, uint64_t enter, uint64_t exit, const char *bytes, size_t n,
		 int stream)
{
	static uint8_t buf[sizeof(struct obs_data_event) + 512];
	struct obs_data_event *e = (void *)buf;

	memset(e, 0, sizeof(*e));
	e->type = OBS_EV_DATA;
	e->pid = e->tid = pid;
	e->sk = sk;
	e->enter_ns = enter;
	e->exit_ns = exit;
	e->total = e->caplen = n;
	e->dir = dir;
	e->stream = stream;
	e->family = 2;
	e->lport = client ? client_port : 8080;
	e->rport = client ? 8080 : client_port;
	memcpy(e->laddr, (uint8_t[]){ 127, 0, 0, client ? 1 : 2 }, 4);
	memcpy(e->raddr, (uint8_t[]){ 127, 0, 0, client ? 2 : 1 }, 4);
	memcpy(buf + sizeof(*e), bytes, n);
	demux__event(d, buf, sizeof(*e) + n);
}

static void io(uint64_t sk, int pid, bool client, int dir, uint64_t enter, uint64_t exit, const char *bytes)
{
	io_n(sk, pid, client, dir, enter, exit, bytes, strlen(bytes), OBS_STREAM_SOCKET);
}

static void tls_io(uint64_t sk, int pid, bool client, int dir, uint64_t enter, uint64_t exit, const char *bytes)
{
	io_n(sk, pid, client, dir, enter, exit, bytes, strlen(bytes), OBS_STREAM_TLS);
}

static size_t read_spans(char *spans, size_t len)
{
	FILE *f;
	size_t n;

	traces__poll(t); /* the span lines are written once per poll */
	f = fopen(path, "r");
	n = fread(spans, 1, len - 1, f);

	spans[n] = '\0';
	fclose(f);
	return n;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* the value of "key":"..." in the span line of kind @kind */
static void span_field(const char *spans, int kind, const char *key, char *out, size_t outlen)
{
	char want[32];
	const char *line = spans;

	snprintf(want, sizeof(want), "\"kind\":%d,", kind);
	out[0] = '\0';
	while (line && *line) {
		const char *end = strchr(line, '\n'), *k;
		char pat[64];

		snprintf(pat, sizeof(pat), "\"%s\":\"", key);
		if (memmem(line, end ? (size_t)(end - line) : strlen(line), want, strlen(want)) &&
		    (k = strstr(line, pat))) {
			k += strlen(pat);
			snprintf(out, outlen, "%.*s", (int)(strchr(k, '"') - k), k);
			return;
		}
		line = end ? end + 1 : NULL;
	}
}

START_TEST(client_span_parents_server_span_across_ring_order)
{
	const char *req = "GET /x HTTP/1.1\r\nHost: b\r\n\r\n", *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	char spans[8192], client_span[40], server_parent[40], client_trace[40], server_trace[40];

	/* the server's read returned (and reached the ring) before the client's write did */
	io(2, 20, false, SC_RECEIVE, 1010, 1050, req);
	io(1, 10, true, SC_TRANSMIT, 1000, 1100, req);
	io(2, 20, false, SC_TRANSMIT, 1200, 1300, resp);
	io(1, 10, true, SC_RECEIVE, 1150, 1400, resp);
	demux__flush(d, true);

	read_spans(spans, sizeof(spans));
	span_field(spans, 3, "spanId", client_span, sizeof(client_span));
	span_field(spans, 3, "traceId", client_trace, sizeof(client_trace));
	span_field(spans, 2, "parentSpanId", server_parent, sizeof(server_parent));
	span_field(spans, 2, "traceId", server_trace, sizeof(server_trace));
	ck_assert_msg(client_span[0] && server_parent[0], "spans: %s", spans);
	ck_assert_str_eq(server_parent, client_span);
	ck_assert_str_eq(server_trace, client_trace);
	ck_assert_int_eq(verdict.calls, 0); /* HTTP/1 takes what the capture path copies */
}
END_TEST

/* connections are found by socket among many: 900 requests first, the answers in reverse order, each
 * exchange whole on its own connection (hash chains of a table sized for 4096) */
START_TEST(many_connections_each_its_own)
{
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static char spans[1 << 20];
	char req[64];
	int n = 900;

	for (int i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "GET /c/%d HTTP/1.1\r\nHost: b\r\n\r\n", i);
		io(0x1000 + (uint64_t)i * 64, 20, false, SC_RECEIVE, 1000 + i, 1001 + i, req);
	}
	for (int i = n - 1; i >= 0; i--)
		io(0x1000 + (uint64_t)i * 64, 20, false, SC_TRANSMIT, 5000 + (n - i), 5001 + (n - i), resp);
	demux__flush(d, true);
	read_spans(spans, sizeof(spans));
	ck_assert_int_eq(count(spans, "\"kind\":2,"), n);
	ck_assert_int_eq(count(spans, "/c/0\""), 1);
	ck_assert_int_eq(count(spans, "/c/899\""), 1);
}
END_TEST

/* the "/p/..." value among a span's string attributes, or "" */
static const char *span_path(const cJSON *sp)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, cJSON_GetObjectItem(sp, "attributes"))
	{
		const char *v =
			cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "value"), "stringValue"));

		if (v && !strncmp(v, "/p/", 3))
			return v;
	}
	return "";
}

/* 1,500 traced client/server pairs, each on its connection: every request started (the server's read in the
 * ring before the client's write), then the answers in a shuffled order.  Each server span is the child of its
 * own client's span: 3,000 requests' causal ids held at once (the table grows from 1,024), taken back in an
 * order unlike the one they went in. */
START_TEST(many_pairs_join_in_causal_order)
{
	static char text[1 << 22];
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	enum { N = 1500 };
	static struct {
		char span[17], trace[33], path[16];
	} cl[N];
	char req[64];
	int ncl = 0, nsrv = 0, joined = 0;
	FILE *f;

	for (int i = 0; i < N; i++) {
		uint64_t t0 = 1000 + (uint64_t)i * 10;

		client_port = (uint16_t)(20000 + i);
		snprintf(req, sizeof(req), "GET /p/%d HTTP/1.1\r\nHost: b\r\n\r\n", i);
		io(0x900000 + (uint64_t)i * 64, 20, false, SC_RECEIVE, t0 + 2, t0 + 5, req);
		io(0x100000 + (uint64_t)i * 64, 10, true, SC_TRANSMIT, t0, t0 + 8, req);
	}
	for (int k = 0; k < N; k++) {
		int i = (k * 7) % N; /* neither the order they went in nor its reverse */
		uint64_t t0 = 100000 + (uint64_t)k * 10;

		client_port = (uint16_t)(20000 + i);
		io(0x900000 + (uint64_t)i * 64, 20, false, SC_TRANSMIT, t0, t0 + 3, resp);
		io(0x100000 + (uint64_t)i * 64, 10, true, SC_RECEIVE, t0 + 1, t0 + 6, resp);
	}
	demux__flush(d, true);
	traces__poll(t);

	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	for (int pass = 0; pass < 2; pass++) { /* the clients' spans, then the servers' */
		rewind(f);
		while (fgets(text, sizeof(text), f)) {
			cJSON *root = cJSON_Parse(text), *rs, *ss, *sp;

			ck_assert_ptr_nonnull(root);
			cJSON_ArrayForEach(rs, cJSON_GetObjectItem(root, "resourceSpans"))
				cJSON_ArrayForEach(ss, cJSON_GetObjectItem(rs, "scopeSpans"))
					cJSON_ArrayForEach(sp, cJSON_GetObjectItem(ss, "spans"))
			{
				int kind = cJSON_GetObjectItem(sp, "kind")->valueint;
				const char *trace = cJSON_GetStringValue(cJSON_GetObjectItem(sp, "traceId"));
				const char *parent = cJSON_GetStringValue(cJSON_GetObjectItem(sp, "parentSpanId"));

				if (pass == 0 && kind == 3 && ncl < N) {
					snprintf(cl[ncl].span, sizeof(cl[ncl].span), "%s",
						 cJSON_GetStringValue(cJSON_GetObjectItem(sp, "spanId")));
					snprintf(cl[ncl].trace, sizeof(cl[ncl].trace), "%s", trace);
					snprintf(cl[ncl].path, sizeof(cl[ncl].path), "%s", span_path(sp));
					ncl++;
				} else if (pass == 1 && kind == 2) {
					nsrv++;
					for (int c = 0; parent && c < ncl; c++)
						if (!strcmp(cl[c].span, parent)) {
							joined += !strcmp(cl[c].trace, trace) && cl[c].path[0] &&
								  !strcmp(cl[c].path, span_path(sp));
							break;
						}
				}
			}
			cJSON_Delete(root);
		}
	}
	fclose(f);
	ck_assert_int_eq(ncl, N);
	ck_assert_int_eq(nsrv, N);
	ck_assert_int_eq(joined, N);
}
END_TEST

/* what a request carries reaches its span whole through the held end of the exchange: a 150-byte path, the
 * caller's context and tracestate, the Host and User-Agent */
START_TEST(long_fields_reach_the_span)
{
	static char req[1024], spans[16384], want[512];
	const char *resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	char p[151], parent[40], trace[40];

	memset(p, 'a', 150);
	p[0] = '/';
	p[150] = '\0';
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: example.test\r\nUser-Agent: agent/1.0\r\n"
		 "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\ntracestate: k1=v1,k2=v2\r\n\r\n",
		 p);
	io(6, 60, false, SC_RECEIVE, 100, 110, req);
	io(6, 60, false, SC_TRANSMIT, 120, 130, resp);
	demux__flush(d, true);
	read_spans(spans, sizeof(spans));
	span_field(spans, 2, "traceId", trace, sizeof(trace));
	span_field(spans, 2, "parentSpanId", parent, sizeof(parent));
	ck_assert_str_eq(trace, "0af7651916cd43dd8448eb211c80319c");
	ck_assert_str_eq(parent, "b7ad6b7169203331");
	snprintf(want, sizeof(want), "\"stringValue\":\"%s\"", p);
	ck_assert_msg(strstr(spans, want), "%s", spans);
	ck_assert_msg(strstr(spans, "\"traceState\":\"k1=v1,k2=v2\""), "%s", spans);
	ck_assert_msg(strstr(spans, "example.test"), "%s", spans);
	ck_assert_msg(strstr(spans, "agent/1.0"), "%s", spans);
	ck_assert_msg(strstr(spans, "\"intValue\":\"404\""), "%s", spans);
}
END_TEST

START_TEST(unclaimed_socket_capture_off)
{
	io(3, 30, true, SC_TRANSMIT, 100, 110, "SSH-2.0-OpenSSH_9.2\r\n");
	io(3, 30, true, SC_RECEIVE, 120, 130, "SSH-2.0-OpenSSH_9.2p1\r\n");
	demux__flush(d, true);
	ck_assert_int_eq(verdict.calls, 1);
	ck_assert_uint_eq(verdict.sk, 3);
	/* the socket's own bytes off; its TLS plaintext (if any) as it was */
	ck_assert_uint_eq(verdict.caplen, SC_CAPV(0, SC_CAPV_KEEP));
}
END_TEST

/* a handshake and application records on the socket, plaintext from SSL_read/SSL_write: one server span
 * marked TLS from the plaintext, nothing from the ciphertext (no strike, no exchange) */
START_TEST(tls_plaintext_parsed_ciphertext_ignored)
{
	static const char hello[] = "\x16\x03\x01\x00\x20\x01\x00\x00\x1c\x03\x03";
	static const char appdata[] = "\x17\x03\x03\x00\x30GARBAGE\xff\xfe";
	const char *req = "GET /s HTTP/1.1\r\nHost: b\r\n\r\n", *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	char spans[8192], *om;
	size_t len;

	io_n(4, 40, false, SC_RECEIVE, 100, 110, hello, sizeof(hello) - 1, OBS_STREAM_SOCKET);
	io_n(4, 40, false, SC_TRANSMIT, 120, 130, appdata, sizeof(appdata) - 1, OBS_STREAM_SOCKET);
	tls_io(4, 40, false, SC_RECEIVE, 140, 200, req);
	/* ciphertext still in flight when the kernel was told to stop copying it */
	io_n(4, 40, false, SC_RECEIVE, 150, 160, appdata, sizeof(appdata) - 1, OBS_STREAM_SOCKET);
	io_n(4, 40, false, SC_TRANSMIT, 210, 220, "\x03garbage", 8, OBS_STREAM_SOCKET);
	tls_io(4, 40, false, SC_TRANSMIT, 205, 230, resp);
	demux__flush(d, true);

	ck_assert_int_eq(verdict.calls, 1); /* told once: the socket's own bytes off, its plaintext on */
	ck_assert_uint_eq(verdict.sk, 4);
	ck_assert_uint_eq(verdict.caplen, SC_CAPV(0, SC_CAPV_KEEP));
	read_spans(spans, sizeof(spans));
	ck_assert_int_eq(count(spans, "\"kind\":"), 1);
	ck_assert_int_eq(count(spans, "\"kind\":2,"), 1);
	om = metrics__render(m, false, &len);
	ck_assert_msg(strstr(om, "transport=\"tls\"} 1"), "%s", om);
	ck_assert_msg(!strstr(om, "incomplete"), "%s", om);
	free(om);
}
END_TEST

/* PostgreSQL's SSLRequest in plaintext, 'S', then TLS: the plaintext starts a fresh parser */
START_TEST(tls_after_plaintext_start)
{
	static const char sslreq[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";
	static const char hello[] = "\x16\x03\x01\x00\x20\x01\x00\x00\x1c\x03\x03";
	const char *req = "GET /p HTTP/1.1\r\nHost: b\r\n\r\n", *resp = "HTTP/1.1 204 No Content\r\n\r\n";
	char spans[8192];

	io_n(5, 50, false, SC_RECEIVE, 100, 110, sslreq, 8, OBS_STREAM_SOCKET);
	io_n(5, 50, false, SC_TRANSMIT, 120, 130, "S", 1, OBS_STREAM_SOCKET);
	io_n(5, 50, false, SC_RECEIVE, 140, 150, hello, sizeof(hello) - 1, OBS_STREAM_SOCKET);
	tls_io(5, 50, false, SC_RECEIVE, 160, 200, req);
	tls_io(5, 50, false, SC_TRANSMIT, 210, 230, resp);
	demux__flush(d, true);
	read_spans(spans, sizeof(spans));
	ck_assert_int_eq(count(spans, "\"kind\":2,"), 1);
	ck_assert_msg(strstr(spans, "204"), "%s", spans);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("demux");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, client_span_parents_server_span_across_ring_order);
	tcase_add_test(tc, unclaimed_socket_capture_off);
	tcase_add_test(tc, many_connections_each_its_own);
	tcase_add_test(tc, many_pairs_join_in_causal_order);
	tcase_add_test(tc, long_fields_reach_the_span);
	tcase_add_test(tc, tls_plaintext_parsed_ciphertext_ignored);
	tcase_add_test(tc, tls_after_plaintext_start);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
