/* redis_conn.c -- one connection's Redis exchanges: commands paired with their replies, in order.
 *
 * The side that writes commands is the client (PROTO_OUT), the side that reads them serves (PROTO_IN); the first
 * command seen decides.  Each command gets the sink's on_request when it is complete and waits in a queue of
 * compact entries; the next reply that is one ends the oldest (on_exchange).  Not replies: RESP3 pushes ('>'),
 * attributes ('|', skipped by the reader), and in RESP2 subscribe mode the "message"/"pmessage"/"smessage"
 * arrays.  A (P|S)(UN)SUBSCRIBE ends with its last confirmation (one per channel it names; without names, one per
 * channel of that kind the connection had, at least one).  MULTI, each queued command (+QUEUED) and EXEC are
 * exchanges of their own.  When framing is lost in either direction, every waiting command ends incomplete. */
#include <string.h>

#include "lib/proto/redis.h"

static const struct trace_ctx no_ctx; /* Redis carries no trace context */

void redis_conn__init(struct redis_conn *c, const struct proto_sink *sink, void *ctx)
{
	memset(c, 0, offsetof(struct redis_conn, q));
	c->sink = sink;
	c->ctx = ctx;
	c->db = -1;
}

static enum proto_dir cmd_dir(const struct redis_conn *c)
{
	return c->role == REDIS_ROLE_CLIENT ? PROTO_OUT : PROTO_IN;
}

static void copy_cut(char *dst, size_t size, const char *src, uint8_t *truncated)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		*truncated = 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool redis__query_text(char *out, size_t size, unsigned cmd, unsigned sub, uint32_t args)
{
	const char *name = cmd < redis_ncommands ? redis_commands[cmd] : redis_commands[0];
	size_t n = strlen(name), used;

	if (n >= size)
		return false;
	memcpy(out, name, n + 1);
	used = n;
	if (sub && sub <= redis_nsubcommands && args) {
		const char *w = redis_subcommands[sub - 1];

		n = strlen(w);
		if (used + 1 + n >= size)
			return false;
		out[used++] = ' ';
		memcpy(out + used, w, n + 1);
		used += n;
		args--;
	}
	for (; args; args--) {
		if (used + 2 >= size)
			return false;
		out[used++] = ' ';
		out[used++] = '?';
		out[used] = '\0';
	}
	return true;
}

/* the exchange of a waiting command */
static void make_x(const struct redis_conn *c, const struct redis_cmd *e, struct obs_exchange *x)
{
	memset(x, 0, sizeof(*x));
	x->proto = c->proto;
	x->local = c->local;
	x->peer = c->peer;
	x->kind = c->role == REDIS_ROLE_SERVER ? OBS_X_SERVER : OBS_X_CLIENT;
	x->version = c->resp3 ? 3 : 2;
	x->start_ns = e->start_ns;
	x->request_bytes = e->bytes;
	x->pid = e->pid;
	x->tid = e->tid;
	x->sampled = e->sampled;
	x->parent_remote = e->parent_remote;
	x->truncated = e->truncated;
	memcpy(x->trace_id, e->trace_id, 16);
	memcpy(x->span_id, e->span_id, 8);
	memcpy(x->parent_id, e->parent_id, 8);
	copy_cut(x->op, sizeof(x->op), redis_commands[e->cmd], &x->truncated);
	if (!redis__query_text(x->target, sizeof(x->target), e->cmd, e->sub, e->args))
		x->truncated = 1;
	if (e->db >= 0) {
		char num[8];
		int i = sizeof(num) - 1;

		num[i] = '\0';
		for (unsigned v = (unsigned)e->db; v || i == (int)sizeof(num) - 1; v /= 10)
			num[--i] = (char)('0' + v % 10);
		copy_cut(x->host, sizeof(x->host), num + i, &x->truncated);
	}
}

/* an error reply's first word, when it is one ("ERR", "WRONGTYPE"); else "_OTHER" */
static void error_code(const char *text, char *code, size_t size)
{
	size_t n = 0;

	while (text[n] && text[n] != ' ' && n < size - 1) {
		char ch = text[n];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			break;
		n++;
	}
	if (!n || (text[n] && text[n] != ' ')) {
		copy_cut(code, size, "_OTHER", &(uint8_t){ 0 });
		return;
	}
	memcpy(code, text, n);
	code[n] = '\0';
}

/* the oldest waiting command ends: answered by @m, or given up (@m NULL, or @incomplete) */
static void end_head(struct redis_conn *c, const struct redis_msg *m, bool incomplete)
{
	struct redis_cmd *e = &c->q[c->head];
	struct obs_exchange x;

	make_x(c, e, &x);
	x.end_ns = c->now_ns;
	x.incomplete = incomplete || !m;
	if (m && m->top) {
		x.status = m->top;
		x.response_bytes = m->bytes;
		if ((m->top == '-' || m->top == '!') && !incomplete) {
			x.error = 1;
			error_code(m->word[0], x.code, sizeof(x.code));
		}
	}
	c->head = (uint16_t)((c->head + 1) % REDIS_PIPELINE);
	c->npending--;
	if (c->sink && c->sink->on_exchange)
		c->sink->on_exchange(c->ctx, &x);
}

