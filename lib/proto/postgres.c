/* postgres.c -- PostgreSQL's wire protocol v3 as a struct proto: detection, the connection parser
 * (postgres_wire.c, SQL text by postgres_sql.c), and what its exchanges become: db_client_operation_duration_seconds
 * and a database span (OpenTelemetry's database semantic conventions, PostgreSQL). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/proto/conn.h"
#include "lib/proto/postgres_sql.h"
#include "lib/proto/postgres_wire.h"
#include "lib/proto/proto.h"

_Static_assert(sizeof(struct pg_conn) <= PROTO_STATE_MAX, "PostgreSQL state fits a proto_conn");

/* The first bytes a client sends: int32 length, int32 code.  Only these are claimed, so a connection
 * first seen in its middle stays unclaimed (its typed messages are too weak a signature). */
static enum proto_guess detect(const void *buf, size_t len, enum proto_dir dir)
{
	static const uint8_t codes[][4] = {
		{ 0x00, 0x03, 0x00, 0x00 }, /* 196608: StartupMessage, protocol 3.0 */
		{ 0x04, 0xd2, 0x16, 0x2f }, /* 80877103: SSLRequest */
		{ 0x04, 0xd2, 0x16, 0x30 }, /* 80877104: GSSENCRequest */
		{ 0x04, 0xd2, 0x16, 0x2e }, /* 80877102: CancelRequest */
	};
	const uint8_t *b = buf;
	uint32_t n;

	(void)dir; /* a client writes it (out), a server reads it (in) */
	if (len < 8) {
		/* too short to tell: a length under 10000 starts with two zero bytes */
		for (size_t i = 0; i < len && i < 2; i++)
			if (b[i])
				return PROTO_NO;
		return len ? PROTO_MAYBE : PROTO_NO;
	}
	n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	for (int i = 0; i < 4; i++) {
		if (memcmp(b + 4, codes[i], i ? 4 : 2))
			continue;
		if (i == 0)
			return n > 8 && n <= 10000 && b[6] == 0 ? PROTO_YES : PROTO_NO;
		return n == (i == 3 ? 16u : 8u) ? PROTO_YES : PROTO_NO;
	}
	return PROTO_NO;
}

static void init(void *state, const struct proto_sink *sink, void *ctx)
{
	pg_conn__init(state, sink, ctx);
}

static void feed(void *state, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	pg_conn__data(state, dir, buf, len, total, now_ns);
}

static void close_conn(void *state, uint64_t now_ns)
{
	pg_conn__close(state, now_ns);
}

static void progress(const void *state, struct proto_progress *out)
{
	const struct pg_conn *c = state;

	out->sure = c->sure && c->phase != PG_DEAD;
	out->errors = c->errors;
}

/* ---- describe ---- */

static bool clean(const struct proto_text *t, const char *in, char *out, size_t outlen)
{
	return in[0] && t->clean(t->ctx, in, out, outlen);
}

static void copy_cut(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void addr_text(const struct obs_addr *a, char *out, size_t len)
{
	out[0] = '\0';
	if (a->family == AF_INET)
		inet_ntop(AF_INET, a->addr, out, len);
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, a->addr, out, len);
}

static void describe(const struct obs_exchange *x, const struct proto_text *t, bool span, struct proto_desc *d)
{
	char op[OBS_X_OP_MAX + 16], coll[OBS_X_AGENT_MAX + 16], buf[OBS_X_TARGET_MAX + 64], addr[64];
	bool server = x->kind == OBS_X_SERVER, have_op, have_coll;
	const char *label, *server_addr;
	int port;

	proto_desc__init(d);
	if (x->status == PG_ST_SKIPPED) {
		d->lost = "postgres_not_executed"; /* after an error the server skips to the Sync */
		return;
	}
	if (x->status == PG_ST_OVERFLOW) {
		d->lost = "postgres_pipeline_overflow"; /* more Executes in flight than the parser keeps */
		return;
	}
	if (x->status == PG_ST_NONE) {
		d->lost = "postgres_unanswered"; /* no answer seen: no duration to record */
		return;
	}
	have_op = clean(t, x->op, op, sizeof(op));
	label = pgsql__op_label(have_op ? op : "");
	if (server) {
		addr_text(&x->local, addr, sizeof(addr));
		server_addr = addr;
		port = x->local.port;
	} else {
		server_addr = t->peer;
		port = x->peer.port;
	}
	d->labels[0] = "postgresql";
	d->labels[1] = label;
	d->labels[2] = proto_desc__keep(d, server_addr);
	d->labels[3] = x->error && clean(t, x->code, buf, sizeof(buf)) ? proto_desc__keep(d, buf) : "";
	if (!span)
		return;

	/* the span: "{db.operation.name} {db.collection.name}", the operation alone, or the system */
	have_coll = clean(t, x->agent, coll, sizeof(coll));
	copy_cut(d->name, sizeof(d->name), have_op ? op : "postgresql");
	if (have_op && have_coll) {
		size_t n = strlen(d->name);

		if (n + 2 < sizeof(d->name)) {
			d->name[n] = ' ';
			copy_cut(d->name + n + 1, sizeof(d->name) - n - 1, coll);
		}
	}
	d->error = x->error;
	proto_desc__str(d, "db.system.name", "postgresql");
	if (clean(t, x->host, buf, sizeof(buf)))
		proto_desc__str(d, "db.namespace", buf);
	if (have_op)
		proto_desc__str(d, "db.operation.name", op);
	if (have_coll)
		proto_desc__str(d, "db.collection.name", coll);
	if (clean(t, x->target, buf, sizeof(buf)))
		proto_desc__str(d, "db.query.text", buf);
	if (x->error && clean(t, x->code, buf, sizeof(buf))) {
		proto_desc__str(d, "db.response.status_code", buf);
		proto_desc__str(d, "error.type", buf);
	}
	if (server_addr[0])
		proto_desc__str(d, "server.address", server_addr);
	if (port)
		proto_desc__int(d, "server.port", port);
}

const struct proto proto_postgres = {
	.name = "postgresql",
	.id = OBS_PROTO_POSTGRES,
	.caplen = 0, /* as much as the capture path copies: statements are what it needs */
	.state_size = sizeof(struct pg_conn),
	.detect = detect,
	.init = init,
	.feed = feed,
	.close = close_conn,
	.progress = progress,
	.describe = describe,
};
