/* postgres_wire.c -- one connection's PostgreSQL protocol v3 exchanges: what each message means, pairing (the
 * framing that feeds it: postgres_frame.c) */
#include <stddef.h>
#include <string.h>

#include "lib/proto/postgres_sql.h"
#include "lib/proto/postgres_wire.h"

#define PG_PROTO_3 196608u
#define PG_CANCEL 80877102u
#define PG_SSL 80877103u
#define PG_GSSENC 80877104u

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* @n bytes of @s (or up to its NUL) into @dst (@size), cut to fit; true when cut */
static bool copy_str(char *dst, size_t size, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);
	bool cut = false;

	if (nul)
		n = nul - s;
	if (n >= size) {
		n = size - 1;
		cut = true;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return cut;
}

/* the NUL-terminated string at *@off of @body (@len); NULL when it does not end inside */
static const char *next_str(const char *body, size_t len, size_t *off)
{
	const char *s = body + *off, *nul;

	if (*off >= len || !(nul = memchr(s, '\0', len - *off)))
		return NULL;
	*off += nul - s + 1;
	return s;
}

/* ---- exchanges ---- */

static void emit(struct pg_conn *c, struct obs_exchange *x)
{
	if (c->cb && c->cb->on_exchange)
		c->cb->on_exchange(c->cb_ctx, x);
}

/* the oldest pending exchange ends */
static void end_head(struct pg_conn *c, uint8_t status, bool incomplete)
{
	struct obs_exchange *x = &c->pend[c->head].x;

	if (status > x->status)
		x->status = status;
	x->incomplete |= incomplete;
	x->end_ns = c->now_ns;
	c->head = (c->head + 1) % PG_PENDING;
	c->npending--;
	emit(c, x);
}

void pg_wire__end_all(struct pg_conn *c)
{
	while (c->npending)
		end_head(c, PG_ST_NONE, true);
}

/* the exchange the backend answers now, or NULL */
static struct pg_pending *current(struct pg_conn *c)
{
	struct pg_pending *p = &c->pend[c->head];

	return c->npending && p->group == c->be_groups ? p : NULL;
}

/* a new exchange for the statement @text (normalised; @cut: it is not whole) */
static void start(struct pg_conn *c, const char *text, bool cut, bool simple, uint64_t start_ns, uint32_t bytes)
{
	struct pg_pending *p;
	struct obs_exchange *x;
	struct trace_ctx in;

	memset(&in, 0, sizeof(in));
	if (c->npending == PG_PENDING || c->overflow_group == c->fe_groups + 1) {
		/* Untracked, said at once; so are the rest of its Sync's, whose answers then find no exchange
		 * waiting in their group instead of being paired with the wrong one. */
		struct obs_exchange lost;

		c->dropped++;
		c->overflow_group = c->fe_groups + 1;
		memset(&lost, 0, sizeof(lost));
		lost.kind = c->role;
		lost.version = 3;
		lost.status = PG_ST_OVERFLOW;
		lost.incomplete = 1;
		lost.start_ns = start_ns;
		lost.end_ns = c->now_ns;
		if (c->cb && c->cb->on_request)
			c->cb->on_request(c->cb_ctx, &lost, &in);
		emit(c, &lost);
		return;
	}
	p = &c->pend[(c->head + c->npending) % PG_PENDING];
	x = &p->x;
	memset(x, 0, sizeof(*x));
	p->group = c->fe_groups;
	p->simple = simple;
	x->kind = c->role;
	x->version = 3;
	x->start_ns = start_ns;
	x->request_bytes = bytes;
	x->truncated = cut;
	x->truncated |= copy_str(x->target, sizeof(x->target), text, strlen(text));
	pgsql__verb(x->target, x->op, sizeof(x->op));
	if (!pgsql__collection(x->target, x->agent, sizeof(x->agent)))
		x->agent[0] = '\0';
	memcpy(x->host, c->db, sizeof(x->host));
	c->npending++;
	if (c->cb && c->cb->on_request)
		c->cb->on_request(c->cb_ctx, x, &in);
}

/* ---- frontend messages ---- */

