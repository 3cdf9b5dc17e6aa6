/* test_exporter_grpc.c -- the OTLP/gRPC exporter against a scripted h2c server (h2fake.h): the request on the wire,
 * status from trailers or trailers-only answers, HTTP statuses without grpc-status, RetryInfo, partial success */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "export/exporter.h"
#include "export/span.h"
#include "h2fake.h"

#define GRPC_PREFIX_LEN 5

static void make_span(struct span *s, int i)
{
	memset(s, 0, sizeof(*s));
	s->trace_id[0] = 0xab;
	s->trace_id[15] = (uint8_t)i;
	s->span_id[0] = 1;
	s->span_id[7] = (uint8_t)i;
	snprintf(s->name, sizeof(s->name), "span-%d", i);
	s->kind = SPAN_KIND_SERVER;
	s->start_ns = 1700000000000000000ull + (uint64_t)i;
	s->end_ns = s->start_ns + 1000;
	span__copy_str(s->resource.service_name, SPAN_RES_STR_LEN, "svc");
}

/* push @n spans through a gRPC exporter to a fresh h2fake running @script; shuts the exporter down */
static void run(struct h2fake *f, const struct h2fake_resp *script, int nscript, int n, bool gzip,
		struct exporter_stats *st)
{
	char url[64];
	struct exporter_opts o = { .endpoint = url,
				   .protocol = OTLP_GRPC,
				   .no_gzip = !gzip,
				   .batch_max = n,
				   .batch_delay_ms = 50,
				   .backoff_ms = 20,
				   .max_backoff_ms = 40,
				   .max_attempts = 4,
				   .timeout_ms = 2500,
				   .flush_timeout_ms = 5000,
				   .host_name = "h" };
	struct exporter *e;
	struct span s;

	ck_assert_int_eq(h2fake_start(f, script, nscript), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
	e = exporter__new(&o);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < n; i++) {
		make_span(&s, i);
		ck_assert_int_eq(exporter__push_span(e, &s), 0);
	}
	for (int i = 0; i < 500; i++) { /* bounded: 10 s */
		exporter__stats(e, st);
		if (st->spans_exported + st->spans_export_failed == (uint64_t)n)
			break;
		usleep(20000);
	}
	exporter__shutdown(e);
	exporter__stats(e, st);
	exporter__free(e);
	h2fake_stop(f);
}

static const uint8_t EMPTY_MSG[GRPC_PREFIX_LEN] = { 0 };
#define OK_BODY(ct)                                                            \
	{                                                                      \
		"200", ct, "0", NULL, NULL, NULL, EMPTY_MSG, sizeof(EMPTY_MSG) \
	}

START_TEST(request_on_the_wire)
{
	static const struct h2fake_resp ok[] = { OK_BODY("application/grpc") };
	static struct h2fake f;
	struct exporter_stats st;
	uint8_t out[65536];
	uLongf outlen = sizeof(out);
	uint32_t len;

	for (int gz = 0; gz <= 1; gz++) {
		run(&f, ok, 1, 5, gz, &st);
		ck_assert_uint_eq(st.spans_exported, 5);
		ck_assert_uint_eq(st.requests, 1);
		ck_assert_int_eq(f.calls, 1);
		ck_assert_ptr_nonnull(
			strstr(f.headers, ":path: /opentelemetry.proto.collector.trace.v1.TraceService/Export\n"));
		ck_assert_ptr_nonnull(strstr(f.headers, ":method: POST\n"));
		ck_assert_ptr_nonnull(strstr(f.headers, "content-type: application/grpc\n"));
		ck_assert_ptr_nonnull(strstr(f.headers, "te: trailers\n"));
		ck_assert_ptr_nonnull(strstr(f.headers, "grpc-timeout: 2500m\n"));
		ck_assert(!strstr(f.headers, "content-encoding"));
		ck_assert(!!strstr(f.headers, "grpc-encoding: gzip\n") == gz);
		ck_assert(!!strstr(f.headers, "grpc-accept-encoding: gzip\n") == gz);
		/* one length-prefixed message, flagged when compressed */
		ck_assert_uint_ge(f.body_len[0], GRPC_PREFIX_LEN);
		len = (uint32_t)f.bodies[0][1] << 24 | (uint32_t)f.bodies[0][2] << 16 | (uint32_t)f.bodies[0][3] << 8 |
		      f.bodies[0][4];
		ck_assert_uint_eq(len + GRPC_PREFIX_LEN, f.body_len[0]);
		ck_assert_uint_eq(f.bodies[0][0], gz);
		if (gz) {
			z_stream zs = {
				.next_in = f.bodies[0] + 5, .avail_in = len, .next_out = out, .avail_out = sizeof(out)
			};

			ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
			ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
			outlen = zs.total_out;
			inflateEnd(&zs);
		} else {
			memcpy(out, f.bodies[0] + 5, len);
			outlen = len;
		}
		ck_assert_ptr_nonnull(memmem(out, outlen, "span-4", 6)); /* the ExportTraceServiceRequest */
		ck_assert_uint_eq(out[0], 0x0a);			 /* field 1: resource_spans */
	}
}
END_TEST

