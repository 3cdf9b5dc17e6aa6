/* webconfig_parse.c -- the --web-config YAML (exporter-toolkit keys) parsed into a webconfig, every key checked */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "export/basicauth.h"
#include "export/webconfig.h"
#include "export/webconfig_parse.h"

static const char *const client_auth_names[] = {
	[WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
	[WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

const char *webconfig__client_auth_name(enum webconfig_client_auth a)
{
	return a <= WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT ? client_auth_names[a] : "?";
}

struct webconfig *webconfig_parse__new(const char *source)
{
	struct webconfig *wc = calloc(1, sizeof(*wc));

	if (!wc)
		return NULL;
	wc->source = strdup(source);
	wc->auth = basicauth__new();
	wc->tls.min_version = WEBCONFIG_TLS12;
	wc->tls.max_version = WEBCONFIG_TLS13;
	wc->tls.prefer_server_cipher_suites = true;
	if (!wc->source || !wc->auth) {
		webconfig__free(wc);
		return NULL;
	}
	return wc;
}

/* ---- parsing ------------------------------------------------------------------- */

struct parse {
	yaml_document_t *doc;
	struct webconfig *wc;
	const char *dir;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return 2;
}

static const char *kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

/* a plain empty scalar, "~" or "null": the key is as good as absent */
static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* a scalar's text into @out (NULL when null); 0 or 2 */
static int get_str(struct parse *p, const yaml_node_t *n, const char *what, const char *hint, const char **out)
{
	*out = NULL;
	if (n->type != YAML_SCALAR_NODE)
		return fail(p, "%s: expected a string, got %s (%s)", what, kind(n), hint);
	if (is_null(n))
		return 0;
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return fail(p, "%s: the value has a NUL byte (write the text itself)", what);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

static int get_bool(struct parse *p, const yaml_node_t *n, const char *what, bool *out)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
			*out = false;
			return 0;
		}
	}
	return fail(p, "%s: expected true or false", what);
}

/* @n must be a mapping (or null); its pairs through @each; duplicate keys refused */
static int each_pair(struct parse *p, const yaml_node_t *n, const char *what,
		     int (*each)(struct parse *p, const char *key, const yaml_node_t *v))
{
	yaml_node_pair_t *pair, *other;
	int rc;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, "%s: expected a mapping of keys, got %s", what, kind(n));
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const char *key;

		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return fail(p, "%s%sa key is %s, not a name", what, *what ? ": " : "", k ? kind(k) : "missing");
		key = (const char *)k->data.scalar.value;
		if (strlen(key) != k->data.scalar.length)
			return fail(p, "%s: a key has a NUL byte", what);
		for (other = n->data.mapping.pairs.start; other < pair; other++) {
			const yaml_node_t *ok = yaml_document_get_node(p->doc, other->key);

			if (ok && ok->type == YAML_SCALAR_NODE && !strcmp((const char *)ok->data.scalar.value, key))
				return fail(p, "%s%s%s: given twice (keep one)", what, *what ? "." : "", key);
		}
		if ((rc = each(p, key, v)))
			return rc;
	}
	return 0;
}

/* @name relative to the config file's folder; NULL when out of memory */
static char *resolve(const char *dir, const char *name)
{
	char *out = NULL;

	if (name[0] == '/' || !dir)
		return strdup(name);
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		return NULL;
	return out;
}

static int set_path(struct parse *p, char **dst, const yaml_node_t *v, const char *what)
{
	const char *s;
	int rc = get_str(p, v, what, "a file name, e.g. server.crt", &s);

	if (rc || !s)
		return rc;
	if (!(*dst = resolve(p->dir, s)))
		return fail(p, "out of memory");
	p->wc->tls_on = true;
	return 0;
}

static int set_inline(struct parse *p, char **dst, const yaml_node_t *v, const char *what)
{
	const char *s;
	int rc = get_str(p, v, what, "PEM text", &s);

	if (rc || !s)
		return rc;
	if (!(*dst = strdup(s)))
		return fail(p, "out of memory");
	p->wc->tls_on = true;
	return 0;
}

static int get_version(struct parse *p, const yaml_node_t *v, const char *what, enum webconfig_tls_version *out)
{
	static const char *const names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
	const char *s;
	int rc = get_str(p, v, what, "one of TLS10, TLS11, TLS12, TLS13", &s);

	if (rc)
		return rc;
	for (int i = 0; s && i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = WEBCONFIG_TLS10 + i;
			return 0;
		}
	}
	return fail(p, "%s: '%s' is not a TLS version (one of TLS10, TLS11, TLS12, TLS13)", what, s ? s : "");
}

