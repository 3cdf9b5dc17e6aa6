/* http1.c -- HTTP/1.x as a struct proto: detection, the connection parser (http1_conn.c over http1_parser.c),
 * and what its exchanges become: http_{server,client}_request_duration_seconds and an HTTP span (SPEC
 * "Traces"; OpenTelemetry's HTTP semantic conventions). */
#include <stdlib.h>
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/http1_conn.h"
#include "lib/proto/http1_route.h"
#include "lib/proto/proto.h"

_Static_assert(sizeof(struct http1_conn) <= PROTO_STATE_MAX, "HTTP/1 state fits a proto_conn");

static enum proto_guess detect(const void *buf, size_t len, enum proto_dir dir)
{
	(void)dir; /* either side may speak first on a connection we see from its middle */
	switch (http__detect(buf, len)) {
	case HTTP_GUESS_YES:
		return PROTO_YES;
	case HTTP_GUESS_MAYBE:
		return PROTO_MAYBE;
	default:
		return PROTO_NO;
	}
}

static void init(void *state, const struct proto_sink *sink, void *ctx)
{
	http1_conn__init(state, sink, ctx);
}

static void feed(void *state, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	http1_conn__data(state, dir, buf, len, total, now_ns);
}

static void close_conn(void *state, uint64_t now_ns)
{
	http1_conn__close(state, now_ns);
}

static void progress(const void *state, struct proto_progress *out)
{
	const struct http1_conn *c = state;

	out->sure = c->role != HTTP1_UNKNOWN;
	out->errors = c->parser[PROTO_IN].errors + c->parser[PROTO_OUT].errors;
}

/* ---- describe ---- */

static const char *method_label(const char *m)
{
	static const char *const known[] = { "GET",	"HEAD",	   "POST",  "PUT",  "DELETE",
					     "CONNECT", "OPTIONS", "TRACE", "PATCH" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *a = m, *b = known[i]; /* a few bytes: no library call (~100 instructions each) */

		while (*a && *a == *b)
			a++, b++;
		if (*a == *b)
			return known[i];
	}
	return "_OTHER"; /* OpenTelemetry's bucket for the rest: a method can't explode cardinality */
}

