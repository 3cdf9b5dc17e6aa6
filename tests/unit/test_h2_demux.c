/* test_h2_demux.c -- gRPC over the eBPF path's demux: both ends of one HTTP/2 connection traced, two calls
 * multiplexed on it and answered out of order; the exact bytes libnghttp2 sent become socket events of the
 * client and of the server.  Each server span must be the child of the client span of the same call (the
 * 4-tuple join keyed on the stream), the rpc histograms count each call once per side, and a connection seen
 * mid-way is counted lost (obsprobe_events_lost_total), not guessed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi/syscalls.h"
#include "proto/demux.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

#include "h2_pair.h"

static char path[64];
static struct metrics *m;
static struct redactor *red;
static struct traces *t;
static struct demux *d;

static void resource(void *ctx, int pid, struct span_resource *out)
{
	(void)ctx;
	strcpy(out->service_name, "svc");
	out->pid = pid;
}

static void setup(void)
{
	static const uint64_t bounds[] = { 1000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 1 };
	struct traces_opts to;
	struct demux_opts dop;
	char err[128];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_h2_demux.XXXXXX");
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
				   .max_spans_per_second = 1000 };
	t = traces__new(&to, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	dop = (struct demux_opts){ .traces = t, .metrics = m, .resource = resource };
	d = demux__new(&dop);
	ck_assert_ptr_nonnull(d);
}

static void teardown(void)
{
	demux__free(d);
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	unlink(path);
}

/* one read or write of socket @sk: @client is the 127.0.0.1:40000 end of the connection to 127.0.0.2:7201 */
static void io(uint64_t sk, int pid, bool client, int dir, uint64_t enter, uint64_t exit, const uint8_t *bytes,
	       size_t n)
{
	static uint8_t buf[sizeof(struct obs_data_event) + 16384];
	struct obs_data_event *e = (void *)buf;

	ck_assert_uint_le(n, 16384);
	memset(e, 0, sizeof(*e));
	e->type = OBS_EV_DATA;
	e->pid = e->tid = pid;
	e->sk = sk;
	e->enter_ns = enter;
	e->exit_ns = exit;
	e->total = e->caplen = n;
	e->dir = dir;
	e->stream = OBS_STREAM_SOCKET;
	e->family = 2;
	e->lport = client ? 40000 : 7201;
	e->rport = client ? 7201 : 40000;
	memcpy(e->laddr, (uint8_t[]){ 127, 0, 0, client ? 1 : 2 }, 4);
	memcpy(e->raddr, (uint8_t[]){ 127, 0, 0, client ? 2 : 1 }, 4);
	memcpy(buf + sizeof(*e), bytes, n);
	demux__event(d, buf, sizeof(*e) + n);
}

/* chunks @from.. of the log as the client (socket 1, pid 10) and the server (socket @srv_sk, pid 20) saw them:
 * a chunk written every 1 ms, read 2.5 ms later (so the server reads call A's request after the client wrote
 * call B's: both client spans are on the 4-tuple when the server's requests are parsed) */
static void replay(const struct pair *p, int from, bool with_client, uint64_t srv_sk)
{
	for (int i = from; i < p->n; i++) {
		const struct chunk *c = &p->log[i];
		uint64_t at = 1000000ull * (i + 1);

		if (with_client)
			io(1, 10, true, c->from_client ? SC_TRANSMIT : SC_RECEIVE, at,
			   at + (c->from_client ? 2000 : 2500000), c->data, c->len);
		io(srv_sk, 20, false, c->from_client ? SC_RECEIVE : SC_TRANSMIT, at,
		   at + (c->from_client ? 2500000 : 2000), c->data, c->len);
	}
	demux__flush(d, true);
}

struct span_line {
	int kind;
	char name[64], span[17], parent[17], trace[33];
};

static void field(const char *line, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *k;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	k = strstr(line, pat);
	if (k) {
		k += strlen(pat);
		snprintf(out, len, "%.*s", (int)(strchr(k, '"') - k), k);
	}
}

static int read_spans(struct span_line *out, int max)
{
	static char line[65536];
	FILE *f;
	int n = 0;

	traces__poll(t); /* the span lines are written once per poll */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (n < max && fgets(line, sizeof(line), f)) {
		const char *k = strstr(line, "\"kind\":"), *span = strstr(line, "\"spans\":[");

		ck_assert_ptr_nonnull(k);
		ck_assert_ptr_nonnull(span);
		out[n].kind = atoi(k + 7);
		field(span, "name", out[n].name, sizeof(out[n].name)); /* (the scope has a name too) */
		field(line, "spanId", out[n].span, sizeof(out[n].span));
		field(line, "parentSpanId", out[n].parent, sizeof(out[n].parent));
		field(line, "traceId", out[n].trace, sizeof(out[n].trace));
		n++;
	}
	fclose(f);
	return n;
}

static uint64_t rpc_count(enum family_id fam, const char *method)
{
	struct hist h;

	if (!metrics__get_hist(m, fam, (const char *[]){ "svc", "grpc", "pkg.Echo", method, "0" }, &h))
		return 0;
	return h.count;
}

START_TEST(multiplexed_calls_join_by_stream)
{
	struct span_line sp[8];
	struct pair p;
	int32_t a, b;
	int n;

	pair_open(&p, NULL, 0, 0);
	a = call_start(&p, "/pkg.Echo/A", NULL, 0);
	b = call_start(&p, "/pkg.Echo/B", NULL, 0); /* both open on the one connection */
	call_answer(&p, b, 2, "0");
	call_answer(&p, a, 1, "0");
	replay(&p, 0, true, 2);
	pair_close(&p);

	n = read_spans(sp, 8);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < n; i++) {
		int client = -1;

		if (sp[i].kind != 2)
			continue;
		for (int j = 0; j < n; j++)
			if (sp[j].kind == 3 && !strcmp(sp[j].name, sp[i].name))
				client = j;
		ck_assert_msg(client >= 0, "no client span named %s", sp[i].name);
		/* without the stream in the key, both would join the last client span on the 4-tuple */
		ck_assert_str_eq(sp[i].parent, sp[client].span);
		ck_assert_str_eq(sp[i].trace, sp[client].trace);
	}
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "A"), 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "B"), 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "A"), 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "B"), 1);
}
END_TEST

START_TEST(midway_connection_counted_lost)
{
	char *text;
	size_t len;
	struct pair p;
	int32_t id;
	int from;

	pair_open(&p, NULL, 0, 0);
	id = call_start(&p, "/pkg.Echo/A", NULL, 0);
	call_answer(&p, id, 1, "0");
	from = p.n;
	for (int i = 0; i < 2; i++) {
		id = call_start(&p, "/pkg.Echo/A", NULL, 0);
		call_answer(&p, id, 1, "0");
	}
	replay(&p, from, false, 7); /* the server only, from after its first call */
	pair_close(&p);

	text = metrics__render(m, false, &len);
	ck_assert_ptr_nonnull(
		strstr(text, "obsprobe_events_lost_total{source=\"ebpf\",reason=\"http2_hpack_lost\"} 6\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "obsprobe_events_lost_total{source=\"ebpf\",reason=\"http2_stream_lost\"} 2\n"));
	ck_assert_ptr_null(strstr(text, "rpc_server_duration_seconds_count"));
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("h2_demux");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, multiplexed_calls_join_by_stream);
	tcase_add_test(tc, midway_connection_counted_lost);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
