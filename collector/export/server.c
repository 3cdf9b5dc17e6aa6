/* server.c -- libmicrohttpd endpoints: /metrics (text 0.0.4 / OpenMetrics), health, targets; TLS, mTLS, basic auth */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "base/log.h"
#include "export/server.h"
#include "export/webconfig.h"

struct server {
	struct MHD_Daemon *d;
	struct server_opts opts;
	struct webconfig *own_web; /* made from the deprecated options */
	struct webconfig *web;	   /* opts.web or own_web; NULL: open */
	const struct webconfig_tls *tls;
	char priorities[160];
	char url[300];
	struct timespec started;
};

/* why a request without the client certificate client_auth_type asks for is refused, or NULL */
static const char *client_cert_refusal(struct server *s, struct MHD_Connection *c)
{
	enum webconfig_client_auth a = s->tls ? s->tls->client_auth : WEBCONFIG_NO_CLIENT_CERT;
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (void *)GNUTLS_KP_TLS_WWW_CLIENT };
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *chain;
	unsigned n = 0, status = 0;

	if (a == WEBCONFIG_NO_CLIENT_CERT || a == WEBCONFIG_REQUEST_CLIENT_CERT)
		return NULL;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return "no TLS session\n";
	chain = gnutls_certificate_get_peers(ci->tls_session, &n);
	if (!chain || !n)
		return a == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN ? NULL : "client certificate required\n";
	if (a == WEBCONFIG_REQUIRE_ANY_CLIENT_CERT)
		return NULL;
	if (gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1, &status) < 0 || status)
		return "client certificate not trusted (not signed by the server's client CA, expired, "
		       "or not for client authentication)\n";
	return NULL;
}

