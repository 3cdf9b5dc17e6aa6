/* webconfig.h -- the --web-config file (Prometheus exporter-toolkit format): TLS, client certificates, basic auth */
#ifndef OBSPROBE_WEBCONFIG_H
#define OBSPROBE_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WEBCONFIG_MAX_BYTES (1 << 20) /* the file and each PEM file it names */
#define WEBCONFIG_MAX_BCRYPT_COST 17  /* htpasswd's maximum; beyond it one check takes many seconds */
#define WEBCONFIG_MAX_FLOW_DEPTH 64   /* [ ] and { } nesting; libyaml's time grows with its square */

/* tls_server_config.client_auth_type, as Go's crypto/tls names them */
enum webconfig_client_auth {
	WEBCONFIG_NO_CLIENT_CERT,		  /* "NoClientCert" (default) */
	WEBCONFIG_REQUEST_CLIENT_CERT,		  /* "RequestClientCert": asked for, not needed, not checked */
	WEBCONFIG_REQUIRE_ANY_CLIENT_CERT,	  /* "RequireAnyClientCert": needed, not checked */
	WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN,	  /* "VerifyClientCertIfGiven": checked when given */
	WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT, /* "RequireAndVerifyClientCert": needed and checked */
};

/* min_version/max_version: TLS10 .. TLS13 */
enum webconfig_tls_version { WEBCONFIG_TLS10 = 10, WEBCONFIG_TLS11, WEBCONFIG_TLS12, WEBCONFIG_TLS13 };

/* what the HTTP server needs to serve TLS; PEM text, NUL-terminated */
struct webconfig_tls {
	const char *cert_pem, *key_pem;
	const char *client_ca_pem; /* NULL: none */
	enum webconfig_client_auth client_auth;
	enum webconfig_tls_version min_version, max_version;
	bool prefer_server_cipher_suites;
};

struct webconfig;

/* Parse the YAML text of a web config (@len bytes, need not be NUL-terminated).
 * Relative file names are taken from @dir (the file's folder).  Reads no file.
 * Returns 0, or 2 with "<what> (<how to fix>)" in @err: not YAML, an unknown key,
 * a wrong type or value, a key not supported here. */
int webconfig__parse(const char *text, size_t len, const char *dir, struct webconfig **out, char *err, size_t errlen);

/* Read @path, parse it, and read the PEM files it names.  Returns 0, 1 (a file
 * cannot be read) or 2 (not a valid web config); @err as for webconfig__parse. */
int webconfig__load(const char *path, struct webconfig **out, char *err, size_t errlen);

/* The deprecated --metrics-auth FILE ("user:password" or "token:SECRET") and
 * --tls-cert/--tls-key as a web config: the password is bcrypt-hashed at once.
 * Any may be NULL.  Returns 0, or 1 with the reason in @err. */
int webconfig__from_legacy(const char *auth_file, const char *tls_cert, const char *tls_key, struct webconfig **out,
			   char *err, size_t errlen);

void webconfig__free(struct webconfig *wc);

/* the TLS settings, or NULL for plain HTTP */
const struct webconfig_tls *webconfig__tls(const struct webconfig *wc);

/* whether requests need credentials (basic_auth_users, or a legacy token) */
bool webconfig__needs_auth(const struct webconfig *wc);

/* Basic credentials against basic_auth_users (crypt_r, constant-time compare);
 * results are cached by (user, salted SHA-256-crypt of the password) so that a
 * scrape does not pay bcrypt each time.  Thread-safe. */
bool webconfig__check_basic(struct webconfig *wc, const char *user, const char *password);

/* a bearer token against the legacy "token:SECRET" (same hashing and cache) */
bool webconfig__check_bearer(struct webconfig *wc, const char *token);

/* http_server_config.headers: the @i-th (name, value), false past the end */
bool webconfig__header(const struct webconfig *wc, int i, const char **name, const char **value);

/* the file it came from, or the deprecated options, for messages */
const char *webconfig__source(const struct webconfig *wc);

/* the names of enum webconfig_client_auth values */
const char *webconfig__client_auth_name(enum webconfig_client_auth a);

#endif
