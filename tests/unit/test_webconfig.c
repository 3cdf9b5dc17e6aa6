/* test_webconfig.c -- the --web-config parser: every key, every bad input, bcrypt checks, the deprecated options */
#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/basicauth.h"
#include "export/webconfig.h"

static char err[1024];

static struct webconfig *parse_ok(const char *yaml)
{
	struct webconfig *wc = NULL;
	int rc = webconfig__parse(yaml, strlen(yaml), "/etc/obs", &wc, err, sizeof(err));

	ck_assert_msg(rc == 0, "refused (%d): %s\n%s", rc, err, yaml);
	ck_assert_ptr_nonnull(wc);
	return wc;
}

/* a bcrypt hash of @pw with @prefix ("$2b$", "$2y$") and cost 4 (fast) */
static const char *hash_of(const char *prefix, const char *pw)
{
	static char out[8][128];
	static int n;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	char *slot = out[n++ % 8];

	ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, 4, NULL, 0, salt, sizeof(salt)));
	snprintf(slot, 128, "%s", crypt_r(pw, salt, cd));
	free(cd);
	ck_assert_int_eq(strlen(slot), 60);
	return slot;
}

START_TEST(empty_is_open)
{
	static const char *const texts[] = { "", "# nothing\n", "---\n", "~\n", "{}\n", "tls_server_config:\n" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct webconfig *wc = parse_ok(texts[i]);

		ck_assert_ptr_null(webconfig__tls(wc));
		ck_assert(!webconfig__needs_auth(wc));
		ck_assert(!webconfig__check_basic(wc, "a", "b"));
		webconfig__free(wc);
	}
}
END_TEST

START_TEST(every_key)
{
	char yaml[2048];
	const struct webconfig_tls *t;
	const char *name, *value;
	struct webconfig *wc;

	snprintf(yaml, sizeof(yaml),
		 "tls_server_config:\n"
		 "  cert_file: certs/srv.crt\n"
		 "  key_file: /abs/srv.key\n"
		 "  client_auth_type: RequireAndVerifyClientCert\n"
		 "  client_ca_file: ca.crt\n"
		 "  min_version: TLS11\n"
		 "  max_version: TLS12\n"
		 "  prefer_server_cipher_suites: false\n"
		 "  cipher_suites: []\n"
		 "  curve_preferences: []\n"
		 "  client_allowed_sans:\n"
		 "http_server_config:\n"
		 "  http2: true\n"
		 "  headers:\n"
		 "    X-Frame-Options: deny\n"
		 "    X-Content-Type-Options: nosniff\n"
		 "    Strict-Transport-Security: max-age=31536000\n"
		 "    X-XSS-Protection: '1; mode=block'\n"
		 "    Content-Security-Policy: \"default-src 'self'\"\n"
		 "basic_auth_users:\n"
		 "  prom: '%s'\n"
		 "  alice: %s\n",
		 hash_of("$2b$", "pw one"), hash_of("$2y$", "pw two"));
	wc = parse_ok(yaml);
	t = webconfig__tls(wc);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->client_auth, WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT);
	ck_assert_int_eq(t->min_version, WEBCONFIG_TLS11);
	ck_assert_int_eq(t->max_version, WEBCONFIG_TLS12);
	ck_assert(!t->prefer_server_cipher_suites);
	ck_assert_ptr_null(t->cert_pem); /* files are read by webconfig__load */
	ck_assert(webconfig__needs_auth(wc));
	ck_assert(webconfig__header(wc, 0, &name, &value));
	ck_assert_str_eq(name, "X-Frame-Options");
	ck_assert_str_eq(value, "deny");
	ck_assert(webconfig__header(wc, 4, &name, &value));
	ck_assert_str_eq(name, "Content-Security-Policy");
	ck_assert_str_eq(value, "default-src 'self'");
	ck_assert(!webconfig__header(wc, 5, &name, &value));
	ck_assert(webconfig__check_basic(wc, "prom", "pw one"));
	ck_assert(webconfig__check_basic(wc, "prom", "pw one")); /* from the cache */
	ck_assert(webconfig__check_basic(wc, "alice", "pw two"));
	ck_assert(!webconfig__check_basic(wc, "prom", "pw two"));
	ck_assert(!webconfig__check_basic(wc, "alice", "pw one"));
	ck_assert(!webconfig__check_basic(wc, "mallory", "pw one"));
	ck_assert(!webconfig__check_basic(wc, "prom", ""));
	ck_assert(!webconfig__check_basic(wc, "prom", "pw one "));
	ck_assert(!webconfig__check_basic(wc, "prom", NULL));
	ck_assert(!webconfig__check_basic(wc, NULL, "pw one"));
	ck_assert(!webconfig__check_bearer(wc, "pw one"));
	webconfig__free(wc);
}
END_TEST

