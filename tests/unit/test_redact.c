/* test_redact.c -- every SPEC redaction rule, exact outputs, fail-closed cases, a secrets corpus, garbage */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/redact.h"

static struct redactor *r;

static const char *red(const char *in)
{
	static char out[4096];

	ck_assert_int_ge(redact__text(r, in, strlen(in), out, sizeof(out)), 0);
	return out;
}

static void setup(void)
{
	char err[128];

	r = redactor__new(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
}

static void teardown(void)
{
	redactor__free(r);
}

START_TEST(keys)
{
	ck_assert_str_eq(red("/login?user=a&password=hunter2&x=1"), "/login?user=a&password=[REDACTED]&x=1");
	ck_assert_str_eq(
		red("?PASSWD=a&pwd=b&client_secret=c&X-Auth-Token=d&api_key=e&apikey=f&access_token=g&sessionid=h"),
		"?PASSWD=[REDACTED]&pwd=[REDACTED]&client_secret=[REDACTED]&X-Auth-Token=[REDACTED]&api_key=[REDACTED]&apikey=[REDACTED]&access_token=[REDACTED]&sessionid=[REDACTED]");
	ck_assert_str_eq(red("password: hunter2 and more"), "password: [REDACTED] and more");
	ck_assert_str_eq(red("{\"user\":\"bob\",\"password\": \"hu\\\"nter2\", \"n\":1}"),
			 "{\"user\":\"bob\",\"password\": \"[REDACTED]\", \"n\":1}");
	ck_assert_str_eq(red("{'token': 'abc', 'x': 2}"), "{'token': '[REDACTED]', 'x': 2}");
	ck_assert_str_eq(red("{\"api_key\":12345}"), "{\"api_key\":[REDACTED]}");
	ck_assert_str_eq(red("user=bob name=x"), "user=bob name=x");
	ck_assert_str_eq(red("password="), "password=");
	ck_assert_str_eq(red("see https://example.com/token"), "see https://example.com/token");
}
END_TEST

START_TEST(headers_and_bearer)
{
	ck_assert_str_eq(red("Authorization: Basic dXNlcjpwYXNz\r\nHost: x"), "Authorization: [REDACTED]\r\nHost: x");
	ck_assert_str_eq(red("cookie: a=1; b=2"), "cookie: [REDACTED]");
	ck_assert_str_eq(red("Set-Cookie: sid=abc; HttpOnly\nnext"), "Set-Cookie: [REDACTED]\nnext");
	ck_assert_str_eq(red("Proxy-Authorization: Digest x"), "Proxy-Authorization: [REDACTED]");
	ck_assert_str_eq(red("calling with bearer eyJhbGciOi.eyJzdWIi.SflKx and then"),
			 "calling with bearer [REDACTED] and then");
	ck_assert(redact__header_is_secret("Authorization", 13));
	ck_assert(redact__header_is_secret("X-Api-Key", 9));
	ck_assert(!redact__header_is_secret("Host", 4));
}
END_TEST

START_TEST(cards_and_emails)
{
	ck_assert_str_eq(red("card 4111 1111 1111 1111 ok"), "card ****-****-****-1111 ok");
	ck_assert_str_eq(red("4111-1111-1111-1111"), "****-****-****-1111");
	ck_assert_str_eq(red("amex=378282246310005;"), "amex=****-****-****-0005;");
	ck_assert_str_eq(red("order 1234567812345678 kept"), "order 1234567812345678 kept");
	ck_assert_str_eq(red("id 41111111111111111111 kept"), "id 41111111111111111111 kept"); /* 20 digits */
	ck_assert_str_eq(red("ts=1700000000000"), "ts=1700000000000");
	ck_assert_str_eq(red("mail alice@example.com, bob.smith+x@mail.example.co.uk."), "mail [EMAIL], [EMAIL].");
	ck_assert_str_eq(red("not@mail and a@b.c"), "not@mail and a@b.c");
}
END_TEST

/* a text whose redacted form outgrows the output is cut and marked, never dropped, never leaking */
START_TEST(cut_and_marked)
{
	char in[2048], out[256];
	struct redact_stats st;
	bool cut = false;
	size_t n = 0;
	int rc;

	while (n + 6 < 1201)
		n += snprintf(in + n, sizeof(in) - n, "pwd=x&"); /* 1200 bytes: each x becomes [REDACTED] */
	rc = redact__text_cut(r, in, n, out, sizeof(out), &cut);
	ck_assert_int_eq(rc, 255);
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert(cut);
	ck_assert_str_eq(out + 255 - 12, " [truncated]");
	ck_assert_msg(!strstr(out, "=x"), "%s", out);
	ck_assert(!strncmp(out, "pwd=[REDACTED]&pwd=[REDACTED]&", 30));
	redactor__stats(r, &st);
	ck_assert_uint_eq(st.truncated, 1);
	ck_assert_uint_eq(st.dropped, 0);

	/* the old contract's small buffer: the beginning and the mark */
	ck_assert_int_eq(redact__text(r, "this text is longer than sixteen", 32, out, 16), 15);
	ck_assert_str_eq(out, "thi [truncated]");
	ck_assert_int_eq(redact__text(r, "password=hunter2", 16, out, 5), 4);
	ck_assert_str_eq(out, " [tr");
	/* fits exactly: not cut */
	ck_assert_int_eq(redact__text_cut(r, "pwd=1", 5, out, 15, &cut), 14);
	ck_assert_str_eq(out, "pwd=[REDACTED]");
	ck_assert(!cut);
}
END_TEST

/* cut on a character boundary: the output stays valid UTF-8 */
START_TEST(cut_keeps_utf8)
{
	char in[600], out[64];
	size_t n = 0;

	for (int i = 0; i < 100; i++)
		n += snprintf(in + n, sizeof(in) - n, "\xc3\xa9\xe2\x82\xac"); /* é€ */
	for (size_t size = 14; size < sizeof(out); size++) {
		int rc = redact__text(r, in, n, out, size);
		size_t k = 0;

		ck_assert_int_ge(rc, 12);
		while (k < (size_t)rc - 12) { /* whole sequences up to the mark */
			unsigned char c = out[k];
			size_t len = c < 0x80 ? 1 : c >= 0xe0 ? 3 : 2;

			ck_assert_msg(k + len <= (size_t)rc - 12, "size %zu: a character cut at %zu", size, k);
			k += len;
		}
		ck_assert_str_eq(out + rc - 12, " [truncated]");
	}
}
END_TEST

/* a NUL byte no longer hides a line: it is scanned as U+FFFD and what follows is redacted */
START_TEST(nul_bytes)
{
	char out[64];

	ck_assert_int_eq(redact__text(r, "abc\0password=x", 14, out, sizeof(out)), 25);
	ck_assert_str_eq(out, "abc\xef\xbf\xbdpassword=[REDACTED]");
}
END_TEST

START_TEST(escaped_json)
{
	ck_assert_str_eq(red("{\"msg\":\"body={\\\"password\\\":\\\"hunter2\\\"}\"}"),
			 "{\"msg\":\"body={\\\"password\\\":\\\"[REDACTED]\\\"}\"}");
	ck_assert_str_eq(red("{\"m\":\"{\\\"token\\\": \\\"a\\\\\\\"b\\\", \\\"n\\\":1}\"}"), /* an escaped quote inside */
			 "{\"m\":\"{\\\"token\\\": \\\"[REDACTED]\\\", \\\"n\\\":1}\"}");
	ck_assert_str_eq(red("{\\\\\\\"secret\\\\\\\":\\\\\\\"s3\\\\\\\"}"), /* escaped twice */
			 "{\\\\\\\"secret\\\\\\\":\\\\\\\"[REDACTED]\\\\\\\"}");
	ck_assert_str_eq(red("{\\\"api_key\\\":12345}"), "{\\\"api_key\\\":[REDACTED]}");
	ck_assert_str_eq(red("{\"password\": \"a\\\\\", \"n\": 1}"), "{\"password\": \"[REDACTED]\", \"n\": 1}");
}
END_TEST

START_TEST(url_credentials)
{
	ck_assert_str_eq(red("connect postgres://admin:S3cret@db:5432/app failed"),
			 "connect postgres://admin:[REDACTED]@db:5432/app failed");
	ck_assert_str_eq(red("redis://:pw@h"), "redis://:[REDACTED]@h");
	ck_assert_str_eq(red("amqp://u:p@ss@mq/vh"), "amqp://u:[REDACTED]@mq/vh");
	ck_assert_str_eq(red("mongodb+srv://u:a:b@c.example.net/?w=1"),
			 "mongodb+srv://u:[REDACTED]@c.example.net/?w=1");
	ck_assert_str_eq(red("git clone https://ghp_abc123@github.com/o/r"),
			 "git clone https://[REDACTED]@github.com/o/r");
	ck_assert_str_eq(red("{\"url\":\"mysql://root:toor@127.0.0.1\"}"),
			 "{\"url\":\"mysql://root:[REDACTED]@127.0.0.1\"}");
	ck_assert_str_eq(red("https://example.com/@bob and http://h:8080/p?q=a@b"),
			 "https://example.com/@bob and http://h:8080/p?q=a@b");
	ck_assert_str_eq(red("http://user:@host"), "http://user:@host");
}
END_TEST

START_TEST(yaml_value_below)
{
	ck_assert_str_eq(red("password:\n  hunter2\nuser: bob"), "password:\n  [REDACTED]\nuser: bob");
	ck_assert_str_eq(red("db:\n  password:\n    hunter2\n  host: x"),
			 "db:\n  password:\n    [REDACTED]\n  host: x");
	ck_assert_str_eq(red("password:\r\n  hunter2\r\nx: 1"), "password:\r\n  [REDACTED]\r\nx: 1");
	ck_assert_str_eq(red("private_key: |\n  -----BEGIN KEY-----\n\n  MIIEv\n  -----END KEY-----\nnext: 1"),
			 "private_key: |\n  [REDACTED]\nnext: 1");
	ck_assert_str_eq(red("secret: >-\n  a\n  b"), "secret: >-\n  [REDACTED]");
	ck_assert_str_eq(red("- password:\n    x\n- name: y"), "- password:\n    [REDACTED]\n- name: y");
	ck_assert_str_eq(red("password:\nuser: bob"), "password:\nuser: bob"); /* nothing deeper: no value */
	ck_assert_str_eq(red("password:"), "password:");
}
END_TEST

START_TEST(more_keys)
{
	ck_assert_str_eq(red("private_key=abc credentials=u:p client_secret=c secret_key=k passphrase=pp"),
			 "private_key=[REDACTED] credentials=[REDACTED] client_secret=[REDACTED] secret_key=[REDACTED] "
			 "passphrase=[REDACTED]");
	ck_assert_str_eq(red("{\"PrivateKey\":\"k\",\"aws_credentials\":\"c\",\"X-Amz-Signature\":\"s\",\"jwt\":\"j\"}"),
			 "{\"PrivateKey\":\"[REDACTED]\",\"aws_credentials\":\"[REDACTED]\",\"X-Amz-Signature\":\"[REDACTED]\","
			 "\"jwt\":\"[REDACTED]\"}");
	ck_assert_str_eq(red("auth=a pass=b PW=c pin=1234 sig=s otp=9"),
			 "auth=[REDACTED] pass=[REDACTED] PW=[REDACTED] pin=[REDACTED] sig=[REDACTED] otp=[REDACTED]");
	ck_assert_str_eq(red("author=bob passenger=3 compass=n pinned=1 design=x"),
			 "author=bob passenger=3 compass=n pinned=1 design=x");
	ck_assert(redact__header_is_secret("X-Client-Secret", 15));
}
END_TEST

START_TEST(fail_closed)
{
	char err[128];

	ck_assert_ptr_null(redactor__new((const char *[]){ "a(b", NULL }, err, sizeof(err)));
	ck_assert_msg(strstr(err, "pattern 'a(b'"), "%s", err);
}
END_TEST

/* the passes work in their own room: a text longer than the caller's buffer whose redacted form fits
 * it is redacted, not refused (found by tests/fuzz/fuzz_redact) */
START_TEST(shrinks_into_small_buffer)
{
	char out[16];

	ck_assert_int_eq(redact__text(r, "mail bob@example.com", 20, out, sizeof(out)), 12);
	ck_assert_str_eq(out, "mail [EMAIL]");
	/* no room for the whole result: cut and marked, never the address */
	ck_assert_int_eq(redact__text(r, "mail bob@example.com", 20, out, 12), 11);
	ck_assert_str_eq(out, " [truncated"); /* even the mark is cut to the room there is */
}
END_TEST

START_TEST(extra_patterns)
{
	char err[128], out[256];
	struct redactor *x =
		redactor__new((const char *[]){ "ACCT-[0-9]{6}", "internal\\.corp", NULL }, err, sizeof(err));

	ck_assert_ptr_nonnull(x);
	ck_assert_int_gt(redact__text(x, "ACCT-123456 at db.internal.corp", 31, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "[REDACTED] at db.[REDACTED]");
	redactor__free(x);
}
END_TEST

START_TEST(corpus_never_leaks)
{
	static const char *const secrets[] = {
		"hunter2",	    "s3cr3tT0k3n",	"dXNlcjpwYXNz",		  "abc.def.ghi",
		"4012888888881881", "5555555555554444", "carol@corp.example.net", "sid-0xDEADBEEF"
	};
	static const char *const tmpl[] = {
		"GET /login?password=%s HTTP/1.1",
		"{\"token\":\"%s\"}",
		"Authorization: Basic %s",
		"Authorization: Bearer %s",
		"card=%s",
		"paid with %s today",
		"contact %s please",
		"Cookie: session=%s",
		"api_key=%s&x=1",
		"{\"log\":\"{\\\"password\\\":\\\"%s\\\"}\"}",
		"postgres://admin:%s@db:5432",
		"password:\n  %s\n",
		/* database connection strings (issue 12's corpus) */
		"postgresql://app:%s@127.0.0.1:5432/prod?sslmode=require",
		"redis://default:%s@localhost:6379/0",
		"rediss://:%s@cache.internal:6380",
		"mysql://root:%s@db/x",
		"host=db port=5432 user=app password=%s dbname=prod",
		"DATABASE_URL=postgres://u:%s@h/db",
	};
	char in[512], out[2048];

	for (size_t t = 0; t < sizeof(tmpl) / sizeof(tmpl[0]); t++)
		for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++) {
			bool keyed = t != 4 && t != 5 &&
				     t != 6; /* card=, free text: only cards and e-mails are recognised */
			bool shaped = strchr(secrets[s], '@') || (strlen(secrets[s]) == 16 && secrets[s][0] >= '4');

			snprintf(in, sizeof(in), tmpl[t], secrets[s]);
			ck_assert_int_ge(redact__text(r, in, strlen(in), out, sizeof(out)), 0);
			if (keyed || shaped)
				ck_assert_msg(!strstr(out, secrets[s]), "leak: '%s' -> '%s'", in, out);
			/* cut to any size: not even the beginning of a secret */
			for (size_t size = 1; (keyed || shaped) && size < strlen(in) + 24; size++) {
				char head[6];

				snprintf(head, sizeof(head), "%s", secrets[s]);
				ck_assert_int_ge(redact__text(r, in, strlen(in), out, size), 0);
				ck_assert_msg(!strstr(out, head), "leak at %zu: '%s' -> '%s'", size, in, out);
			}
		}
}
END_TEST

START_TEST(garbage)
{
	unsigned seed = 99;
	char in[600], out[2000];

	for (int it = 0; it < 100000; it++) {
		size_t n;
		int rc;

		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			static const char alphabet[] = "pasword=:@. 4111-\"'{}&tokenBearer\n\x80\xff";

			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		rc = redact__text(r, in, n, out, sizeof(out));
		if (rc >= 0)
			ck_assert_uint_eq(strlen(out), (size_t)rc);
		else
			ck_assert_str_eq(out, "");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, headers_and_bearer);
	tcase_add_test(tc, cards_and_emails);
	tcase_add_test(tc, fail_closed);
	tcase_add_test(tc, cut_and_marked);
	tcase_add_test(tc, cut_keeps_utf8);
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, escaped_json);
	tcase_add_test(tc, url_credentials);
	tcase_add_test(tc, yaml_value_below);
	tcase_add_test(tc, more_keys);
	tcase_add_test(tc, shrinks_into_small_buffer);
	tcase_add_test(tc, extra_patterns);
	tcase_add_test(tc, corpus_never_leaks);
	tcase_add_test(tc, garbage);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