/* every waiting command ends incomplete; @partial: the reply the oldest was getting when it was cut */
static void flush(struct redis_conn *c, const struct redis_msg *partial)
{
	bool first = true;

	while (c->npending) {
		end_head(c, first ? partial : NULL, true);
		first = false;
	}
	c->overflow = 0;
}

static int32_t small_uint(const char *s)
{
	int32_t v = 0;

	if (!*s)
		return -1;
	for (int i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 4) /* up to 9999: it fits db (int16_t) */
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool subscribing(enum redis_special s)
{
	return s >= REDIS_C_SUBSCRIBE && s <= REDIS_C_SUNSUBSCRIBE;
}

static void on_command(struct redis_conn *c, const struct redis_msg *m)
{
	struct redis_cmd e = { .start_ns = m->start_ns, .bytes = m->bytes, .args = m->args, .arg = -1 };
	struct obs_exchange x;
	enum redis_special sp;

	if (m->empty)
		return;
	e.cmd = (uint16_t)redis__command(m->word[0]);
	e.sub = m->args ? (uint8_t)redis__subcommand(e.cmd, m->word[1]) : 0;
	e.db = c->db;
	e.inline_cmd = m->inline_cmd;
	if (e.cmd)
		c->sure = 1;
	sp = redis__special(e.cmd);
	switch (sp) {
	case REDIS_C_SELECT: /* applies to the commands after it (pipelined ones included) */
		e.arg = m->args == 1 ? small_uint(m->word[1]) : -1;
		c->db = (int16_t)e.arg;
		break;
	case REDIS_C_HELLO:
		e.arg = m->args ? small_uint(m->word[1]) : -1;
		break;
	case REDIS_C_RESET:
		c->db = 0;
		break;
	default:
		if (subscribing(sp))
			e.arg = m->args ? (int32_t)(m->args > INT32_MAX ? INT32_MAX : m->args) : -1;
		break;
	}

	make_x(c, &e, &x);
	if (c->sink && c->sink->on_request)
		c->sink->on_request(c->ctx, &x, &no_ctx);
	/* what the receiver gave it (ids), and what the connection stamps on every exchange */
	memcpy(e.trace_id, x.trace_id, 16);
	memcpy(e.span_id, x.span_id, 8);
	memcpy(e.parent_id, x.parent_id, 8);
	e.pid = x.pid;
	e.tid = x.tid;
	e.sampled = x.sampled;
	e.parent_remote = x.parent_remote;
	if (!c->stamped) {
		c->stamped = 1;
		c->proto = x.proto;
		c->local = x.local;
		c->peer = x.peer;
	}
	if (c->overflow || c->npending == REDIS_PIPELINE) {
		/* no room: given up now (counted as lost), its reply skipped when it comes */
		c->given_up++;
		c->overflow++;
		x.incomplete = 1;
		x.op[0] = '\0';
		x.end_ns = c->now_ns;
		if (c->sink && c->sink->on_exchange)
			c->sink->on_exchange(c->ctx, &x);
		return;
	}
	c->q[(c->head + c->npending) % REDIS_PIPELINE] = e;
	c->npending++;
}

enum pubsub { PS_NONE, PS_MESSAGE, PS_SUB, PS_PSUB, PS_SSUB, PS_UNSUB, PS_PUNSUB, PS_SUNSUB };

static enum pubsub pubsub_kind(const char *w)
{
	static const char *const names[] = { "message",	   "pmessage",	  "smessage",	  "subscribe",	 "psubscribe",
					     "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe" };
	static const enum pubsub kinds[] = { PS_MESSAGE, PS_MESSAGE, PS_MESSAGE, PS_SUB,   PS_PSUB,
					     PS_SSUB,	 PS_UNSUB,   PS_PUNSUB,	 PS_SUNSUB };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(w, names[i]))
			return kinds[i];
	return PS_NONE;
}

/* a subscription's confirmation: the connection's counts, and the oldest command when it is one of its kind */
static void confirm(struct redis_conn *c, enum pubsub k, const struct redis_msg *m)
{
	static const enum redis_special cmd_of[] = {
		[PS_SUB] = REDIS_C_SUBSCRIBE,	    [PS_PSUB] = REDIS_C_PSUBSCRIBE,
		[PS_SSUB] = REDIS_C_SSUBSCRIBE,	    [PS_UNSUB] = REDIS_C_UNSUBSCRIBE,
		[PS_PUNSUB] = REDIS_C_PUNSUBSCRIBE, [PS_SUNSUB] = REDIS_C_SUNSUBSCRIBE,
	};
	int64_t *fam = k == PS_SUB || k == PS_UNSUB	? &c->nchan
		       : k == PS_PSUB || k == PS_PUNSUB ? &c->npat
							: &c->nshard;
	int64_t before = *fam;
	struct redis_cmd *e;

	if (m->ival >= 0) { /* the count after it: shard channels alone, or channels and patterns */
		if (fam == &c->nshard) {
			c->nshard = m->ival;
		} else {
			*fam += m->ival - c->subs;
			if (*fam < 0)
				*fam = 0;
			c->subs = m->ival;
		}
	}
	if (!c->npending)
		return; /* the server unsubscribed us, or the command came before we saw the connection */
	e = &c->q[c->head];
	if (redis__special(e->cmd) != cmd_of[k])
		return;
	if (e->arg < 0)
		e->arg = before > 1 ? (int32_t)(before > INT32_MAX ? INT32_MAX : before) : 1;
	if (--e->arg <= 0) {
		c->sure = 1;
		end_head(c, m, false);
	}
}

