/* server.c -- libmicrohttpd endpoints: /metrics (text 0.0.4 / OpenMetrics), health, targets */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "server.h"

struct server {
	struct MHD_Daemon *d;
	struct server_opts opts;
	char url[300];
	char *user, *password, *token; /* auth */
	char *cert, *key;
	struct timespec started;
};

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = calloc(1, n + 1)) || fread(buf, 1, n, f) != (size_t)n) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno ? errno : EIO));
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int load_auth(struct server *s, char *err, size_t errlen)
{
	char *text = read_file(s->opts.auth_file, err, errlen), *colon;

	if (!text)
		return -1;
	text[strcspn(text, "\r\n")] = '\0';
	colon = strchr(text, ':');
	if (!colon || colon == text || !colon[1]) {
		snprintf(err, errlen, "--metrics-auth: '%s' must hold one line 'user:password' or 'token:SECRET'",
			 s->opts.auth_file);
		free(text);
		return -1;
	}
	*colon = '\0';
	if (!strcmp(text, "token")) {
		s->token = strdup(colon + 1);
		free(text);
	} else {
		s->user = text;
		s->password = strdup(colon + 1);
	}
	return 0;
}

/* constant-time comparison of secrets */
static bool secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= a[i] ^ b[i];
	return !d;
}

static bool authorized(struct server *s, struct MHD_Connection *c)
{
	if (s->token) {
		const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

		return h && !strncasecmp(h, "Bearer ", 7) && secret_eq(h + 7, s->token);
	}
	if (s->user) {
		char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
		bool ok = user && pass && secret_eq(user, s->user) && secret_eq(pass, s->password);

		MHD_free(user);
		MHD_free(pass);
		return ok;
	}
	return true;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Basic realm=\"obsprobe\"");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned code, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (!s)
		return MHD_NO;
	return reply(c, code, "application/json", s, strlen(s));
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
	char *s = strdup(text);

	return s ? reply(c, code, "text/plain; charset=utf-8", s, strlen(s)) : MHD_NO;
}

static void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	cJSON *j;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");

	if (!strcmp(url, "/health")) {
		char ts[96];

		rfc3339_now(ts, sizeof(ts));
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", "ok");
		cJSON_AddStringToObject(j, "timestamp", ts);
		return reply_json(c, MHD_HTTP_OK, j);
	}
	if (!strcmp(url, "/health/live")) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", "alive");
		cJSON_AddNumberToObject(j, "uptime_seconds", (double)(now.tv_sec - s->started.tv_sec));
		return reply_json(c, MHD_HTTP_OK, j);
	}
	if (!strcmp(url, "/health/ready")) {
		cJSON *checks = cJSON_CreateObject(), *it;
		bool ok = true;

		if (s->opts.ready)
			s->opts.ready(s->opts.ctx, checks);
		cJSON_ArrayForEach(it, checks)
			ok &= cJSON_IsTrue(it);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", ok ? "ready" : "not_ready");
		cJSON_AddItemToObject(j, "checks", checks);
		return reply_json(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, j);
	}
	if (!authorized(s, c))
		return reply_text(c, MHD_HTTP_UNAUTHORIZED, "authorization required (--metrics-auth)\n");

	if (!strcmp(url, "/metrics")) {
		const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
		bool om = accept && strstr(accept, "application/openmetrics-text");
		size_t len = 0;
		char *text;

		if (s->opts.refresh)
			s->opts.refresh(s->opts.ctx);
		text = metrics__render(s->opts.metrics, om, &len);
		if (!text)
			return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(c, MHD_HTTP_OK,
			     om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				: "text/plain; version=0.0.4; charset=utf-8",
			     text, len);
	}
	if (!strcmp(url, "/api/v1/targets")) {
		cJSON *arr = cJSON_CreateArray();

		if (s->opts.targets)
			s->opts.targets(s->opts.ctx, arr);
		j = cJSON_CreateObject();
		cJSON_AddItemToObject(j, "targets", arr);
		return reply_json(c, MHD_HTTP_OK, j);
	}
	if (!strcmp(url, "/"))
		return reply_text(c, MHD_HTTP_OK,
				  "obsprobe collector: /metrics /health /health/live /health/ready /api/v1/targets\n");
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static int bind_listen(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
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
			 e == EADDRINUSE ? " (another process listens there; pick another with --listen)" :
			 e == EADDRNOTAVAIL ? " (not an address of this host)" : "");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct server *server__new(const struct server_opts *opts, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof(*s));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int fd;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->opts = *opts;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	if (opts->auth_file && load_auth(s, err, errlen))
		goto fail;
	if (opts->tls_cert) {
		if (!(s->cert = read_file(opts->tls_cert, err, errlen)) ||
		    !(s->key = read_file(opts->tls_key, err, errlen)))
			goto fail;
		flags |= MHD_USE_TLS;
	}
	fd = bind_listen(opts->host, opts->port, err, errlen);
	if (fd < 0)
		goto fail;
	if (opts->tls_cert)
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key,
					MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	else
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!s->d) {
		close(fd);
		snprintf(err, errlen, "cannot start the HTTP server on %s:%d%s", opts->host, opts->port,
			 opts->tls_cert ? " (check --tls-cert/--tls-key)" : "");
		goto fail;
	}
	snprintf(s->url, sizeof(s->url), "%s://%s%s%s:%d", opts->tls_cert ? "https" : "http",
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
	free(s->user);
	free(s->password);
	free(s->token);
	free(s->cert);
	free(s->key);
	free(s);
}

const char *server__url(const struct server *s)
{
	return s->url;
}