/* cipher_suites, curve_preferences, client_allowed_sans: only an empty list is accepted */
static int unsupported_list(struct parse *p, const yaml_node_t *v, const char *what, const char *why)
{
	if (is_null(v) || (v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.start == v->data.sequence.items.top))
		return 0;
	return fail(p, "%s: not supported by obsprobe (%s; remove the key)", what, why);
}

static int tls_key(struct parse *p, const char *key, const yaml_node_t *v)
{
	struct webconfig *wc = p->wc;
	char what[96];

	snprintf(what, sizeof(what), "tls_server_config.%s", key);
	if (!strcmp(key, "cert_file"))
		return set_path(p, &wc->cert_file, v, what);
	if (!strcmp(key, "key_file"))
		return set_path(p, &wc->key_file, v, what);
	if (!strcmp(key, "client_ca_file"))
		return set_path(p, &wc->ca_file, v, what);
	if (!strcmp(key, "cert"))
		return set_inline(p, &wc->cert_pem, v, what);
	if (!strcmp(key, "key"))
		return set_inline(p, &wc->key_pem, v, what);
	if (!strcmp(key, "client_ca"))
		return set_inline(p, &wc->ca_pem, v, what);
	if (!strcmp(key, "client_auth_type")) {
		const char *s;
		int rc = get_str(p, v, what, "e.g. RequireAndVerifyClientCert", &s);

		if (rc || !s)
			return rc;
		wc->tls_on = true;
		for (int i = 0; i <= WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT; i++) {
			if (!strcmp(s, client_auth_names[i])) {
				wc->tls.client_auth = i;
				return 0;
			}
		}
		if (!strcmp(s, "RequireClientCert")) { /* the toolkit's older spelling */
			wc->tls.client_auth = WEBCONFIG_REQUIRE_ANY_CLIENT_CERT;
			return 0;
		}
		return fail(p,
			    "%s: '%s' is not a client auth type (NoClientCert, RequestClientCert, RequireAnyClientCert, "
			    "VerifyClientCertIfGiven or RequireAndVerifyClientCert)",
			    what, s);
	}
	if (!strcmp(key, "min_version"))
		return get_version(p, v, what, &wc->tls.min_version);
	if (!strcmp(key, "max_version"))
		return get_version(p, v, what, &wc->tls.max_version);
	if (!strcmp(key, "prefer_server_cipher_suites"))
		return get_bool(p, v, what, &wc->tls.prefer_server_cipher_suites);
	if (!strcmp(key, "cipher_suites"))
		return unsupported_list(p, v, what,
					"GnuTLS's NORMAL suites are used; min_version: TLS13 keeps only TLS 1.3's");
	if (!strcmp(key, "curve_preferences"))
		return unsupported_list(p, v, what, "GnuTLS's NORMAL groups are used");
	if (!strcmp(key, "client_allowed_sans"))
		return unsupported_list(p, v, what, "any certificate the client CA signed is accepted");
	return fail(p,
		    "%s: unknown key (tls_server_config takes cert_file, key_file, cert, key, client_auth_type, "
		    "client_ca_file, client_ca, min_version, max_version, prefer_server_cipher_suites)",
		    what);
}

static int header_key(struct parse *p, const char *key, const yaml_node_t *v)
{
	static const struct {
		const char *name, *values[3];
	} allowed[] = {
		{ "Strict-Transport-Security", { NULL } },
		{ "X-Content-Type-Options", { "nosniff", NULL } },
		{ "X-Frame-Options", { "deny", "sameorigin", NULL } },
		{ "X-XSS-Protection", { NULL } },
		{ "Content-Security-Policy", { NULL } },
	};
	struct webconfig *wc = p->wc;
	char what[128];
	const char *s;
	int rc;

	snprintf(what, sizeof(what), "http_server_config.headers.%.64s", key);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		bool ok;

		if (strcmp(key, allowed[i].name))
			continue;
		if ((rc = get_str(p, v, what, "one line of text", &s)) || !s)
			return rc; /* unset if blank */
		for (const char *c = s; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail(p, "%s: the value has a control character (one line of text)", what);
		ok = !allowed[i].values[0];
		for (int j = 0; allowed[i].values[j]; j++)
			ok |= !strcmp(s, allowed[i].values[j]);
		if (!ok)
			return fail(p, "%s: '%s' is not allowed (%s%s%s)", what, s, allowed[i].values[0],
				    allowed[i].values[1] ? " or " : "",
				    allowed[i].values[1] ? allowed[i].values[1] : "");
		wc->headers[wc->nheaders].name = strdup(key);
		wc->headers[wc->nheaders].value = strdup(s);
		if (!wc->headers[wc->nheaders].name || !wc->headers[wc->nheaders].value) {
			free(wc->headers[wc->nheaders].name);
			free(wc->headers[wc->nheaders].value);
			return fail(p, "out of memory");
		}
		wc->nheaders++;
		return 0;
	}
	return fail(p,
		    "%s: this header cannot be set (Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
		    "X-XSS-Protection or Content-Security-Policy)",
		    what);
}

