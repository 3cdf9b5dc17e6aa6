/* test_shim_h2_fold.c -- the shim's HTTP/2 path end to end without LD_PRELOAD: a libnghttp2 client and server's
 * bytes (tests/unit/h2_pair.h) fed to netcap.c as a traced client's and a traced server's connections, framed into
 * OBS_REC_H2 records in a segment in memory, folded by the collector's shm_h2.c into sessions, exchanges, rpc
 * histograms and spans: each call counted once per side, the client span a child of what its thread served, the
 * injected span id taken as the client span's; sessions closed with their connection, bounded and evicted
 * (counted); records that are not ones counted invalid */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "preload/netcap.h"
#include "preload/seg.h"
#include "signal/metrics.h"
#include "signal/names.h"
#include "signal/redact.h"
#include "signal/traces.h"
#include "source/shm_h2.h"

#include "h2_pair.h" /* after stdbool.h */

#define RIG_NAME "test_shim_h2_fold"
#define RIG_MAX_SPANS 1000
#include "shim_h2_rig.h"

/* the pair's chunks from @from on, as the traced client (@cli) and the traced server (@srv) moved them */
static int feed_chunks(struct pair *p, int from, int cli, int srv)
{
	for (int i = from; i < p->n; i++) {
		struct iovec v = { p->log[i].data, p->log[i].len };

		netcap__data(cli, p->log[i].from_client ? 1 : 0, &v, 1, v.iov_len);
		netcap__data(srv, p->log[i].from_client ? 0 : 1, &v, 1, v.iov_len);
	}
	return p->n;
}

/* the ring into the collector; @edit: called on each record first */
static int fold(void (*edit)(struct obs_seg_h2 *r))
{
	struct obs_seg_rec r;
	int n = 0;

	while (obs_seg_ring_get(s, &r)) {
		if (r.type != OBS_REC_H2)
			continue;
		if (edit)
			edit((struct obs_seg_h2 *)r.data);
		shm_h2__record(h, 1, &r, &res);
		n++;
	}
	return n;
}

static uint64_t rpc_count(enum family_id fam, const char *method, const char *code)
{
	struct hist hh;

	if (!metrics__get_hist(m, fam, (const char *[]){ "svc", "grpc", "pkg.Echo", method, code }, &hh))
		return 0;
	return hh.count;
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

/* the value of "key":"..." in the first span line of kind @kind */
static void span_field(const char *spans, int kind, const char *key, char *out, size_t outlen)
{
	char want[32], pat[64];
	const char *line = spans;

	snprintf(want, sizeof(want), "\"kind\":%d,", kind);
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	while (line && *line) {
		const char *end = strchr(line, '\n'), *k;

		if (memmem(line, end ? (size_t)(end - line) : strlen(line), want, strlen(want)) &&
		    (k = strstr(line, pat))) {
			k += strlen(pat);
			snprintf(out, outlen, "%.*s", (int)(strchr(k, '"') - k), k);
			return;
		}
		line = end ? end + 1 : NULL;
	}
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *q = hay; (q = strstr(q, needle)); q++)
		n++;
	return n;
}

static const uint8_t injected[8] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0 };

/* the client's request block as if the shim had put its traceparent in: the span id it used */
static void mark_injected(struct obs_seg_h2 *r)
{
	if (r->ev.type == H2_EV_HEADERS && r->ev.dir == 1 && r->ev.stream == 3 && !(r->ev.flags & H2_EVF_MORE) &&
	    r->trace_id[0]) {
		memcpy(r->span_id, injected, 8);
		r->sampled = 1; /* as the request this thread serves was */
	}
}