START_TEST(defaults_and_names)
{
	static const struct {
		const char *name;
		enum webconfig_client_auth a;
	} auths[] = {
		{ "NoClientCert", WEBCONFIG_NO_CLIENT_CERT },
		{ "RequestClientCert", WEBCONFIG_REQUEST_CLIENT_CERT },
		{ "RequireAnyClientCert", WEBCONFIG_REQUIRE_ANY_CLIENT_CERT },
		{ "RequireClientCert", WEBCONFIG_REQUIRE_ANY_CLIENT_CERT }, /* the toolkit's older name */
		{ "VerifyClientCertIfGiven", WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN },
		{ "RequireAndVerifyClientCert", WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT },
	};
	struct webconfig *wc = parse_ok("tls_server_config:\n  cert: CERT\n  key: KEY\n");
	const struct webconfig_tls *t = webconfig__tls(wc);
	char yaml[512];

	ck_assert_str_eq(t->cert_pem, "CERT");
	ck_assert_str_eq(t->key_pem, "KEY");
	ck_assert_ptr_null(t->client_ca_pem);
	ck_assert_int_eq(t->client_auth, WEBCONFIG_NO_CLIENT_CERT);
	ck_assert_int_eq(t->min_version, WEBCONFIG_TLS12);
	ck_assert_int_eq(t->max_version, WEBCONFIG_TLS13);
	ck_assert(t->prefer_server_cipher_suites);
	ck_assert(!webconfig__needs_auth(wc));
	webconfig__free(wc);
	for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
		/* with a client CA, but NoClientCert (a CA without a policy is refused, see bad_inputs) */
		snprintf(yaml, sizeof(yaml), "tls_server_config:\n  cert: C\n  key: K\n%s  client_auth_type: %s\n",
			 auths[i].a == WEBCONFIG_NO_CLIENT_CERT ? "" : "  client_ca: CA\n", auths[i].name);
		wc = parse_ok(yaml);
		ck_assert_int_eq(webconfig__tls(wc)->client_auth, auths[i].a);
		ck_assert_str_eq(webconfig__client_auth_name(auths[i].a),
				 !strcmp(auths[i].name, "RequireClientCert") ? "RequireAnyClientCert" : auths[i].name);
		webconfig__free(wc);
	}
	for (int v = 0; v < 4; v++) {
		snprintf(yaml, sizeof(yaml),
			 "tls_server_config:\n  cert: C\n  key: K\n  min_version: TLS1%d\n"
			 "  max_version: TLS1%d\n",
			 v, v);
		wc = parse_ok(yaml);
		ck_assert_int_eq(webconfig__tls(wc)->min_version, WEBCONFIG_TLS10 + v);
		ck_assert_int_eq(webconfig__tls(wc)->max_version, WEBCONFIG_TLS10 + v);
		webconfig__free(wc);
	}
	/* client_auth_type alone turns TLS on, and then a certificate is needed */
	wc = NULL;
	ck_assert_int_eq(webconfig__parse("tls_server_config:\n  client_auth_type: NoClientCert\n", 52, NULL, &wc, err,
					  sizeof(err)),
			 2);
	ck_assert_ptr_null(wc);
	ck_assert_str_eq(err, "tls_server_config: no certificate (give cert_file and key_file)");
}
END_TEST