static void on_reply(struct redis_conn *c, const struct redis_msg *m)
{
	bool push = m->top == '>';
	struct redis_cmd *e;

	if (m->top && strchr("_,#!=(%~>", m->top))
		c->resp3 = 1; /* a type only RESP3 has */
	if ((m->top == '*' || push) && m->args >= 3) {
		enum pubsub k = pubsub_kind(m->word[1]);
		bool in_mode = push || (!c->resp3 && (c->subs > 0 || c->nshard > 0 ||
						      (c->npending && subscribing(redis__special(c->q[c->head].cmd)))));

		if (k == PS_MESSAGE && in_mode)
			return; /* a published message: a push, no reply */
		if (k != PS_NONE && in_mode) {
			confirm(c, k, m);
			return;
		}
	}
	if (push)
		return; /* RESP3 pushes (invalidations, messages) answer no command */
	if (!c->npending) {
		if (c->overflow)
			c->overflow--; /* the reply of a command given up when the queue was full */
		else
			c->unmatched++; /* a command before we saw the connection, MONITOR's feed, CLIENT REPLY OFF */
		return;
	}
	e = &c->q[c->head];
	c->sure = 1;
	if (m->top != '-' && m->top != '!') {
		switch (redis__special(e->cmd)) {
		case REDIS_C_HELLO:
			if (e->arg == 2 || e->arg == 3)
				c->resp3 = e->arg == 3;
			break;
		case REDIS_C_RESET:
			c->resp3 = 0;
			c->subs = c->nchan = c->npat = c->nshard = 0;
			break;
		default:
			break;
		}
	} else if (redis__special(e->cmd) == REDIS_C_SELECT && c->db == e->arg) {
		c->db = e->db; /* it failed: the db is what it was */
	}
	end_head(c, m, false);
}

/* framing lost in direction @dir: what waits ends incomplete; the other direction waits for a fresh start too */
static void lost(struct redis_conn *c, enum proto_dir dir)
{
	struct redis_reader *r = &c->rd[dir];

	if (dir == cmd_dir(c)) {
		flush(c, NULL);
		redis_reader__lose(&c->rd[!dir]); /* replies to the commands we missed would pair wrongly */
	} else {
		flush(c, r->m.top ? &r->m : NULL);
	}
}

static void message(struct redis_conn *c, enum proto_dir dir)
{
	if (dir == cmd_dir(c))
		on_command(c, &c->rd[dir].m);
	else
		on_reply(c, &c->rd[dir].m);
}

void redis_conn__feed(struct redis_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total,
		      uint64_t now_ns)
{
	struct redis_reader *r;
	enum redis_step s;
	size_t off = 0;

	c->now_ns = now_ns;
	if (c->role == REDIS_ROLE_UNKNOWN) {
		if (!len)
			return;
		c->role = dir == PROTO_OUT ? REDIS_ROLE_CLIENT : REDIS_ROLE_SERVER;
		redis_reader__init(&c->rd[dir], REDIS_MSG_COMMAND);
		redis_reader__init(&c->rd[!dir], REDIS_MSG_REPLY);
	}
	r = &c->rd[dir];
	/* a lost direction starts again with a chunk (one read or write) that starts a message; replies only
	 * once a command waits for one */
	if (len && r->lost && redis__starts(r->kind, buf, len) == PROTO_YES &&
	    (r->kind == REDIS_MSG_COMMAND || c->npending))
		r->lost = 0;
	while (off < len) {
		size_t used;

		s = redis_reader__feed(r, (const uint8_t *)buf + off, len - off, &used, now_ns);
		off += used;
		if (s == REDIS_MESSAGE) {
			message(c, dir);
			continue;
		}
		if (s == REDIS_LOST)
			lost(c, dir);
		break;
	}
	if (total > len) {
		s = redis_reader__gap(r, total - len);
		if (s == REDIS_MESSAGE)
			message(c, dir);
		else if (s == REDIS_LOST)
			lost(c, dir);
	}
}

void redis_conn__close(struct redis_conn *c, uint64_t now_ns)
{
	const struct redis_reader *r = &c->rd[!cmd_dir(c)];

	c->now_ns = now_ns;
	if (c->role == REDIS_ROLE_UNKNOWN)
		return;
	flush(c, r->in_msg && !r->lost ? &r->m : NULL);
}