START_TEST(calls_fold_into_exchanges_once_per_side)
{
	struct pair p;
	int cli, srv, fed = 0;
	char spans[16384], tr[40], tr2[40], parent[24], span[24];

	struct shm_h2_stats st;
	int32_t id;

	tcp_pair(&cli, &srv);
	pair_open(&p, NULL, 0, 0);
	fed = feed_chunks(&p, fed, cli, srv);
	/* an untraced call, then one while this thread serves a request */
	id = call_start(&p, "/pkg.Echo/A", NULL, 0);
	call_answer(&p, id, 2, "0");
	fed = feed_chunks(&p, fed, cli, srv);
	netcap_serving.active = true;
	memset(netcap_serving.trace_id, 0xab, 16);
	memset(netcap_serving.span_id, 0xcd, 8);
	id = call_start(&p, "/pkg.Echo/B", NULL, 0);
	fed = feed_chunks(&p, fed, cli, srv);
	netcap_serving.active = false;
	call_answer(&p, id, 1, "14");
	fed = feed_chunks(&p, fed, cli, srv);
	ck_assert_int_gt(fold(mark_injected), 10);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.invalid, 0);
	ck_assert_uint_eq(st.sessions, 2); /* the client's connection and the server's */
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "A", "0"), 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "A", "0"), 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "B", "14"), 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "B", "14"), 1);
	/* the connections close: their sessions end */
	forget(cli);
	forget(srv);
	ck_assert_int_eq(fold(NULL), 2);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.sessions, 0);
	/* the client span of B: the serving trace, its span as parent, the injected id as its own */
	read_spans(spans, sizeof(spans));
	ck_assert_ptr_nonnull(strstr(spans, "\"spanId\":\"123456789abcdef0\""));
	ck_assert_ptr_nonnull(strstr(spans, "\"traceId\":\"abababababababababababababababab\""));
	ck_assert_ptr_nonnull(strstr(spans, "\"parentSpanId\":\"cdcdcdcdcdcdcdcd\""));
	/* A: untraced, the server's span joined to the client's by the connection's 4-tuple and stream */
	span_field(spans, 3, "traceId", tr, sizeof(tr));
	span_field(spans, 3, "spanId", span, sizeof(span));
	span_field(spans, 2, "parentSpanId", parent, sizeof(parent));
	ck_assert_str_eq(parent, span);
	span_field(spans, 2, "traceId", tr2, sizeof(tr2));
	ck_assert_str_eq(tr2, tr);
	ck_assert_int_eq(count(spans, "\"kind\":3"), 2);
	ck_assert_int_eq(count(spans, "\"kind\":2"), 2);
	pair_close(&p);
}
END_TEST

START_TEST(sessions_bounded_and_records_checked)
{
	struct obs_seg_rec r = { .type = OBS_REC_H2, .len = OBS_SEG_H2_HEAD };
	struct obs_seg_h2 *x = (struct obs_seg_h2 *)r.data;
	struct shm_h2_stats st;
	uint64_t invalid = 0;

	x->pid = 7;
	x->ev.type = H2_EV_PREFACE;
	for (uint64_t c = 1; c <= SHM_H2_SESSIONS + 3; c++) {
		x->conn = c;
		shm_h2__record(h, 1, &r, &res);
	}
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.sessions, SHM_H2_SESSIONS);
	ck_assert_uint_eq(st.evicted, 3);
	/* the same connection of another segment is another session */
	x->conn = SHM_H2_SESSIONS + 3;
	shm_h2__record(h, 2, &r, &res);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.evicted, 4);
	/* a segment gone: its sessions end */
	shm_h2__forget(h, 1, 1);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.sessions, 1);
	shm_h2__forget(h, 2, 1);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.sessions, 0);
	/* records that are not ones: each counted, none makes a session */
#define BAD(stmt)                                                                       \
	do {                                                                            \
		r = (struct obs_seg_rec){ .type = OBS_REC_H2, .len = OBS_SEG_H2_HEAD }; \
		x->pid = 7, x->conn = 1, x->ev.type = H2_EV_PREFACE;                    \
		stmt;                                                                   \
		shm_h2__record(h, 1, &r, &res);                                         \
		shm_h2__stats(h, &st);                                                  \
		ck_assert_uint_eq(st.invalid, ++invalid);                               \
		ck_assert_uint_eq(st.sessions, 0);                                      \
	} while (0)
	BAD(r.type = OBS_REC_LOG);
	BAD(r.len = OBS_SEG_H2_HEAD - 1);
	BAD(r.len = sizeof(r.data) + 1);
	BAD(x->conn = 0);
	BAD(x->pid = 0);
	BAD(x->ev.dir = 2);
	BAD(x->ev.type = 0);
	BAD(x->ev.type = 99);
	BAD(r.len = OBS_SEG_H2_HEAD + 1);			 /* bytes after an event that carries none */
	BAD(x->ev.type = H2_EV_HEADERS; x->ev.len = 1);		 /* a block longer than the record */
	BAD(x->ev.type = H2_EV_HEADERS; x->ev.len = 0xffffffff); /* ... by far */
	/* and good ones still make a session */
	x->ev.type = H2_EV_HEADERS;
	x->ev.len = 3;
	r.len = OBS_SEG_H2_HEAD + 3;
	shm_h2__record(h, 1, &r, &res);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.invalid, invalid);
	ck_assert_uint_eq(st.sessions, 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_h2_fold");
	TCase *tc = tcase_create("fold");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, calls_fold_into_exchanges_once_per_side);
	tcase_add_test(tc, sessions_bounded_and_records_checked);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