/* @n bytes of @s into @out (@size), cut to fit */
static void copy_n(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* atoi(), without strtol's locale work for the usual case: up to 5 digits and the end */
static int port_num(const char *s)
{
	int v = 0, i = 0;

	for (; i < 5 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	return i && !s[i] ? v : atoi(s);
}

/* the Host header without its port into @name; returns the port it has, or 0 */
static int split_host(const char *host, char *name, size_t len)
{
	const char *colon = strrchr(host, ':'), *end = host + strlen(host);
	int port = 0;

	if (host[0] == '[') { /* [v6]:port */
		const char *rb = strchr(host, ']');

		if (rb) {
			copy_n(name, len, host + 1, rb - host - 1);
			if (rb[1] == ':')
				port = port_num(rb + 2);
			return port;
		}
	}
	if (colon && strchr(host, ':') == colon) {
		end = colon;
		port = port_num(colon + 1);
	}
	copy_n(name, len, host, end - host);
	return port;
}

static bool clean(const struct proto_text *t, const char *in, char *out, size_t outlen)
{
	return t->clean(t->ctx, in, out, outlen);
}

static void describe(const struct obs_exchange *x, const struct proto_text *t, bool span, struct proto_desc *d)
{
	char target[OBS_X_TARGET_MAX + 64], route[256], status[8], host[OBS_X_HOST_MAX], buf[256];
	const char *method = method_label(x->op);
	bool server = x->kind == OBS_X_SERVER, have_target;
	int host_port = 0, i = sizeof(status) - 1;
	char *q;

	proto_desc__init(d);
	if (!x->status) {
		d->lost = "http_unanswered"; /* no response: no duration to record */
		return;
	}
	/* redact the whole target first: a secret in the path must not reach the route either */
	have_target = clean(t, x->target, target, sizeof(target));
	if (!have_target)
		strcpy(target, "/");
	q = strchr(target, '?');
	if (route__fold_memo(t->routes, target, q ? (size_t)(q - target) : strlen(target), route, sizeof(route)) < 0)
		strcpy(route, "/");
	status[i] = '\0';
	for (unsigned v = x->status; v || i == (int)sizeof(status) - 1; v /= 10)
		status[--i] = '0' + v % 10;
	host[0] = '\0';
	if (!server || span) /* a server's labels do not name the host */
		host_port = split_host(x->host, host, sizeof(host));

	d->labels[0] = method;
	d->labels[1] = proto_desc__keep(d, status + i);
	if (server) {
		d->labels[2] = proto_desc__keep(d, route);
	} else {
		char sa[OBS_X_HOST_MAX];

		if (!host[0] || !clean(t, host, sa, sizeof(sa)))
			copy_n(sa, sizeof(sa), t->peer, strlen(t->peer));
		d->labels[2] = proto_desc__keep(d, sa);
	}
	if (!span)
		return;

	/* the span: OpenTelemetry's HTTP span conventions */
	if (server) {
		size_t m = strlen(method);

		copy_n(d->name, sizeof(d->name), method, m);
		if (m + 1 < sizeof(d->name)) {
			d->name[m] = ' ';
			copy_n(d->name + m + 1, sizeof(d->name) - m - 1, route, strlen(route));
		}
	} else {
		copy_n(d->name, sizeof(d->name), method, strlen(method));
	}
	d->error = (server && x->status >= 500) || (!server && x->status >= 400);
	proto_desc__str(d, "http.request.method", method);
	if (have_target) {
		if (q)
			*q = '\0';
		proto_desc__str(d, "url.path", target);
		if (q && q[1])
			proto_desc__str(d, "url.query", q + 1);
	}
	if (server)
		proto_desc__str(d, "http.route", route);
	proto_desc__int(d, "http.response.status_code", x->status);
	if (server) {
		if (host[0] && clean(t, host, buf, sizeof(buf)))
			proto_desc__str(d, "server.address", buf);
		if (host_port || x->local.port)
			proto_desc__int(d, "server.port", host_port ? host_port : x->local.port);
		if (t->peer[0])
			proto_desc__str(d, "client.address", t->peer);
		if (x->peer.port)
			proto_desc__int(d, "client.port", x->peer.port);
	} else {
		if (host[0] && clean(t, host, buf, sizeof(buf)))
			proto_desc__str(d, "server.address", buf);
		else if (t->peer[0])
			proto_desc__str(d, "server.address", t->peer);
		if (x->peer.port || host_port)
			proto_desc__int(d, "server.port", x->peer.port ? x->peer.port : host_port);
	}
	proto_desc__str(d, "network.protocol.version", x->version ? "1.1" : "1.0");
	if (x->agent[0] && clean(t, x->agent, buf, sizeof(buf)))
		proto_desc__str(d, "user_agent.original", buf);
}

/* describe()'s labels read the status, method and target, and a client's the Host header and peer */
static size_t label_key(const struct obs_exchange *x, const struct proto_text *t, char *out, size_t size)
{
	const char *s[4] = { x->op, x->target, x->kind == OBS_X_SERVER ? "" : x->host,
			     x->kind == OBS_X_SERVER ? "" : t->peer };
	uint8_t head[3] = { x->kind, (uint8_t)(x->status >> 8), (uint8_t)x->status };
	size_t n = 0;

	if (!x->status || !proto_key__put(out, size, &n, head, sizeof(head)))
		return 0;
	for (int i = 0; i < 4; i++)
		if (!proto_key__put(out, size, &n, s[i], strlen(s[i]) + 1))
			return 0;
	return n;
}

const struct proto proto_http1 = {
	.name = "http1",
	.id = OBS_PROTO_HTTP1,
	.caplen = 0, /* as much as the capture path copies: heads are what it needs */
	.state_size = sizeof(struct http1_conn),
	.detect = detect,
	.init = init,
	.feed = feed,
	.close = close_conn,
	.progress = progress,
	.describe = describe,
	.label_key = label_key,
};