START_TEST(bad_inputs)
{
	static const struct {
		const char *yaml, *err;
	} cases[] = {
		{ "a: [b\n",
		  "not valid YAML: did not find expected ',' or ']' at line 2, column 1 (check the indentation; keys are 'name: value')" },
		{ "a: b\n  c: d\n",
		  "not valid YAML: mapping values are not allowed in this context at line 2, column 4 (check the indentation; keys are 'name: value')" },
		{ "tls_server_config: {}\n---\nbasic_auth_users: {}\n",
		  "more than one YAML document (keep one; remove the '---' line)" },
		{ "- a\n", "expected a mapping with tls_server_config and/or basic_auth_users, got a list" },
		{ "hello\n", "expected a mapping with tls_server_config and/or basic_auth_users, got a value" },
		{ "tls_config: {}\n",
		  "tls_config: unknown key (the file takes tls_server_config, http_server_config, basic_auth_users)" },
		{ "rate_limit: {burst: 1}\n",
		  "rate_limit: not supported by obsprobe (connections are limited per address instead; remove the key)" },
		{ "tls_server_config: [a]\n", "tls_server_config: expected a mapping of keys, got a list" },
		{ "tls_server_config: x\n", "tls_server_config: expected a mapping of keys, got a value" },
		{ "tls_server_config:\n  certfile: a\n",
		  "tls_server_config.certfile: unknown key (tls_server_config takes cert_file, key_file, cert, key, client_auth_type, client_ca_file, client_ca, min_version, max_version, prefer_server_cipher_suites)" },
		{ "tls_server_config:\n  cert_file: {a: b}\n",
		  "tls_server_config.cert_file: expected a string, got a mapping (a file name, e.g. server.crt)" },
		{ "tls_server_config:\n  cert_file: [a]\n",
		  "tls_server_config.cert_file: expected a string, got a list (a file name, e.g. server.crt)" },
		{ "tls_server_config:\n  cert_file: \"a\\0b\"\n",
		  "tls_server_config.cert_file: the value has a NUL byte (write the text itself)" },
		{ "tls_server_config: {}\ntls_server_config: {}\n", "tls_server_config: given twice (keep one)" },
		{ "tls_server_config:\n  cert_file: a\n  cert_file: b\n",
		  "tls_server_config.cert_file: given twice (keep one)" },
		{ "tls_server_config:\n  client_auth_type: Always\n",
		  "tls_server_config.client_auth_type: 'Always' is not a client auth type (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)" },
		{ "tls_server_config:\n  min_version: TLS1.3\n",
		  "tls_server_config.min_version: 'TLS1.3' is not a TLS version (one of TLS10, TLS11, TLS12, TLS13)" },
		{ "tls_server_config:\n  max_version: SSL30\n",
		  "tls_server_config.max_version: 'SSL30' is not a TLS version (one of TLS10, TLS11, TLS12, TLS13)" },
		{ "tls_server_config:\n  cert: C\n  key: K\n  min_version: TLS13\n  max_version: TLS12\n",
		  "tls_server_config: min_version TLS13 is above max_version TLS12 (lower min_version)" },
		{ "tls_server_config:\n  prefer_server_cipher_suites: yes\n",
		  "tls_server_config.prefer_server_cipher_suites: expected true or false" },
		{ "tls_server_config:\n  prefer_server_cipher_suites: 'true'\n",
		  "tls_server_config.prefer_server_cipher_suites: expected true or false" },
		{ "tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
		  "tls_server_config.cipher_suites: not supported by obsprobe (GnuTLS's NORMAL suites are used; min_version: TLS13 keeps only TLS 1.3's; remove the key)" },
		{ "tls_server_config:\n  curve_preferences: [X25519]\n",
		  "tls_server_config.curve_preferences: not supported by obsprobe (GnuTLS's NORMAL groups are used; remove the key)" },
		{ "tls_server_config:\n  client_allowed_sans: [a.example]\n",
		  "tls_server_config.client_allowed_sans: not supported by obsprobe (any certificate the client CA signed is accepted; remove the key)" },
		{ "tls_server_config:\n  cipher_suites: x\n",
		  "tls_server_config.cipher_suites: not supported by obsprobe (GnuTLS's NORMAL suites are used; min_version: TLS13 keeps only TLS 1.3's; remove the key)" },
		{ "tls_server_config:\n  key_file: k\n",
		  "tls_server_config: no certificate (give cert_file and key_file)" },
		{ "tls_server_config:\n  cert_file: c\n",
		  "tls_server_config: no private key (give key_file with cert_file)" },
		{ "tls_server_config:\n  cert_file: c\n  cert: C\n  key: K\n",
		  "tls_server_config: both cert and cert_file are given (keep one)" },
		{ "tls_server_config:\n  cert: C\n  key_file: k\n  key: K\n",
		  "tls_server_config: both key and key_file are given (keep one)" },
		{ "tls_server_config:\n  cert: C\n  key: K\n  client_auth_type: RequestClientCert\n  client_ca: A\n  client_ca_file: a\n",
		  "tls_server_config: both client_ca and client_ca_file are given (keep one)" },
		{ "tls_server_config:\n  cert: C\n  key: K\n  client_ca_file: ca.crt\n",
		  "tls_server_config: client_ca_file is given without client_auth_type (set client_auth_type: RequireAndVerifyClientCert)" },
		{ "tls_server_config:\n  cert: C\n  key: K\n  client_auth_type: VerifyClientCertIfGiven\n",
		  "tls_server_config: client_auth_type VerifyClientCertIfGiven needs client_ca_file (the CA that signs client certificates)" },
		{ "tls_server_config:\n  cert: C\n  key: K\n  client_auth_type: RequireAndVerifyClientCert\n",
		  "tls_server_config: client_auth_type RequireAndVerifyClientCert needs client_ca_file (the CA that signs client certificates)" },
		{ "http_server_config:\n  http3: true\n",
		  "http_server_config.http3: unknown key (http_server_config takes http2, headers)" },
		{ "http_server_config:\n  http2: 1\n", "http_server_config.http2: expected true or false" },
		{ "http_server_config:\n  headers: [a]\n",
		  "http_server_config.headers: expected a mapping of keys, got a list" },
		{ "http_server_config:\n  headers:\n    Server: x\n",
		  "http_server_config.headers.Server: this header cannot be set (Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection or Content-Security-Policy)" },
		{ "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
		  "http_server_config.headers.X-Frame-Options: 'allow' is not allowed (deny or sameorigin)" },
		{ "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
		  "http_server_config.headers.X-Content-Type-Options: 'sniff' is not allowed (nosniff)" },
		{ "http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n",
		  "http_server_config.headers.Content-Security-Policy: the value has a control character (one line of text)" },
		{ "basic_auth_users: [prom]\n", "basic_auth_users: expected a mapping of keys, got a list" },
		{ "basic_auth_users:\n  prom:\n",
		  "basic_auth_users.prom: no password hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')" },
		{ "basic_auth_users:\n  prom: hunter2\n",
		  "basic_auth_users.prom: not a bcrypt hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')" },
		{ "basic_auth_users:\n  prom: [a]\n",
		  "basic_auth_users.prom: expected a string, got a list (a bcrypt hash in quotes, from htpasswd -nbBC 10 '' PASSWORD)" },
		{ "basic_auth_users:\n  'a:b': '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'\n",
		  "basic_auth_users.a:b: a user name cannot hold ':' (basic auth splits user and password there)" },
		{ "basic_auth_users:\n  p: '$1$abc$0123456789012345678901'\n",
		  "basic_auth_users.p: not a bcrypt hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')" },
		{ "basic_auth_users:\n  p: '$2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'\n",
		  "basic_auth_users.p: not a bcrypt hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')" },
		{ "basic_auth_users:\n  p: '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z'\n",
		  "basic_auth_users.p: not a bcrypt hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')" },
		{ "basic_auth_users:\n  p: '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z!'\n",
		  "basic_auth_users.p: not a bcrypt hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')" },
		{ "basic_auth_users:\n  p: '$2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'\n",
		  "basic_auth_users.p: bcrypt cost 3 is outside 4..17 (htpasswd -nbBC 10 makes cost 10)" },
		{ "basic_auth_users:\n  p: '$2y$18$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'\n",
		  "basic_auth_users.p: bcrypt cost 18 is outside 4..17 (htpasswd -nbBC 10 makes cost 10)" },
		{ "? [a]\n: b\n", "a key is a list, not a name" },
		{ "tls_server_config:\n  ? {a: b}\n  : c\n", "tls_server_config: a key is a mapping, not a name" },
		{ "tls_server_config:\n  min_version: [TLS12]\n",
		  "tls_server_config.min_version: expected a string, got a list (one of TLS10, TLS11, TLS12, TLS13)" },
		{ "tls_server_config:\n  client_auth_type: {a: b}\n",
		  "tls_server_config.client_auth_type: expected a string, got a mapping (e.g. RequireAndVerifyClientCert)" },
		{ "tls_server_config:\n  cert: [a]\n",
		  "tls_server_config.cert: expected a string, got a list (PEM text)" },
		{ "http_server_config:\n  headers:\n    X-Frame-Options: [deny]\n",
		  "http_server_config.headers.X-Frame-Options: expected a string, got a list (one line of text)" },
		{ "a: &x {}\nb: *x\n",
		  "a: unknown key (the file takes tls_server_config, http_server_config, basic_auth_users)" },
	};
	struct webconfig *wc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wc = (struct webconfig *)1;
		ck_assert_msg(webconfig__parse(cases[i].yaml, strlen(cases[i].yaml), ".", &wc, err, sizeof(err)) == 2,
			      "accepted: %s", cases[i].yaml);
		ck_assert_ptr_null(wc);
		ck_assert_msg(!strcmp(err, cases[i].err), "%s\n  got:  %s\n  want: %s", cases[i].yaml, err,
			      cases[i].err);
	}
}
END_TEST

