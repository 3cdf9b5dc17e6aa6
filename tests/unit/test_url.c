/* test_url.c -- one rule for an OTLP endpoint: the option check and the exporter's agree on every case, the
 * ones where their two old rules differed included */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "export/exporter.h"
#include "export/url.h"

START_TEST(one_rule)
{
	static const char *const ok[] = {
		"http://127.0.0.1:4318",
		"https://otel.example.com/prefix/",
		"http://[::1]:4318",
		"HTTP://h:1",
		"http://user:pw@collector:4318",
		"http://a",
		"http://h:65535",
		"http://h/a@b",
		"http://[fe80::1%25eth0]:1",
	};
	static const char *const bad[] = {
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
		"http://h\tost",
		"http://u@",
		/* accepted by one of the two old rules only */
		"http://h~x:1",
		"http://h%41",
		"http://[zz]:1",
		"http://h:000080",
		"http://a@b@c",
	};
	char err[256], big[1200];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(!url__check(ok[i]), "%s: %s", ok[i], url__check(ok[i]));
		ck_assert_int_eq(exporter__check_endpoint(ok[i], err, sizeof(err)), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = url__check(bad[i]);

		ck_assert_msg(why, "accepted %s", bad[i]);
		ck_assert_int_eq(exporter__check_endpoint(bad[i], err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, why), "'%s': '%s' does not say '%s'", bad[i], err, why);
	}
	/* at most URL_MAX_LEN characters: the exporter appends /v1/traces */
	memcpy(big, "http://h/", 9);
	memset(big + 9, 'p', URL_MAX_LEN - 9);
	big[URL_MAX_LEN] = '\0';
	ck_assert_ptr_null(url__check(big));
	strcat(big, "p");
	ck_assert_str_eq(url__check(big), "is too long (at most 900 characters)");
	ck_assert_int_eq(exporter__check_endpoint(big, err, sizeof(err)), -1);
	ck_assert_int_eq(exporter__check_endpoint("", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "empty URL");
	ck_assert_int_eq(exporter__check_endpoint(NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(pieces)
{
	ck_assert_int_eq(url__port("1", 1), 1);
	ck_assert_int_eq(url__port("65535", 5), 65535);
	ck_assert_int_eq(url__port("65536", 5), -1);
	ck_assert_int_eq(url__port("0", 1), -1);
	ck_assert_int_eq(url__port("", 0), -1);
	ck_assert_int_eq(url__port("123456", 6), -1);
	ck_assert_int_eq(url__port("80x", 2), 80); /* only @len characters */
	ck_assert(url__is_hostname("a-b.c", 5));
	ck_assert(!url__is_hostname("a_b", 3));
	ck_assert(!url__is_hostname("", 0));
	ck_assert(url__is_ip(AF_INET6, "::1", 3));
	ck_assert(url__is_ip(AF_INET6, "fe80::1%eth0", 12));
	ck_assert(url__is_ip(AF_INET, "10.0.0.1", 8));
	ck_assert(!url__is_ip(AF_INET, "10.0.0", 6));
}
END_TEST

/* scheme://authority and whether it gives a port: where the exporter adds 4317/4318 and OTLP/gRPC's method */
START_TEST(origin)
{
	static const struct {
		const char *url;
		size_t len;
		bool port;
	} cases[] = {
		{ "http://h", 8, false },
		{ "http://h:4318", 13, true },
		{ "http://h/pre/fix", 8, false },
		{ "https://h:443/p", 13, true },
		{ "http://u:pw@h/p", 13, false }, /* the ':' of userinfo is no port */
		{ "http://u:pw@h:1/p", 15, true },
		{ "http://[::1]", 12, false },
		{ "http://[::1]:4317/x", 17, true },
		{ "HTTP://H", 8, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool port = !cases[i].port;

		ck_assert_msg(!url__check(cases[i].url), "%s", cases[i].url);
		ck_assert_msg(url__origin(cases[i].url, &port) == cases[i].len, "%s", cases[i].url);
		ck_assert_msg(port == cases[i].port, "%s", cases[i].url);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, one_rule);
	tcase_add_test(tc, pieces);
	tcase_add_test(tc, origin);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
