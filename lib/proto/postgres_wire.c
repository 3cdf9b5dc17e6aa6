/* postgres_wire.c -- one connection's PostgreSQL protocol v3 exchanges: framing both directions, pairing */
#include <stddef.h>
#include <string.h>

#include "lib/proto/postgres_sql.h"
#include "lib/proto/postgres_wire.h"

#define PG_PROTO_3 196608u
#define PG_CANCEL 80877102u
#define PG_SSL 80877103u
#define PG_GSSENC 80877104u
#define PG_STARTUP_MAX 10000u  /* the server refuses longer startup packets */
#define PG_MSG_MAX 0x40000000u /* 1 GiB: no message is longer */
#define PG_BIND_NAMES 130u     /* a Bind's portal and statement names: never its values */

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

static void end_all(struct pg_conn *c)
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

static void lose_frontend(struct pg_conn *c)
{
	c->errors++;
	c->phase = PG_DEAD;
	end_all(c);
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
		lose_frontend(c);
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

static void frontend(struct pg_conn *c, struct pg_stream *s)
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

static void backend(struct pg_conn *c, struct pg_stream *s)
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

/* ---- framing ---- */

static bool valid_type(bool fe, uint8_t t, uint32_t len)
{
	if (!t || len < 4 || len > PG_MSG_MAX)
		return false;
	if (fe) {
		if (strchr("SHXc", t))
			return len == 4; /* Sync, Flush, Terminate, CopyDone */
		return strchr("QPBDECdfpF", t);
	}
	switch (t) {
	case 'Z':
		return len == 5;
	case 'K':
		return len == 12;
	case '1':
	case '2':
	case '3':
	case 'n':
	case 'I':
	case 's':
	case 'c':
		return len == 4;
	default:
		return strchr("RSTDCENtGHWdAvV", t);
	}
}

static bool keep_body(bool fe, uint8_t t)
{
	return fe ? !t || (t && strchr("QPBE", t)) : (t == 'C' || t == 'E');
}

static void lose(struct pg_conn *c, bool fe)
{
	struct pg_stream *s = &c->s[fe ? c->fe : !c->fe];

	memset(fe ? c->febody : c->bebody, 0, s->got);
	s->got = 0;
	if (fe) {
		lose_frontend(c);
		return;
	}
	c->errors++;
	c->hunting = 1;
	c->match = 0;
	end_all(c);
}

/* the header in s->hdr is complete: false when it cannot be one */
static bool header(struct pg_conn *c, struct pg_stream *s, bool fe, bool untyped_msg)
{
	uint32_t len;

	(void)c;
	if (untyped_msg) {
		len = be32(s->hdr);
		if (len < 8 || len > PG_STARTUP_MAX)
			return false;
		s->type = 0;
	} else {
		s->type = s->hdr[0];
		len = be32(s->hdr + 1);
		if (!valid_type(fe, s->type, len))
			return false;
	}
	s->blen = s->need = len - 4;
	s->keep = keep_body(fe, s->type);
	s->got = 0;
	s->cut = 0;
	s->in_body = 1;
	return true;
}

static void message_done(struct pg_conn *c, struct pg_stream *s, bool fe)
{
	s->in_body = 0;
	s->hlen = 0;
	if (fe)
		frontend(c, s);
	else
		backend(c, s);
	/* the raw text (literals, error details) is not kept past its message */
	memset(fe ? c->febody : c->bebody, 0, s->got);
	s->got = 0;
}

/* how many of @k bytes at @b a Bind's gathered body takes: up to its second NUL (the portal's and the
 * statement's names), never the parameter values after them */
static size_t bind_take(const char *body, size_t got, const uint8_t *b, size_t k)
{
	int nuls = 0;

	for (size_t i = 0; i < got; i++)
		nuls += !body[i];
	if (nuls >= 2)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (!b[i] && ++nuls == 2)
			return i + 1;
	return k;
}

/* the hunt for ReadyForQuery in the backend's bytes after its framing was lost */
static size_t hunt(struct pg_conn *c, const uint8_t *b, size_t len)
{
	static const uint8_t pat[5] = { 'Z', 0, 0, 0, 5 };

	for (size_t i = 0; i < len; i++) {
		if (c->match < 5 && b[i] == pat[c->match]) {
			c->match++;
		} else if (c->match == 5 && (b[i] == 'I' || b[i] == 'T' || b[i] == 'E')) {
			c->hunting = 0;
			c->match = 0;
			end_all(c); /* answered in the part nobody saw, or after it: not ours to pair */
			c->be_groups = c->fe_groups;
			return i + 1;
		} else {
			c->match = b[i] == 'Z';
		}
	}
	return len;
}

static void bytes(struct pg_conn *c, bool fe, const uint8_t *b, size_t len)
{
	struct pg_stream *s = &c->s[fe ? c->fe : !c->fe];

	while (len) {
		bool untyped_msg = fe && (c->phase == PG_STARTUP || c->phase == PG_SSLANS);
		size_t k;

		if (c->phase == PG_QUIET)
			return;
		if (c->phase == PG_DEAD) {
			c->errors++; /* bytes nobody frames any more */
			return;
		}
		if (!fe && c->hunting) {
			k = hunt(c, b, len);
		} else if (!fe && c->phase == PG_SSLANS) {
			if (b[0] == 'S' || b[0] == 'G')
				c->phase = PG_QUIET; /* TLS (GSS) from here: the TLS capture sees its plaintext */
			else if (b[0] == 'N')
				c->phase = PG_STARTUP;
			else
				lose(c, true);
			k = 1;
		} else if (!fe && c->phase == PG_STARTUP) {
			lose(c, true); /* a server does not speak before the client's first message */
			return;
		} else if (!s->in_body) {
			size_t hsize = untyped_msg ? 4 : 5;

			if (untyped_msg && !s->hlen && c->phase == PG_SSLANS && b[0] == 0x16) {
				c->phase = PG_QUIET; /* a TLS ClientHello: the answer was 'S' */
				return;
			}
			if (!s->hlen)
				s->start_ns = c->now_ns;
			k = hsize - s->hlen < len ? hsize - s->hlen : len;
			memcpy(s->hdr + s->hlen, b, k);
			s->hlen += k;
			if (s->hlen == hsize) {
				if (!header(c, s, fe, untyped_msg)) {
					s->hlen = 0;
					lose(c, fe);
					if (fe)
						return;
					/* the backend's hunt starts after these bytes, however they were cut */
				} else if (!s->need) {
					message_done(c, s, fe);
				}
			}
		} else {
			k = s->need < len ? s->need : len;
			if (s->keep) {
				char *body = fe ? c->febody : c->bebody;
				size_t lim = fe ? (s->type == 'B' ? PG_BIND_NAMES : PG_FE_BODY) : PG_BE_BODY;
				size_t take = s->got < lim ? (lim - s->got < k ? lim - s->got : k) : 0;

				if (s->type == 'B')
					take = bind_take(body, s->got, b, take);
				memcpy(body + s->got, b, take);
				s->got += take;
				s->cut |= take < k;
			}
			s->need -= k;
			if (!s->need)
				message_done(c, s, fe);
		}
		b += k;
		len -= k;
	}
}

static void gap(struct pg_conn *c, bool fe, uint64_t n)
{
	struct pg_stream *s = &c->s[fe ? c->fe : !c->fe];

	if (c->phase == PG_QUIET || c->phase == PG_DEAD)
		return;
	if (!fe && c->hunting) {
		c->match = 0;
		return;
	}
	if (!s->in_body || n > s->need || (!fe && c->phase != PG_TYPED)) {
		s->hlen = 0;
		s->in_body = 0;
		lose(c, fe);
		return;
	}
	s->need -= n;
	s->cut |= s->keep;
	if (!s->need)
		message_done(c, s, fe);
}

void pg_conn__init(struct pg_conn *c, const struct proto_sink *cb, void *cb_ctx)
{
	memset(c, 0, offsetof(struct pg_conn, pend));
	memset(c->s, 0, sizeof(c->s));
	c->cb = cb;
	c->cb_ctx = cb_ctx;
}

void pg_conn__data(struct pg_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	bool fe;

	c->now_ns = now_ns;
	if (!c->role) { /* only a client sends the first message (detect() saw it) */
		c->role = dir == PROTO_OUT ? OBS_X_CLIENT : OBS_X_SERVER;
		c->fe = dir;
	}
	fe = dir == c->fe;
	if (len)
		bytes(c, fe, buf, len);
	if (total > len)
		gap(c, fe, total - len);
}

void pg_conn__close(struct pg_conn *c, uint64_t now_ns)
{
	c->now_ns = now_ns;
	end_all(c);
}
