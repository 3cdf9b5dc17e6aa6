/* grpc.c -- what a gRPC call (an HTTP/2 stream whose content-type is application/grpc; the collector's
 * h2_session.c makes them) becomes: rpc_{server,client}_duration_seconds and an RPC span with OpenTelemetry's
 * RPC and gRPC conventions.  No detection: gRPC connections are claimed by http2.c. */
#include <stdlib.h>
#include <string.h>

#include "lib/proto/proto.h"

static enum proto_guess detect(const void *buf, size_t len, enum proto_dir dir)
{
	(void)buf, (void)len, (void)dir;
	return PROTO_NO; /* HTTP/2 claims the connection; its streams say gRPC */
}

static void init(void *state, const struct proto_sink *sink, void *ctx)
{
	(void)state, (void)sink, (void)ctx;
}

static void feed(void *state, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	(void)state, (void)dir, (void)buf, (void)len, (void)total, (void)now_ns;
}

static void close_conn(void *state, uint64_t now_ns)
{
	(void)state, (void)now_ns;
}

static void progress(const void *state, struct proto_progress *out)
{
	(void)state;
	out->sure = false;
	out->errors = 0;
}

/* OpenTelemetry's gRPC conventions: a client span is an error for every code but OK; a server span only for
 * the codes that say the server failed: UNKNOWN 2, DEADLINE_EXCEEDED 4, UNIMPLEMENTED 12, INTERNAL 13,
 * UNAVAILABLE 14, DATA_LOSS 15 (the rest, INVALID_ARGUMENT, NOT_FOUND..., are the caller's doing).  A call
 * that ended without a grpc-status is an error either way. */
static bool span_error(bool server, int code)
{
	if (code < 0)
		return true;
	if (!server)
		return code != 0;
	return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

/* "0".."16" (any decimal up to 3 digits) -> the number; -1 for "" or anything else */
static int status_code(const char *s)
{
	int v = 0, n = 0;

	for (; s[n] >= '0' && s[n] <= '9' && n < 3; n++)
		v = v * 10 + (s[n] - '0');
	return n && !s[n] ? v : -1;
}

static void copy_n(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* ":authority" without its port into @name; returns the port it has, or 0 */
static int split_authority(const char *a, char *name, size_t len)
{
	const char *colon = strrchr(a, ':');

	if (a[0] == '[') {
		const char *rb = strchr(a, ']');

		if (rb) {
			copy_n(name, len, a + 1, rb - a - 1);
			return rb[1] == ':' ? atoi(rb + 2) : 0;
		}
	}
	if (colon && strchr(a, ':') == colon) {
		copy_n(name, len, a, colon - a);
		return atoi(colon + 1);
	}
	copy_n(name, len, a, strlen(a));
	return 0;
}

static void describe(const struct obs_exchange *x, const struct proto_text *t, bool span, struct proto_desc *d)
{
	char path[OBS_X_TARGET_MAX + 64], host[OBS_X_HOST_MAX], buf[OBS_X_HOST_MAX + 64];
	const char *service = "", *method = "", *slash;
	bool server = x->kind == OBS_X_SERVER;
	int code = status_code(x->code), port;

	proto_desc__init(d);
	if (!x->status && code < 0) {
		d->lost = "grpc_unanswered"; /* no response and no status: no duration to record */
		return;
	}
	/* "/package.Service/Method" */
	if (t->clean(t->ctx, x->target, path, sizeof(path))) {
		char *p = path[0] == '/' ? path + 1 : path;

		slash = strchr(p, '/');
		service = p;
		if (slash) {
			path[slash - path] = '\0';
			method = slash + 1;
		}
	}
	d->labels[0] = "grpc";
	d->labels[1] = proto_desc__keep(d, service);
	d->labels[2] = proto_desc__keep(d, method);
	d->labels[3] = proto_desc__keep(d, code >= 0 ? x->code : "");
	if (!span)
		return;

	if (d->labels[2][0]) {
		size_t n = strlen(d->labels[1]);

		copy_n(d->name, sizeof(d->name), d->labels[1], n);
		if (n + 1 < sizeof(d->name)) {
			d->name[n] = '/';
			copy_n(d->name + n + 1, sizeof(d->name) - n - 1, d->labels[2], strlen(d->labels[2]));
		}
	} else {
		copy_n(d->name, sizeof(d->name), d->labels[1][0] ? d->labels[1] : "grpc",
		       strlen(d->labels[1][0] ? d->labels[1] : "grpc"));
	}
	d->error = span_error(server, code);
	proto_desc__str(d, "rpc.system", "grpc");
	if (d->labels[1][0])
		proto_desc__str(d, "rpc.service", d->labels[1]);
	if (d->labels[2][0])
		proto_desc__str(d, "rpc.method", d->labels[2]);
	if (code >= 0)
		proto_desc__int(d, "rpc.grpc.status_code", code);
	port = split_authority(x->host, host, sizeof(host));
	if (host[0] && t->clean(t->ctx, host, buf, sizeof(buf)))
		proto_desc__str(d, "server.address", buf);
	else if (!server && t->peer[0])
		proto_desc__str(d, "server.address", t->peer);
	if (server) {
		if (port || x->local.port)
			proto_desc__int(d, "server.port", port ? port : x->local.port);
		if (t->peer[0])
			proto_desc__str(d, "client.address", t->peer);
		if (x->peer.port)
			proto_desc__int(d, "client.port", x->peer.port);
	} else if (x->peer.port || port) {
		proto_desc__int(d, "server.port", x->peer.port ? x->peer.port : port);
	}
	proto_desc__str(d, "network.protocol.version", "2");
	if (x->agent[0] && t->clean(t->ctx, x->agent, buf, sizeof(buf)))
		proto_desc__str(d, "user_agent.original", buf);
}

const struct proto proto_grpc = {
	.name = "grpc",
	.id = OBS_PROTO_GRPC,
	.caplen = 0,
	.state_size = 0,
	.detect = detect,
	.init = init,
	.feed = feed,
	.close = close_conn,
	.progress = progress,
	.describe = describe,
};
