/* test_otlp_grpc.c -- OTLP/gRPC's wire pieces (export/otlp_grpc.c): framing, grpc-timeout, status and RetryInfo */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_grpc.h"

/* feed "name: value\r\n" as libcurl does */
static void hdr(struct grpc_status *st, const char *line)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "%s\r\n", line);
	otlp_grpc__header(st, buf, strlen(buf));
}

START_TEST(prefix_and_unframe)
{
	uint8_t p[GRPC_PREFIX], body[GRPC_PREFIX + 3] = { 0 };
	const uint8_t *msg;
	size_t len;
	bool z;

	otlp_grpc__prefix(p, false, 0x01020304);
	ck_assert_mem_eq(p, "\x00\x01\x02\x03\x04", 5);
	otlp_grpc__prefix(p, true, 300);
	ck_assert_mem_eq(p, "\x01\x00\x00\x01\x2c", 5);

	otlp_grpc__prefix(body, true, 3);
	memcpy(body + GRPC_PREFIX, "abc", 3);
	ck_assert_int_eq(otlp_grpc__unframe(body, sizeof(body), &msg, &len, &z), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert(z);
	ck_assert_mem_eq(msg, "abc", 3);
	ck_assert_int_eq(otlp_grpc__unframe(body, 0, &msg, &len, &z), 1);		  /* no message */
	ck_assert_int_eq(otlp_grpc__unframe(body, 4, &msg, &len, &z), -1);		  /* a cut prefix */
	ck_assert_int_eq(otlp_grpc__unframe(body, sizeof(body) - 1, &msg, &len, &z), -1); /* a cut message */
	otlp_grpc__prefix(body, false, 2);
	ck_assert_int_eq(otlp_grpc__unframe(body, sizeof(body), &msg, &len, &z), -1); /* two messages' worth */
	body[0] = 2;
	otlp_grpc__prefix(body + 1, false, 0); /* flag 2 is no flag */
	ck_assert_int_eq(otlp_grpc__unframe(body, GRPC_PREFIX, &msg, &len, &z), -1);
}
END_TEST

START_TEST(timeout_header)
{
	char b[64];

	ck_assert_int_eq(otlp_grpc__timeout_header(b, sizeof(b), 10000), (int)strlen("grpc-timeout: 10000m"));
	ck_assert_str_eq(b, "grpc-timeout: 10000m");
	otlp_grpc__timeout_header(b, sizeof(b), 1);
	ck_assert_str_eq(b, "grpc-timeout: 1m");
	otlp_grpc__timeout_header(b, sizeof(b), 0); /* never 0: that is an expired deadline */
	ck_assert_str_eq(b, "grpc-timeout: 1m");
	otlp_grpc__timeout_header(b, sizeof(b), 99999999);
	ck_assert_str_eq(b, "grpc-timeout: 99999999m");
	otlp_grpc__timeout_header(b, sizeof(b), 100000000); /* 9 digits: seconds, rounded up */
	ck_assert_str_eq(b, "grpc-timeout: 100000S");
	otlp_grpc__timeout_header(b, sizeof(b), 100000001);
	ck_assert_str_eq(b, "grpc-timeout: 100001S");
	ck_assert_int_eq(otlp_grpc__timeout_header(b, 10, 10000), -1);
}
END_TEST

START_TEST(status_from_trailers)
{
	struct grpc_status st;

	otlp_grpc__status_reset(&st);
	ck_assert_int_eq(st.code, -1);
	ck_assert_int_eq(st.retry_delay_ms, -1);
	hdr(&st, "HTTP/2 200 ");
	hdr(&st, "content-type: application/grpc");
	hdr(&st, "");
	ck_assert_int_eq(st.code, -1);
	hdr(&st, "Grpc-Status: 14");
	hdr(&st, "grpc-message: no%20room %E2%9C%93 %0Anewline %zz %4");
	ck_assert_int_eq(st.code, GRPC_UNAVAILABLE);
	/* percent-decoded; the newline replaced; bad escapes kept as they are */
	ck_assert_str_eq(st.msg, "no room \xe2\x9c\x93 ?newline %zz %4");
	hdr(&st, "grpc-status: 0");
	ck_assert_int_eq(st.code, GRPC_OK);
	hdr(&st, "grpc-status: 17"); /* not a code */
	ck_assert_int_eq(st.code, GRPC_UNKNOWN);
	hdr(&st, "grpc-status: 1x");
	ck_assert_int_eq(st.code, GRPC_UNKNOWN);
	hdr(&st, "grpc-status: ");
	ck_assert_int_eq(st.code, GRPC_UNKNOWN);
	hdr(&st, "grpc-status: 99999999999999999999");
	ck_assert_int_eq(st.code, GRPC_UNKNOWN);
	hdr(&st, "grpc-statusx: 0");
	ck_assert_int_eq(st.code, GRPC_UNKNOWN);
	ck_assert(!st.gzip);
	hdr(&st, "grpc-encoding: gzip");
	ck_assert(st.gzip);
	hdr(&st, "grpc-encoding: identity");
	ck_assert(!st.gzip);
}
END_TEST

START_TEST(retry_info)
{
	/* what tests/otlp/grpc_receiver.py sends: Status{code 8, "slow down", RetryInfo{retry_delay 1.5 s}},
	 * unpadded base64 as gRPC sends -bin values */
	static const char b64[] =
		"CAgSCXNsb3cgZG93bho2Cih0eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5ycGMuUmV0cnlJbmZvEgoKCAgBEIDKte4B";
	struct grpc_status st;
	uint8_t bin[256];
	long n, ms;

	otlp_grpc__status_reset(&st);
	hdr(&st, "grpc-status: 8");
	hdr(&st,
	    "grpc-status-details-bin: CAgSCXNsb3cgZG93bho2Cih0eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5ycGMuUmV0cnlJbmZvEgoKCAgBEIDKte4B");
	ck_assert_int_eq(st.code, GRPC_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(st.retry_delay_ms, 1500);
	ck_assert(!st.bad_details);

	n = otlp_grpc__base64(b64, strlen(b64), bin, sizeof(bin));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(otlp_grpc__retry_info(bin, (size_t)n, &ms), 0);
	ck_assert_int_eq(ms, 1500);
	for (long cut = 0; cut < n; cut++) { /* every cut either decodes without RetryInfo or fails, never reads past */
		uint8_t *c = malloc((size_t)cut + 1);

		memcpy(c, bin, (size_t)cut);
		otlp_grpc__retry_info(c, (size_t)cut, &ms);
		ck_assert_int_eq(ms, -1);
		free(c);
	}

	/* built by hand: Any{RetryInfo{Duration{seconds 7200}}} is capped at an hour; no retry_delay -> 0 */
	static const uint8_t url[] = "type.googleapis.com/google.rpc.RetryInfo";
	uint8_t m[128], *p = m;
	size_t ulen = sizeof(url) - 1;

	*p++ = 0x1a; /* details */
	*p++ = (uint8_t)(2 + ulen + 2 + 5);
	*p++ = 0x0a;
	*p++ = (uint8_t)ulen;
	memcpy(p, url, ulen);
	p += ulen;
	*p++ = 0x12; /* value: RetryInfo */
	*p++ = 5;
	*p++ = 0x0a; /* retry_delay */
	*p++ = 3;
	*p++ = 0x08; /* seconds 7200 */
	*p++ = 0x90;
	*p++ = 0x38;
	ck_assert_int_eq(otlp_grpc__retry_info(m, (size_t)(p - m), &ms), 0);
	ck_assert_int_eq(ms, 3600000);
	m[1] -= 5;
	p[-6] = 0; /* RetryInfo{} */
	ck_assert_int_eq(otlp_grpc__retry_info(m, (size_t)(p - m) - 5, &ms), 0);
	ck_assert_int_eq(ms, 0);
	/* another detail type: no RetryInfo */
	m[1] += 5;
	p[-6] = 5;
	m[4] = 'X';
	ck_assert_int_eq(otlp_grpc__retry_info(m, (size_t)(p - m), &ms), 0);
	ck_assert_int_eq(ms, -1);

	/* garbage details: said, no RetryInfo */
	otlp_grpc__status_reset(&st);
	hdr(&st, "grpc-status-details-bin: ***");
	ck_assert(st.bad_details);
	ck_assert_int_eq(st.retry_delay_ms, -1);
	otlp_grpc__status_reset(&st);
	hdr(&st, "grpc-status-details-bin: GgUKB2FiYw"); /* details: Any with a cut field */
	ck_assert(st.bad_details);
}
END_TEST

START_TEST(base64_forms)
{
	uint8_t out[8];

	ck_assert_int_eq(otlp_grpc__base64("Zm9vYg==", 8, out, sizeof(out)), 4);
	ck_assert_mem_eq(out, "foob", 4);
	ck_assert_int_eq(otlp_grpc__base64("Zm9vYg", 6, out, sizeof(out)), 4);
	ck_assert_int_eq(otlp_grpc__base64("-_-_", 4, out, sizeof(out)), 3); /* URL-safe */
	ck_assert_mem_eq(out, "\xfb\xff\xbf", 3);
	ck_assert_int_eq(otlp_grpc__base64("Zm9vY", 5, out, sizeof(out)), -1); /* 1 char left over */
	ck_assert_int_eq(otlp_grpc__base64("Zm 9v", 5, out, sizeof(out)), -1);
	ck_assert_int_eq(otlp_grpc__base64("Zm9vYmFyYmF6", 12, out, 8), -1); /* 9 bytes into 8 */
	ck_assert_int_eq(otlp_grpc__base64("", 0, out, sizeof(out)), 0);
}
END_TEST

START_TEST(codes_and_retry_rules)
{
	char b[16];

	ck_assert_int_eq(otlp_grpc__from_http(400), GRPC_INTERNAL);
	ck_assert_int_eq(otlp_grpc__from_http(401), GRPC_UNAUTHENTICATED);
	ck_assert_int_eq(otlp_grpc__from_http(403), GRPC_PERMISSION_DENIED);
	ck_assert_int_eq(otlp_grpc__from_http(404), GRPC_UNIMPLEMENTED);
	for (int s = 0; s < 600; s++)
		if (s == 429 || s == 502 || s == 503 || s == 504)
			ck_assert_int_eq(otlp_grpc__from_http(s), GRPC_UNAVAILABLE);
		else if (s != 400 && s != 401 && s != 403 && s != 404)
			ck_assert_int_eq(otlp_grpc__from_http(s), GRPC_UNKNOWN);

	/* OTLP: retryable CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS; RESOURCE_EXHAUSTED
	 * only with RetryInfo; nothing else */
	for (int c = 0; c <= 17; c++) {
		bool want = c == 1 || c == 4 || c == 10 || c == 11 || c == 14 || c == 15;

		ck_assert_msg(otlp_grpc__retryable(c, false) == want, "code %d", c);
		ck_assert_msg(otlp_grpc__retryable(c, true) == (want || c == 8), "code %d with RetryInfo", c);
	}
	ck_assert_str_eq(otlp_grpc__code_name(14, b, sizeof(b)), "UNAVAILABLE");
	ck_assert_str_eq(otlp_grpc__code_name(16, b, sizeof(b)), "UNAUTHENTICATED");
	ck_assert_str_eq(otlp_grpc__code_name(17, b, sizeof(b)), "code 17");
	ck_assert_str_eq(otlp_grpc__code_name(-1, b, sizeof(b)), "code -1");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("otlp_grpc");
	TCase *tc = tcase_create("wire");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, prefix_and_unframe);
	tcase_add_test(tc, timeout_header);
	tcase_add_test(tc, status_from_trailers);
	tcase_add_test(tc, retry_info);
	tcase_add_test(tc, base64_forms);
	tcase_add_test(tc, codes_and_retry_rules);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