START_TEST(limits)
{
	size_t big = WEBCONFIG_MAX_BYTES + 1, n = 0;
	char *text = malloc(big + 1), *p;
	struct webconfig *wc;

	memset(text, '#', big);
	ck_assert_int_eq(webconfig__parse(text, big, ".", &wc, err, sizeof(err)), 2);
	ck_assert_str_eq(err, "larger than 1 MiB (is it the right file?)");
	/* flow nesting: 64 levels are parsed, 65 refused before libyaml sees them (it is quadratic in it) */
	p = text;
	p += sprintf(p, "a: ");
	for (int i = 0; i < 64; i++)
		*p++ = '[';
	for (int i = 0; i < 64; i++)
		*p++ = ']';
	ck_assert_int_eq(webconfig__parse(text, (size_t)(p - text), ".", &wc, err, sizeof(err)), 2);
	ck_assert_str_eq(err,
			 "a: unknown key (the file takes tls_server_config, http_server_config, basic_auth_users)");
	p = text;
	p += sprintf(p, "a: ");
	for (int i = 0; i < 500000; i++)
		*p++ = '{';
	ck_assert_int_eq(webconfig__parse(text, (size_t)(p - text), ".", &wc, err, sizeof(err)), 2);
	ck_assert_str_eq(err,
			 "nested deeper than 64 levels of [ ] or { } (a web config needs 2; is it the right file?)");
	/* NUL bytes inside the text: libyaml refuses them */
	ck_assert_int_eq(webconfig__parse("a: b\0c", 6, ".", &wc, err, sizeof(err)), 2);
	ck_assert_ptr_null(wc);
	/* 64 users are fine, 65 are not */
	p = text;
	p += sprintf(p, "basic_auth_users:\n");
	for (int i = 0; i < BASICAUTH_MAX_USERS + 1; i++)
		p += sprintf(p, "  u%d: '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'\n", i);
	n = (size_t)(p - text);
	ck_assert_int_eq(webconfig__parse(text, n, ".", &wc, err, sizeof(err)), 2);
	ck_assert_str_eq(err, "basic_auth_users: more than 64 users (use client certificates for many clients)");
	n -= strlen("  u64: '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'\n");
	ck_assert_int_eq(webconfig__parse(text, n, ".", &wc, err, sizeof(err)), 0);
	ck_assert(webconfig__needs_auth(wc));
	webconfig__free(wc);
	free(text);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(files)
{
	char dir[] = "/tmp/test_webconfig.XXXXXX", path[256], want[512];
	struct webconfig *wc = (struct webconfig *)1;
	const struct webconfig_tls *t;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/absent.yml", dir);
	ck_assert_int_eq(webconfig__load(path, &wc, err, sizeof(err)), 1);
	ck_assert_ptr_null(wc);
	ck_assert_str_eq(err, "cannot read it: No such file or directory (give the path of a readable YAML file)");
	/* relative names from the file's folder; a missing one is exit 1 */
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	write_file(path, "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_auth_type: "
			 "RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
	ck_assert_int_eq(webconfig__load(path, &wc, err, sizeof(err)), 1);
	snprintf(want, sizeof(want),
		 "tls_server_config.cert_file '%s/s.crt': No such file or directory (check the "
		 "path; a relative one is taken from the web config file's folder)",
		 dir);
	ck_assert_str_eq(err, want);
	snprintf(path, sizeof(path), "%s/s.crt", dir);
	write_file(path, "CERT PEM\n");
	snprintf(path, sizeof(path), "%s/s.key", dir);
	write_file(path, "KEY PEM\n");
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	write_file(path, "CA PEM\n");
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	ck_assert_int_eq(webconfig__load(path, &wc, err, sizeof(err)), 0);
	t = webconfig__tls(wc);
	ck_assert_str_eq(t->cert_pem, "CERT PEM\n");
	ck_assert_str_eq(t->key_pem, "KEY PEM\n");
	ck_assert_str_eq(t->client_ca_pem, "CA PEM\n");
	snprintf(want, sizeof(want), "--web-config %s", path);
	ck_assert_str_eq(webconfig__source(wc), want);
	webconfig__free(wc);
	/* a bad file through load: exit 2 */
	write_file(path, "basic_auth_users: 7\n");
	ck_assert_int_eq(webconfig__load(path, &wc, err, sizeof(err)), 2);
	ck_assert_str_eq(err, "basic_auth_users: expected a mapping of keys, got a value");

	/* the deprecated options: user:password, token:SECRET, cert + key */
	snprintf(path, sizeof(path), "%s/auth", dir);
	write_file(path, "prom:legacy pw\n");
	ck_assert_int_eq(webconfig__from_legacy(path, NULL, NULL, &wc, err, sizeof(err)), 0);
	ck_assert_ptr_null(webconfig__tls(wc));
	ck_assert(webconfig__needs_auth(wc));
	ck_assert(webconfig__check_basic(wc, "prom", "legacy pw"));
	ck_assert(!webconfig__check_basic(wc, "prom", "legacy"));
	ck_assert(!webconfig__check_bearer(wc, "legacy pw"));
	ck_assert_str_eq(webconfig__source(wc), "--metrics-auth");
	webconfig__free(wc);
	write_file(path, "token:s3cret\n");
	ck_assert_int_eq(webconfig__from_legacy(path, NULL, NULL, &wc, err, sizeof(err)), 0);
	ck_assert(webconfig__check_bearer(wc, "s3cret"));
	ck_assert(webconfig__check_bearer(wc, "s3cret"));
	ck_assert(!webconfig__check_bearer(wc, "s3cre"));
	ck_assert(!webconfig__check_basic(wc, "token", "s3cret"));
	webconfig__free(wc);
	write_file(path, "no colon\n");
	ck_assert_int_eq(webconfig__from_legacy(path, NULL, NULL, &wc, err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "--metrics-auth: '%s' must hold one line 'user:password' or 'token:SECRET'", path);
	ck_assert_str_eq(err, want);
	snprintf(path, sizeof(path), "%s/s.crt", dir);
	snprintf(want, sizeof(want), "%s/s.key", dir);
	ck_assert_int_eq(webconfig__from_legacy(NULL, path, want, &wc, err, sizeof(err)), 0);
	ck_assert_str_eq(webconfig__tls(wc)->cert_pem, "CERT PEM\n");
	ck_assert_str_eq(webconfig__tls(wc)->key_pem, "KEY PEM\n");
	ck_assert(!webconfig__needs_auth(wc));
	ck_assert_str_eq(webconfig__source(wc), "--tls-cert/--tls-key");
	webconfig__free(wc);
	ck_assert_int_eq(webconfig__from_legacy(NULL, "/nonexistent/c", want, &wc, err, sizeof(err)), 1);
	ck_assert_str_eq(err,
			 "--tls-cert '/nonexistent/c': No such file or directory (check the path; a relative one is "
			 "taken from the web config file's folder)");
	for (const char *f = "web.yml\0auth\0s.crt\0s.key\0ca.crt\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("webconfig");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, empty_is_open);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, defaults_and_names);
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, files);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
