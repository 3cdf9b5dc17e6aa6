/* webconfig_parse.h -- the webconfig object as the --web-config parser (webconfig_parse.c) builds it; internal to
 * webconfig*.c (webconfig__parse itself is declared in webconfig.h) */
#ifndef OBSPROBE_WEBCONFIG_PARSE_H
#define OBSPROBE_WEBCONFIG_PARSE_H

#include <stdbool.h>

#include "export/webconfig.h"

struct header {
	char *name, *value;
};

struct webconfig {
	char *source;
	bool tls_on;
	struct webconfig_tls tls;
	char *cert_pem, *key_pem, *ca_pem;    /* contents: inline, or read from the files */
	char *cert_file, *key_file, *ca_file; /* resolved paths */
	struct basicauth *auth;		      /* basic_auth_users */
	struct header headers[8];
	int nheaders;
};

/* An empty config named @source (for messages): TLS off, no users, TLS 1.2 to 1.3 preferring the server's
 * cipher suites.  NULL when out of memory. */
struct webconfig *webconfig_parse__new(const char *source);

#endif