static int http_key(struct parse *p, const char *key, const yaml_node_t *v)
{
	bool http2;

	if (!strcmp(key, "http2")) /* HTTP/1.1 only here: either value is accepted */
		return get_bool(p, v, "http_server_config.http2", &http2);
	if (!strcmp(key, "headers"))
		return each_pair(p, v, "http_server_config.headers", header_key);
	return fail(p, "http_server_config.%s: unknown key (http_server_config takes http2, headers)", key);
}

/* "$2a$", "$2b$" or "$2y$", a two-digit cost, '$', 53 characters of bcrypt's base64 */
static int check_bcrypt(struct parse *p, const char *user, const char *h)
{
	int cost;

	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' || h[4] < '0' ||
	    h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$' ||
	    strspn(h + 7, "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != 53)
		return fail(p,
			    "basic_auth_users.%.64s: not a bcrypt hash (make one with: htpasswd -nbBC 10 '' PASSWORD | "
			    "tr -d ':\\n')",
			    user);
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > WEBCONFIG_MAX_BCRYPT_COST)
		return fail(p,
			    "basic_auth_users.%.64s: bcrypt cost %d is outside 4..%d (htpasswd -nbBC 10 makes cost 10)",
			    user, cost, WEBCONFIG_MAX_BCRYPT_COST);
	return 0;
}

static int user_key(struct parse *p, const char *key, const yaml_node_t *v)
{
	char what[96];
	const char *h;
	int rc;

	snprintf(what, sizeof(what), "basic_auth_users.%.64s", key);
	if (strchr(key, ':'))
		return fail(p, "%s: a user name cannot hold ':' (basic auth splits user and password there)", what);
	if ((rc = get_str(p, v, what, "a bcrypt hash in quotes, from htpasswd -nbBC 10 '' PASSWORD", &h)))
		return rc;
	if (!h)
		return fail(p, "%s: no password hash (make one with: htpasswd -nbBC 10 '' PASSWORD | tr -d ':\\n')",
			    what);
	if ((rc = check_bcrypt(p, key, h)))
		return rc;
	rc = basicauth__add(p->wc->auth, key, h);
	if (rc == -2)
		return fail(p, "basic_auth_users: more than %d users (use client certificates for many clients)",
			    BASICAUTH_MAX_USERS);
	return rc ? fail(p, "out of memory") : 0;
}

static int top_key(struct parse *p, const char *key, const yaml_node_t *v)
{
	if (!strcmp(key, "tls_server_config"))
		return each_pair(p, v, "tls_server_config", tls_key);
	if (!strcmp(key, "http_server_config"))
		return each_pair(p, v, "http_server_config", http_key);
	if (!strcmp(key, "basic_auth_users"))
		return each_pair(p, v, "basic_auth_users", user_key);
	if (!strcmp(key, "rate_limit"))
		return fail(p, "rate_limit: not supported by obsprobe (connections are limited per address instead; "
			       "remove the key)");
	return fail(p, "%.64s: unknown key (the file takes tls_server_config, http_server_config, basic_auth_users)",
		    key);
}

