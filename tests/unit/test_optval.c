/* test_optval.c -- the syntax of option values: numbers, ADDR:PORT, OTLP URLs, [OBJ:]GLOB, headers */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cli/optval.h"
#include "export/url.h"

START_TEST(numbers)
{
	static const char *const bad_long[] = { "", " 1", "1 ", "1x", "0x10", "1.0", "99999999999999999999", "-" };
	static const char *const bad_double[] = { "", " 1", "1s", "nan", "inf", "-inf", "1e400", "." };
	long l;
	double d;

	ck_assert_int_eq(optval_long("42", &l), 0);
	ck_assert_int_eq(l, 42);
	ck_assert_int_eq(optval_long("-7", &l), 0);
	ck_assert_int_eq(l, -7);
	for (size_t i = 0; i < sizeof(bad_long) / sizeof(bad_long[0]); i++)
		ck_assert_msg(optval_long(bad_long[i], &l) == -1, "'%s' accepted", bad_long[i]);
	ck_assert_int_eq(optval_double("0.25", &d), 0);
	ck_assert(d == 0.25);
	ck_assert_int_eq(optval_double("1e-3", &d), 0);
	ck_assert(d == 0.001);
	for (size_t i = 0; i < sizeof(bad_double) / sizeof(bad_double[0]); i++)
		ck_assert_msg(optval_double(bad_double[i], &d) == -1, "'%s' accepted", bad_double[i]);
}
END_TEST