START_TEST(statuses)
{
	static const struct {
		struct h2fake_resp r;
		int calls;	   /* calls made for the batch of 3 (max_attempts 4) */
		uint64_t exported; /* of 3 */
	} cases[] = {
		/* trailers-only UNAVAILABLE: retried to the end */
		{ { "200", "application/grpc", "14", "busy", NULL, NULL, NULL, 0 }, 4, 0 },
		/* status in trailers after an empty message body */
		{ { "200", "application/grpc", "3", "bad", NULL, NULL, EMPTY_MSG, sizeof(EMPTY_MSG) }, 1, 0 },
		/* RESOURCE_EXHAUSTED without RetryInfo: not retried */
		{ { "200", "application/grpc", "8", NULL, NULL, NULL, NULL, 0 }, 1, 0 },
		/* HTTP statuses without grpc-status: 503 -> UNAVAILABLE (retried), 404 -> UNIMPLEMENTED, 400 -> INTERNAL */
		{ { "503", "text/plain", NULL, NULL, NULL, NULL, NULL, 0 }, 4, 0 },
		{ { "404", "text/plain", NULL, NULL, NULL, NULL, NULL, 0 }, 1, 0 },
		{ { "400", NULL, NULL, NULL, NULL, NULL, NULL, 0 }, 1, 0 },
		/* a 502 with grpc-status: the status wins (INVALID_ARGUMENT: not retried) */
		{ { "502", "application/grpc", "3", NULL, NULL, NULL, NULL, 0 }, 1, 0 },
		/* 200 without grpc-status, or not application/grpc: failed, not retried */
		{ { "200", "application/grpc", NULL, NULL, NULL, NULL, EMPTY_MSG, sizeof(EMPTY_MSG) }, 1, 0 },
		{ { "200", "text/html", "0", NULL, NULL, NULL, NULL, 0 }, 1, 0 },
		/* OK trailers-only (no message): accepted */
		{ { "200", "application/grpc", "0", NULL, NULL, NULL, NULL, 0 }, 1, 3 },
	};
	static struct h2fake f;
	struct exporter_stats st;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(&f, &cases[i].r, 1, 3, true, &st);
		ck_assert_msg(f.calls == cases[i].calls, "case %zu: %d calls", i, f.calls);
		ck_assert_msg(st.spans_exported == cases[i].exported, "case %zu: exported %llu", i,
			      (unsigned long long)st.spans_exported);
		ck_assert_uint_eq(st.spans_export_failed, 3 - cases[i].exported);
		ck_assert_uint_eq(st.requests, (uint64_t)cases[i].calls);
		ck_assert_uint_eq(st.retries, (uint64_t)cases[i].calls - 1);
	}
}
END_TEST

/* RESOURCE_EXHAUSTED with RetryInfo{1.5 s} (python's encoding, unpadded), then OK: retried once and delivered;
 * UNAVAILABLE with RetryInfo{2 h}: the delay (an hour at most) is past the 30 s retry budget, so no retry at all,
 * where the 20 ms backoff would have retried 3 times */
START_TEST(retry_info_is_obeyed)
{
	static const struct h2fake_resp script[] = {
		{ "200", "application/grpc", "8", "slow%20down",
		  "CAgSCXNsb3cgZG93bho2Cih0eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5ycGMuUmV0cnlJbmZvEgoKCAgBEIDKte4B", NULL,
		  NULL, 0 },
		OK_BODY("application/grpc"),
	};
	static const struct h2fake_resp later[] = {
		{ "200", "application/grpc", "14", NULL,
		  "CA4aMQoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLlJldHJ5SW5mbxIFCgMIoDg", NULL, NULL, 0 },
		OK_BODY("application/grpc"),
	};
	static struct h2fake f;
	struct exporter_stats st;

	run(&f, script, 2, 3, true, &st);
	ck_assert_int_eq(f.calls, 2);
	ck_assert_uint_eq(st.spans_exported, 3);
	ck_assert_uint_eq(st.retries, 1);

	run(&f, later, 2, 3, true, &st);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_uint_eq(st.spans_export_failed, 3);
	ck_assert_uint_eq(st.retries, 0);
}
END_TEST

/* OK with partial_success{rejected_spans 2, "too old"} in the response message, plain and gzip-compressed */
START_TEST(partial_success)
{
	static const uint8_t inner[] = { 0x0a, 0x0b, 0x08, 0x02, 0x12, 0x07, 't', 'o', 'o', ' ', 'o', 'l', 'd' };
	static uint8_t plain[GRPC_PREFIX_LEN + sizeof(inner)], gz[128];
	static struct h2fake_resp script[1] = { { "200", "application/grpc", "0", NULL, NULL, NULL, NULL, 0 } };
	static struct h2fake f;
	struct exporter_stats st;
	z_stream zs = { 0 };

	memcpy(plain + 5, inner, sizeof(inner));
	plain[4] = sizeof(inner);
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (uint8_t *)inner;
	zs.avail_in = sizeof(inner);
	zs.next_out = gz + 5;
	zs.avail_out = sizeof(gz) - 5;
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	gz[0] = 1;
	gz[4] = (uint8_t)zs.total_out;
	deflateEnd(&zs);

	script[0].body = plain;
	script[0].body_len = sizeof(plain);
	run(&f, script, 1, 5, true, &st);
	ck_assert_uint_eq(st.spans_exported, 3);
	ck_assert_uint_eq(st.spans_export_failed, 2);
	ck_assert_uint_eq(st.retries, 0);

	script[0].body = gz;
	script[0].body_len = 5 + gz[4];
	script[0].encoding = "gzip";
	run(&f, script, 1, 5, true, &st);
	ck_assert_uint_eq(st.spans_exported, 3);
	ck_assert_uint_eq(st.spans_export_failed, 2);

	/* a compressed message without grpc-encoding does not decode: taken as accepted (the status says OK) */
	script[0].encoding = NULL;
	run(&f, script, 1, 5, true, &st);
	ck_assert_uint_eq(st.spans_exported, 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exporter_grpc");
	TCase *tc = tcase_create("h2c");
	SRunner *sr;
	int failed;

	unsetenv("http_proxy"); /* loopback only, never through a proxy */
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, request_on_the_wire);
	tcase_add_test(tc, statuses);
	tcase_add_test(tc, retry_info_is_obeyed);
	tcase_add_test(tc, partial_success);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