static void startup_params(struct pg_conn *c, const char *body, size_t len)
{
	char user[OBS_X_HOST_MAX] = "";
	size_t off = 4; /* after the protocol version */
	const char *k, *v;

	c->db[0] = '\0';
	while ((k = next_str(body, len, &off)) && *k && (v = next_str(body, len, &off))) {
		if (!strcmp(k, "database"))
			copy_str(c->db, sizeof(c->db), v, strlen(v));
		else if (!strcmp(k, "user"))
			copy_str(user, sizeof(user), v, strlen(v));
	}
	if (!c->db[0]) /* the server's default: the database named as the user */
		memcpy(c->db, user, sizeof(c->db));
}

void pg_wire__lose_frontend(struct pg_conn *c)
{
	c->errors++;
	c->phase = PG_DEAD;
	pg_wire__end_all(c);
}

static void untyped(struct pg_conn *c, struct pg_stream *s)
{
	uint32_t code = s->got >= 4 ? be32((const uint8_t *)c->febody) : 0;

	if (code >> 16 == 3 && s->blen >= 5) { /* StartupMessage, protocol 3.x */
		startup_params(c, c->febody, s->got);
		c->phase = PG_TYPED;
		c->fe_groups = 1; /* its ReadyForQuery ends the authentication: no exchange */
		c->be_groups = 0;
		c->sure = 1;
	} else if ((code == PG_SSL || code == PG_GSSENC) && s->blen == 4) {
		c->phase = PG_SSLANS;
		c->sure = 1;
	} else if (code == PG_CANCEL && s->blen == 12) {
		c->phase = PG_QUIET; /* the server closes it without a word */
		c->sure = 1;
	} else {
		pg_wire__lose_frontend(c);
	}
}

static struct pg_stmt *stmt_find(struct pg_conn *c, const char *name)
{
	for (int i = 0; i < PG_STMTS; i++)
		if (c->stmt[i].gen && !strcmp(c->stmt[i].name, name))
			return &c->stmt[i];
	return NULL;
}

static void on_parse(struct pg_conn *c, const char *body, size_t len, bool cut)
{
	size_t off = 0, qlen;
	const char *name = next_str(body, len, &off), *q;
	struct pg_stmt *st;
	bool ncut;

	if (!name)
		return;
	st = stmt_find(c, name);
	if (!st) { /* the unnamed one has slot 0; named ones take turns in the others */
		st = !name[0] ? &c->stmt[0] : &c->stmt[1 + c->gen % (PG_STMTS - 1)];
		copy_str(st->name, sizeof(st->name), name, strlen(name));
	}
	q = body + off;
	qlen = off < len ? len - off : 0;
	pgsql__normalize(q, qlen, st->text, sizeof(st->text), &ncut);
	st->cut = cut || ncut || !memchr(q, '\0', qlen);
	st->gen = ++c->gen ? c->gen : ++c->gen;
}

static void on_bind(struct pg_conn *c, const char *body, size_t len)
{
	size_t off = 0;
	const char *portal = next_str(body, len, &off), *stmt = portal ? next_str(body, len, &off) : NULL;
	struct pg_stmt *st = stmt ? stmt_find(c, stmt) : NULL;
	struct pg_portal *p = NULL;

	if (!portal)
		return;
	for (int i = 0; i < PG_PORTALS && !p; i++)
		if (c->portal[i].gen && !strcmp(c->portal[i].name, portal))
			p = &c->portal[i];
	if (!p)
		p = !portal[0] ? &c->portal[0] : &c->portal[1 + c->gen % (PG_PORTALS - 1)];
	copy_str(p->name, sizeof(p->name), portal, strlen(portal));
	p->gen = st ? st->gen : 0; /* 0: bound to a statement we did not see prepared */
	p->stmt = st ? (uint8_t)(st - c->stmt) : 0;
}

static void on_execute(struct pg_conn *c, const struct pg_stream *s)
{
	size_t off = 0;
	const char *portal = next_str(c->febody, s->got, &off);
	const struct pg_portal *p = NULL;
	const struct pg_stmt *st = NULL;

	for (int i = 0; portal && i < PG_PORTALS && !p; i++)
		if (!strcmp(c->portal[i].name, portal) && (c->portal[i].gen || !portal[0]))
			p = &c->portal[i];
	if (p && p->gen && c->stmt[p->stmt].gen == p->gen)
		st = &c->stmt[p->stmt];
	start(c, st ? st->text : "", st ? st->cut : true, false, s->start_ns, s->blen + 5);
}