START_TEST(listen)
{
	static const struct {
		const char *arg, *host;
		int port;
	} ok[] = {
		{ "127.0.0.1:9000", "127.0.0.1", 9000 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "[::1]:9000", "::1", 9000 },
		{ "[::]:65535", "::", 65535 },
		{ "[fe80::1%lo]:80", "fe80::1%lo", 80 },
		{ "localhost:9002", "localhost", 9002 },
		{ ":9001", "127.0.0.1", 9001 },
		{ "9003", "127.0.0.1", 9003 },
		{ "my-host.example:80", "my-host.example", 80 },
	};
	static const struct {
		const char *arg, *why;
	} bad[] = {
		{ "nonsense", "is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)" },
		{ "1.2.3.4", "is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)" },
		{ "1.2.3.4:", "is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)" },
		{ "", "is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)" },
		{ "1.2.3.4:0", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "1.2.3.4:65536", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "127.0.0.1:70000", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "1.2.3.4:80x", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "1.2.3.4:-1", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "1.2.3.4: 80", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "0", "has no port from 1 to 65535 (e.g. 127.0.0.1:9464)" },
		{ "256.1.1.1:80", "is not ADDR:PORT with an IPv4 address or host name (e.g. 127.0.0.1:9464)" },
		{ "1.2.3:80", "is not ADDR:PORT with an IPv4 address or host name (e.g. 127.0.0.1:9464)" },
		{ "a/b:80", "is not ADDR:PORT with an IPv4 address or host name (e.g. 127.0.0.1:9464)" },
		{ "host name:80", "is not ADDR:PORT with an IPv4 address or host name (e.g. 127.0.0.1:9464)" },
		{ "::1:9000", "is ambiguous: IPv6 addresses go in brackets (e.g. [::1]:9464)" },
		{ "[::1]9000", "is not [IPV6]:PORT (e.g. [::1]:9464)" },
		{ "[::1]", "is not [IPV6]:PORT (e.g. [::1]:9464)" },
		{ "[zz]:80", "has no IPv6 address between the brackets (e.g. [::1]:9464)" },
		{ "[127.0.0.1]:80", "has no IPv6 address between the brackets (e.g. [::1]:9464)" },
	};
	char host[64];
	const char *why;
	int port;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		why = optval_listen(ok[i].arg, host, sizeof(host), &port);
		ck_assert_msg(!why, "%s: %s", ok[i].arg, why);
		ck_assert_str_eq(host, ok[i].host);
		ck_assert_int_eq(port, ok[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = optval_listen(bad[i].arg, host, sizeof(host), &port);
		ck_assert_msg(why, "%s accepted", bad[i].arg);
		ck_assert_str_eq(why, bad[i].why);
	}
	ck_assert_str_eq(optval_listen("averyveryverylonghostname:80", host, 10, &port),
			 "has a host name that is too long");
}
END_TEST

START_TEST(url)
{
	static const char *const ok[] = {
		"http://127.0.0.1:4318",
		"https://otel.example.com",
		"http://collector:4318/otlp",
		"HTTP://h:1",
		"http://[::1]:4318",
		"https://user:pw@h.example:443/base",
		"http://h/",
		"http://h:65535",
	};
	static const struct {
		const char *arg, *why;
	} bad[] = {
		{ "foo", "is not a URL (expected http://host:port)" },
		{ "ftp://h", "is not a URL (expected http://host:port)" },
		{ "127.0.0.1:4318", "is not a URL (expected http://host:port)" },
		{ "", "is not a URL (expected http://host:port)" },
		{ "http://", "is not a URL: it has no host (expected http://host:port)" },
		{ "http://:4318", "is not a URL: it has no host (expected http://host:port)" },
		{ "http:///v1", "is not a URL: it has no host (expected http://host:port)" },
		{ "http://h_x:1", "is not a URL: it has no host (expected http://host:port)" },
		{ "http://u@", "is not a URL: it has no host (expected http://host:port)" },
		{ "http://h:0", "is not a URL: the port is not 1 to 65535 (expected http://host:port)" },
		{ "http://h:65536", "is not a URL: the port is not 1 to 65535 (expected http://host:port)" },
		{ "http://h:x", "is not a URL: the port is not 1 to 65535 (expected http://host:port)" },
		{ "http://h:", "is not a URL: the port is not 1 to 65535 (expected http://host:port)" },
		{ "http://h:4318?x=1",
		  "has a query or fragment (give the base URL; /v1/traces and /v1/logs are appended)" },
		{ "http://h#f", "has a query or fragment (give the base URL; /v1/traces and /v1/logs are appended)" },
		{ "http://h space", "is not a URL: it has a space or control character (expected http://host:port)" },
		{ "http://h\n", "is not a URL: it has a space or control character (expected http://host:port)" },
		{ "http://[zz]:1", "is not a URL: bad [IPv6] host (expected http://[::1]:4318)" },
		{ "http://[::1", "is not a URL: bad [IPv6] host (expected http://[::1]:4318)" },
		{ "http://[::1]x", "is not a URL (expected http://host:port)" },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(!(why = url__check(ok[i])), "%s: %s", ok[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = url__check(bad[i].arg);
		ck_assert_msg(why, "%s accepted", bad[i].arg);
		ck_assert_str_eq(why, bad[i].why);
	}
}
END_TEST

START_TEST(func_spec)
{
	static const char *const ok[] = {
		"handle_*", "libc.so.6:malloc", "/usr/lib/x.so:f*", "ns::f*", "::f", "libstdc++.so.6:ns::f*", "a:b:c",
		"f::"
	};
	const char *why;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(!(why = optval_func(ok[i])), "%s: %s", ok[i], why);
	ck_assert_str_eq(optval_func(""), "is empty (expected [OBJ:]GLOB, e.g. 'handle_*' or 'libc.so.6:malloc')");
	ck_assert_str_eq(optval_func(":malloc"), "has no OBJ before the ':' (e.g. 'libc.so.6:malloc')");
	ck_assert_str_eq(optval_func(":"), "has no OBJ before the ':' (e.g. 'libc.so.6:malloc')");
	ck_assert_str_eq(optval_func("libc.so.6:"),
			 "has no GLOB after the ':' (e.g. 'libc.so.6:malloc' or 'libssl.so.3:SSL_*')");
	ck_assert_str_eq(optval_func("f\tg"), "has a control character");
}
END_TEST

START_TEST(header)
{
	ck_assert_ptr_null(optval_header("Authorization=Bearer abc=="));
	ck_assert_ptr_null(optval_header("x-tenant="));
	ck_assert_ptr_null(optval_header("k=a b c"));
	ck_assert_str_eq(optval_header("novalue"), "expected KEY=VALUE (e.g. Authorization=Bearer TOKEN)");
	ck_assert_str_eq(optval_header("=v"), "has an empty KEY (expected KEY=VALUE)");
	ck_assert_str_eq(optval_header("a b=v"), "has a KEY that is not an HTTP header name (expected KEY=VALUE)");
	ck_assert_str_eq(optval_header("a:b=v"), "has a KEY that is not an HTTP header name (expected KEY=VALUE)");
	ck_assert_str_eq(optval_header("k=v\r\nX-Evil: 1"), "has a line break in its VALUE");
	ck_assert_str_eq(optval_header("k=v\n"), "has a line break in its VALUE");
}
END_TEST

START_TEST(otel_headers)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "k=v", "k=v" },
		{ "  api-key = a%3Db%2Cc  ", "api-key=a=b,c" },
		{ "k=%", "k=%" },
		{ "k=%4", "k=%4" },
		{ "k=%zz", "k=%zz" },
		{ "k=a b", "k=a b" },
		{ "Authorization=Basic%20dXNlcjpwdw%3D%3D", "Authorization=Basic dXNlcjpwdw==" },
		{ "   ", "" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		optval_otel_header(cases[i].in, strlen(cases[i].in), out, sizeof(out));
		ck_assert_str_eq(out, cases[i].out);
	}
	optval_otel_header("k=v,next", 3, out, sizeof(out)); /* only its @n bytes */
	ck_assert_str_eq(out, "k=v");
	optval_otel_header("key=0123456789", 14, out, 8); /* truncated to the buffer */
	ck_assert_str_eq(out, "key=012");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("optval");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, numbers);
	tcase_add_test(tc, listen);
	tcase_add_test(tc, url);
	tcase_add_test(tc, func_spec);
	tcase_add_test(tc, header);
	tcase_add_test(tc, otel_headers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