/* basic auth against basic_auth_users, or the deprecated bearer token */
static bool authorized(struct server *s, struct MHD_Connection *c)
{
	const char *h;
	char *pass = NULL, *user;
	bool ok;

	if (!webconfig__needs_auth(s->web))
		return true;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (h && !strncasecmp(h, "Bearer ", 7))
		return webconfig__check_bearer(s->web, h + 7);
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && webconfig__check_basic(s->web, user, pass);
	if (pass)
		explicit_bzero(pass, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result queue(struct server *s, struct MHD_Connection *c, unsigned code, const char *type,
			     struct MHD_Response *r)
{
	const char *name, *value;
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	for (int i = 0; webconfig__header(s->web, i, &name, &value); i++)
		MHD_add_response_header(r, name, value);
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Basic realm=\"obsprobe\"");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply(struct server *s, struct MHD_Connection *c, unsigned code, const char *type, char *body,
			     size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

	if (!r) {
		free(body);
		return MHD_NO;
	}
	return queue(s, c, code, type, r);
}

/* /metrics is formatted as libmicrohttpd sends it (chunked, or until the connection closes for HTTP/1.0): the
 * server thread formats one buffer's worth at a time, between its other connections, and a slow scraper costs
 * its stream (the list of series and one chunk), never a lock held or the whole text in memory */
#define METRICS_BLOCK (64 * 1024)

struct metrics_body {
	struct server *s;
	void *stream;
};

static ssize_t metrics_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct metrics_body *b = cls;
	long n = b->s->opts.metrics_read(b->stream, buf, max);

	(void)pos;
	if (n < 0) {
		elog("/metrics: out of memory while formatting: the response is cut short");
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void metrics_body_free(void *cls)
{
	struct metrics_body *b = cls;

	b->s->opts.metrics_close(b->stream);
	free(b);
}

static enum MHD_Result reply_stream(struct server *s, struct MHD_Connection *c, const char *type,
				    struct metrics_body *body)
{
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, METRICS_BLOCK, metrics_reader,
								   body, metrics_body_free);

	if (!r) {
		metrics_body_free(body);
		return MHD_NO;
	}
	return queue(s, c, MHD_HTTP_OK, type, r);
}

static enum MHD_Result reply_json(struct server *s, struct MHD_Connection *c, unsigned code, cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (!text)
		return MHD_NO;
	return reply(s, c, code, "application/json", text, strlen(text));
}

static enum MHD_Result reply_text(struct server *s, struct MHD_Connection *c, unsigned code, const char *text)
{
	char *copy = strdup(text);

	return copy ? reply(s, c, code, "text/plain; charset=utf-8", copy, strlen(copy)) : MHD_NO;
}

static void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	const char *refusal;
	cJSON *j;

	static int headers_seen;

	(void)version;
	(void)upload;
	/* the first call only has the headers: answering then makes libmicrohttpd close the connection
	 * (it cannot know the request is over), so a scraper would redo the TLS handshake every scrape */
	if (!*con_cls) {
		*con_cls = &headers_seen;
		return MHD_YES;
	}
	if (*upload_size) { /* a body: not read, not wanted */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_text(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");

	if (!strcmp(url, "/health")) {
		char ts[96];

		rfc3339_now(ts, sizeof(ts));
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", "ok");
		cJSON_AddStringToObject(j, "timestamp", ts);
		return reply_json(s, c, MHD_HTTP_OK, j);
	}
	if (!strcmp(url, "/health/live")) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", "alive");
		cJSON_AddNumberToObject(j, "uptime_seconds", (double)(now.tv_sec - s->started.tv_sec));
		return reply_json(s, c, MHD_HTTP_OK, j);
	}
	if (!strcmp(url, "/health/ready")) {
		cJSON *checks = cJSON_CreateObject(), *it;
		bool ok = true;

		if (s->opts.ready)
			s->opts.ready(s->opts.ctx, checks);
		cJSON_ArrayForEach(it, checks) ok &= cJSON_IsTrue(it);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", ok ? "ready" : "not_ready");
		cJSON_AddItemToObject(j, "checks", checks);
		return reply_json(s, c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, j);
	}
	/* everything but /health* needs the client certificate and credentials configured */
	if ((refusal = client_cert_refusal(s, c)))
		return reply_text(s, c, MHD_HTTP_FORBIDDEN, refusal);
	if (!authorized(s, c))
		return reply_text(s, c, MHD_HTTP_UNAUTHORIZED, "authorization required\n");

	if (!strcmp(url, "/metrics")) {
		const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
		bool om = accept && strstr(accept, "application/openmetrics-text");
		struct metrics_body *body = malloc(sizeof(*body));

		if (s->opts.refresh)
			s->opts.refresh(s->opts.ctx);
		if (body)
			*body = (struct metrics_body){ s, s->opts.metrics_open(s->opts.ctx, om) };
		if (!body || !body->stream) {
			free(body);
			return reply_text(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		}
		return reply_stream(s, c,
				    om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				       : "text/plain; version=0.0.4; charset=utf-8",
				    body);
	}
	if (!strcmp(url, "/api/v1/targets")) {
		cJSON *arr = cJSON_CreateArray();

		if (s->opts.targets)
			s->opts.targets(s->opts.ctx, arr);
		j = cJSON_CreateObject();
		cJSON_AddItemToObject(j, "targets", arr);
		return reply_json(s, c, MHD_HTTP_OK, j);
	}
	if (!strcmp(url, "/"))
		return reply_text(s, c, MHD_HTTP_OK,
				  "obsprobe collector: /metrics /health /health/live /health/ready /api/v1/targets\n");
	return reply_text(s, c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static int bind_listen(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	char ports[16];
	int fd = -1, one = 1, rc;

	snprintf(ports, sizeof(ports), "%d", port);
	rc = getaddrinfo(host, ports, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--listen %s:%d: cannot resolve '%s': %s", host, port, host, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		int e = errno;

		snprintf(err, errlen, "--listen %s:%d: %s%s", host, port, strerror(e),
			 e == EADDRINUSE      ? " (another process listens there; pick another with --listen)"
			 : e == EADDRNOTAVAIL ? " (not an address of this host)"
					      : "");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* libmicrohttpd's own messages (a connection over the limits, a failed handshake) only with -v:
 * anyone who can connect could otherwise fill the collector's stderr */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	vlog("http server: %s", line);
}

/* the handshake asks every client for a certificate when client_auth_type wants one; the request handler
 * decides, so that /health* stays reachable by probes that have none */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	const union MHD_ConnectionInfo *ci;

	(void)socket_context;
	if (code != MHD_CONNECTION_NOTIFY_STARTED || !s->tls || s->tls->client_auth == WEBCONFIG_NO_CLIENT_CERT)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session)
		gnutls_certificate_server_set_request(ci->tls_session, GNUTLS_CERT_REQUEST);
}

/* the certificate, key and client CAs must load in GnuTLS, and the versions make a priority string */
static int check_tls(struct server *s, char *err, size_t errlen)
{
	const struct webconfig_tls *t = s->tls;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t cert = { (unsigned char *)t->cert_pem, strlen(t->cert_pem) };
	gnutls_datum_t key = { (unsigned char *)t->key_pem, strlen(t->key_pem) };
	gnutls_datum_t ca = { (unsigned char *)(t->client_ca_pem ? t->client_ca_pem : ""),
			      t->client_ca_pem ? strlen(t->client_ca_pem) : 0 };
	gnutls_priority_t prio = NULL;
	const char *where = NULL;
	int rc, err_ = 1;

	snprintf(s->priorities, sizeof(s->priorities), "NORMAL:-VERS-ALL");
	for (int v = t->min_version; v <= (int)t->max_version; v++)
		snprintf(s->priorities + strlen(s->priorities), sizeof(s->priorities) - strlen(s->priorities),
			 ":+VERS-TLS1.%d", v - WEBCONFIG_TLS10);
	if (t->prefer_server_cipher_suites)
		snprintf(s->priorities + strlen(s->priorities), sizeof(s->priorities) - strlen(s->priorities),
			 ":%%SERVER_PRECEDENCE");
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		snprintf(err, errlen, "%s: out of memory", webconfig__source(s->web));
		goto cleanup;
	}
	rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s: the certificate and key do not load: %.*s (both must be PEM, the key "
			 "unencrypted and the certificate's own)",
			 webconfig__source(s->web), (int)strcspn(gnutls_strerror(rc), "."), gnutls_strerror(rc));
		goto cleanup;
	}
	if (t->client_ca_pem && (rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM)) <= 0) {
		snprintf(err, errlen,
			 "%s: client_ca_file holds no PEM certificate%s%s (give the CA that signs client "
			 "certificates)",
			 webconfig__source(s->web), rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
		goto cleanup;
	}
	if ((rc = gnutls_priority_init(&prio, s->priorities, &where)) < 0) {
		snprintf(err, errlen,
			 "%s: GnuTLS refuses TLS versions %s: %s (this GnuTLS cannot serve min_version..max_version)",
			 webconfig__source(s->web), s->priorities, gnutls_strerror(rc));
		goto cleanup;
	}
	err_ = 0;
cleanup:
	if (prio)
		gnutls_priority_deinit(prio);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return err_;
}

struct server *server__new(const struct server_opts *opts, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof(*s));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem o[16];
	int fd = -1, n = 0;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->opts = *opts;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->web = (struct webconfig *)opts->web;
	if (!s->web && (opts->auth_file || opts->tls_cert)) {
		elog("%s deprecated: write a --web-config file instead (exporter-toolkit format: tls_server_config, "
		     "basic_auth_users with bcrypt hashes; see README, Scraping)",
		     !opts->tls_cert	? "--metrics-auth is"
		     : !opts->auth_file ? "--tls-cert/--tls-key are"
					: "--metrics-auth and --tls-cert/--tls-key are");
		if (webconfig__from_legacy(opts->auth_file, opts->tls_cert, opts->tls_key, &s->own_web, err, errlen))
			goto fail;
		s->web = s->own_web;
	}
	s->tls = webconfig__tls(s->web);
	if (s->tls && check_tls(s, err, errlen))
		goto fail;
	fd = bind_listen(opts->host, opts->port, err, errlen);
	if (fd < 0)
		goto fail;
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, SERVER_CONNECTION_TIMEOUT, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, SERVER_MAX_CONNECTIONS, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, SERVER_MAX_CONNECTIONS_PER_IP, NULL };
	if (s->tls) {
		flags |= MHD_USE_TLS;
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)s->tls->cert_pem };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)s->tls->key_pem };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, s->priorities };
		if (s->tls->client_ca_pem)
			o[n++] =
				(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)s->tls->client_ca_pem };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s };
	}
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	if (!s->d) {
		close(fd);
		snprintf(err, errlen, "cannot start the HTTP server on %s:%d%s%s", opts->host, opts->port,
			 s->tls ? " with TLS: check " : "", s->tls ? webconfig__source(s->web) : "");
		goto fail;
	}
	snprintf(s->url, sizeof(s->url), "%s://%s%s%s:%d", s->tls ? "https" : "http",
		 strchr(opts->host, ':') ? "[" : "", opts->host, strchr(opts->host, ':') ? "]" : "", opts->port);
	return s;
fail:
	server__free(s);
	return NULL;
}

void server__free(struct server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	webconfig__free(s->own_web);
	free(s);
}

const char *server__url(const struct server *s)
{
	return s->url;
}
