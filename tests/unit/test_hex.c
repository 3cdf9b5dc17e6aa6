/* test_hex.c -- the one hex encoder (trace and span ids: spans, logs, OTLP/JSON, the shim's traceparent) */
#include <check.h>
#include <string.h>

#include "lib/hex.h"

START_TEST(encode)
{
	const uint8_t id[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[17], buf[8];

	memset(out, 'x', sizeof(out));
	hex__encode(out, id, sizeof(id));
	ck_assert_str_eq(out, "00017f80abcdefff");
	hex__encode(out, id, 0);
	ck_assert_str_eq(out, "");
	/* put: no NUL, the end returned, nothing past it written */
	memset(buf, 'x', sizeof(buf));
	ck_assert_ptr_eq(hex__put(buf, id + 4, 3), buf + 6);
	ck_assert(!memcmp(buf, "abcdefxx", 8));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, encode);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