void pg_wire__frontend(struct pg_conn *c, struct pg_stream *s)
{
	switch (s->type) {
	case 0:
		untyped(c, s);
		break;
	case 'Q': {
		char text[OBS_X_TARGET_MAX];
		bool cut;

		pgsql__normalize(c->febody, s->got, text, sizeof(text), &cut);
		start(c, text, cut || s->cut, true, s->start_ns, s->blen + 5);
		c->fe_groups++;
		break;
	}
	case 'P':
		on_parse(c, c->febody, s->got, s->cut);
		break;
	case 'B':
		on_bind(c, c->febody, s->got);
		break;
	case 'E':
		on_execute(c, s);
		break;
	case 'S': /* Sync */
	case 'F': /* FunctionCall: answered, then ReadyForQuery */
		c->fe_groups++;
		break;
	default: /* Describe, Close, Flush, Terminate, CopyData/Done/Fail, PasswordMessage: by length only */
		break;
	}
}

/* ---- backend messages ---- */

/* five digits or upper-case letters: a SQLSTATE (anything else is not shown) */
static bool sqlstate(const char *v)
{
	for (int i = 0; i < 5; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'A' && v[i] <= 'Z')))
			return false;
	return !v[5];
}

static void on_error(struct pg_conn *c, const char *body, size_t len)
{
	struct pg_pending *p = current(c);
	size_t off = 0;

	if (!p) {
		c->stray++;
		return;
	}
	while (off < len && body[off]) {
		char field = body[off++];
		const char *v = next_str(body, len, &off);

		if (!v)
			break;
		if (field == 'C' && !p->x.code[0] && sqlstate(v))
			memcpy(p->x.code, v, 6);
	}
	p->x.error = 1;
	if (!p->x.code[0]) /* an error whose SQLSTATE was not captured, or is not one */
		memcpy(p->x.code, "_OTHER", 7);
	if (p->simple)
		p->x.status = PG_ST_ANSWERED;
	else
		end_head(c, PG_ST_ANSWERED, false);
}

static void on_complete(struct pg_conn *c, const char *tag, size_t len)
{
	struct pg_pending *p = current(c);

	if (!p) {
		c->stray++;
		return;
	}
	if (tag && (p->x.status == PG_ST_NONE || !p->x.op[0])) { /* a Query's first statement names it */
		char op[OBS_X_OP_MAX];

		pgsql__tag_verb(tag, strnlen(tag, len), op, sizeof(op));
		if (op[0])
			memcpy(p->x.op, op, sizeof(op));
	}
	if (p->simple)
		p->x.status = PG_ST_ANSWERED;
	else
		end_head(c, PG_ST_ANSWERED, false);
}

static void on_ready(struct pg_conn *c)
{
	if (c->be_groups < c->fe_groups)
		c->be_groups++;
	/* what belongs to an answered Sync and is still waiting was never executed (or was a Query) */
	while (c->npending && c->pend[c->head].group < c->be_groups)
		end_head(c, c->pend[c->head].simple ? PG_ST_ANSWERED : PG_ST_SKIPPED, false);
}

void pg_wire__backend(struct pg_conn *c, struct pg_stream *s)
{
	struct pg_pending *p = current(c);

	if (p)
		p->x.response_bytes += s->blen + 5;
	switch (s->type) {
	case 'C':
		on_complete(c, c->bebody, s->got);
		break;
	case 'I': /* EmptyQueryResponse */
	case 's': /* PortalSuspended */
		on_complete(c, NULL, 0);
		break;
	case 'E':
		on_error(c, c->bebody, s->got);
		break;
	case 'Z':
		on_ready(c);
		break;
	default:
		break;
	}
}

void pg_conn__init(struct pg_conn *c, const struct proto_sink *cb, void *cb_ctx)
{
	memset(c, 0, offsetof(struct pg_conn, pend));
	memset(c->s, 0, sizeof(c->s));
	c->cb = cb;
	c->cb_ctx = cb_ctx;
}

void pg_conn__close(struct pg_conn *c, uint64_t now_ns)
{
	c->now_ns = now_ns;
	pg_wire__end_all(c);
}