/* what the keys say together */
static int check_tls(struct parse *p)
{
	struct webconfig *wc = p->wc;
	enum webconfig_client_auth a = wc->tls.client_auth;

	if (!wc->tls_on)
		return 0;
	if (!wc->cert_file && !wc->cert_pem)
		return fail(p, "tls_server_config: no certificate (give cert_file and key_file)");
	if (!wc->key_file && !wc->key_pem)
		return fail(p, "tls_server_config: no private key (give key_file with cert_file)");
	if (wc->cert_file && wc->cert_pem)
		return fail(p, "tls_server_config: both cert and cert_file are given (keep one)");
	if (wc->key_file && wc->key_pem)
		return fail(p, "tls_server_config: both key and key_file are given (keep one)");
	if (wc->ca_file && wc->ca_pem)
		return fail(p, "tls_server_config: both client_ca and client_ca_file are given (keep one)");
	if ((wc->ca_file || wc->ca_pem) && a == WEBCONFIG_NO_CLIENT_CERT)
		return fail(p, "tls_server_config: client_ca_file is given without client_auth_type "
			       "(set client_auth_type: RequireAndVerifyClientCert)");
	if (!wc->ca_file && !wc->ca_pem &&
	    (a == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN || a == WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT))
		return fail(p,
			    "tls_server_config: client_auth_type %s needs client_ca_file (the CA that signs client "
			    "certificates)",
			    client_auth_names[a]);
	if (wc->tls.min_version > wc->tls.max_version)
		return fail(p, "tls_server_config: min_version TLS%d is above max_version TLS%d (lower min_version)",
			    wc->tls.min_version, wc->tls.max_version);
	return 0;
}

/* The deepest nesting of flow collections, counting every bracket (quoted ones too: a false alarm needs
 * dozens of unbalanced brackets in one string).  libyaml's scanner is quadratic in it: 100,000 levels
 * take it minutes. */
static int flow_depth(const char *text, size_t len)
{
	int depth = 0, max = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '[' || text[i] == '{')
			max = ++depth > max ? depth : max;
		else if ((text[i] == ']' || text[i] == '}') && depth > 0)
			depth--;
	}
	return max;
}

int webconfig__parse(const char *text, size_t len, const char *dir, struct webconfig **out, char *err, size_t errlen)
{
	struct webconfig *wc = webconfig_parse__new("web config");
	yaml_parser_t parser;
	yaml_document_t doc, more;
	bool parser_on = false, doc_on = false;
	struct parse p = { .doc = &doc, .wc = wc, .dir = dir, .err = err, .errlen = errlen };
	const yaml_node_t *root;
	int rc = 2;

	*out = NULL;
	err[0] = '\0';
	if (!wc) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	if (len > WEBCONFIG_MAX_BYTES) {
		fail(&p, "larger than 1 MiB (is it the right file?)");
		goto cleanup;
	}
	if (flow_depth(text, len) > WEBCONFIG_MAX_FLOW_DEPTH) {
		fail(&p, "nested deeper than %d levels of [ ] or { } (a web config needs 2; is it the right file?)",
		     WEBCONFIG_MAX_FLOW_DEPTH);
		goto cleanup;
	}
	if (!yaml_parser_initialize(&parser)) {
		fail(&p, "out of memory");
		goto cleanup;
	}
	parser_on = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		fail(&p, "not valid YAML: %s at line %zu, column %zu (check the indentation; keys are 'name: value')",
		     parser.problem ? parser.problem : "error", parser.problem_mark.line + 1,
		     parser.problem_mark.column + 1);
		goto cleanup;
	}
	doc_on = true;
	root = yaml_document_get_root_node(&doc);
	if (root) { /* no document at all: plain HTTP, no auth */
		if (!yaml_parser_load(&parser, &more)) {
			fail(&p, "not valid YAML: %s at line %zu (after the first document)",
			     parser.problem ? parser.problem : "error", parser.problem_mark.line + 1);
			goto cleanup;
		}
		if (yaml_document_get_root_node(&more)) {
			yaml_document_delete(&more);
			fail(&p, "more than one YAML document (keep one; remove the '---' line)");
			goto cleanup;
		}
		yaml_document_delete(&more);
		if (root->type != YAML_MAPPING_NODE && !is_null(root)) {
			fail(&p, "expected a mapping with tls_server_config and/or basic_auth_users, got %s",
			     kind(root));
			goto cleanup;
		}
		if ((rc = each_pair(&p, root, "", top_key)) || (rc = check_tls(&p)))
			goto cleanup;
	}
	wc->tls.cert_pem = wc->cert_pem; /* inline PEM; files are read by webconfig__load */
	wc->tls.key_pem = wc->key_pem;
	wc->tls.client_ca_pem = wc->ca_pem;
	rc = 0;
cleanup:
	if (doc_on)
		yaml_document_delete(&doc);
	if (parser_on)
		yaml_parser_delete(&parser);
	if (rc)
		webconfig__free(wc);
	else
		*out = wc;
	return rc;
}
