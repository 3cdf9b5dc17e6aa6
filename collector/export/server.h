/* server.h -- the collector's HTTP endpoints: /metrics, /health*, /api/v1/targets */
#ifndef OBSPROBE_SERVER_H
#define OBSPROBE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct server;
struct webconfig;

/* connection limits (README, Scraping): Prometheus needs one connection per target */
#define SERVER_MAX_CONNECTIONS 64
#define SERVER_MAX_CONNECTIONS_PER_IP 16
#define SERVER_CONNECTION_TIMEOUT 10 /* seconds idle (or in a TLS handshake) before a connection is closed */

struct server_opts {
	const char *host; /* IPv4/IPv6 literal or "localhost" */
	int port;
	const struct webconfig *web; /* --web-config: TLS, client certificates, basic auth; NULL = open */
	/* deprecated spellings, used when web is NULL: made into a web config (with one warning line) */
	const char *auth_file; /* --metrics-auth: "user:password" or "token:SECRET" */
	const char *tls_cert, *tls_key;
	/* fill the /api/v1/targets array; called from the server thread */
	void (*targets)(void *ctx, cJSON *array);
	/* add named checks to @checks (true/false); all true = ready */
	void (*ready)(void *ctx, cJSON *checks);
	/* called before /metrics renders, to fold in fresh counts */
	void (*refresh)(void *ctx);
	/* the /metrics body (Prometheus text 0.0.4, or OpenMetrics when @openmetrics) as a stream, sent as it is
	 * read: metrics_open gives a handle (NULL when out of memory), metrics_read up to @max bytes of it (0 at the
	 * end, -1 on an error: the response is cut short), metrics_close frees it; all from the server thread */
	void *(*metrics_open)(void *ctx, bool openmetrics);
	long (*metrics_read)(void *stream, char *dst, size_t max);
	void (*metrics_close)(void *stream);
	void *ctx;
};

/* bind and start serving; NULL with a one-line reason in @err (port in use, bad address, a certificate
 * GnuTLS cannot load...).  /health* are open; the rest needs what the web config asks for: 403 without
 * the client certificate client_auth_type wants, 401 (WWW-Authenticate: Basic) without credentials. */
struct server *server__new(const struct server_opts *opts, char *err, size_t errlen);
void server__free(struct server *s);
/* "http://127.0.0.1:9464" */
const char *server__url(const struct server *s);

#endif
