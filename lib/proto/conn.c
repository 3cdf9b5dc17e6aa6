/* conn.c -- one connection's captured bytes, whatever it speaks: detection over the registry, then its parser */
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/registry.h"

/* the parser reports here; the connection stamps what every exchange has, then passes it on */
static void stamp(struct proto_conn *c, struct obs_exchange *x)
{
	x->proto = c->proto->id;
	x->local = c->local;
	x->peer = c->peer;
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct proto_conn *c = ctx;

	stamp(c, x);
	if (c->sink && c->sink->on_request)
		c->sink->on_request(c->ctx, x, in);
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct proto_conn *c = ctx;

	if (c->sink && c->sink->on_exchange)
		c->sink->on_exchange(c->ctx, x);
}

static void on_h2(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct proto_conn *c = ctx;

	if (c->sink && c->sink->on_h2)
		c->sink->on_h2(c->ctx, ev, block);
}

static const struct proto_sink conn_sink = { .on_request = on_request, .on_exchange = on_exchange, .on_h2 = on_h2 };

void proto_conn__init(struct proto_conn *c, const struct proto_sink *sink, void *ctx)
{
	memset(c, 0, offsetof(struct proto_conn, state));
	c->sink = sink;
	c->ctx = ctx;
}

static const struct proto *detect(const void *buf, size_t len, enum proto_dir dir)
{
	const struct proto *maybe = NULL;

	for (int i = 0; proto_registry[i]; i++) {
		enum proto_guess g = proto_registry[i]->detect(buf, len, dir);

		if (g == PROTO_YES)
			return proto_registry[i];
		if (g == PROTO_MAYBE && !maybe)
			maybe = proto_registry[i];
	}
	return maybe;
}

static enum proto_verdict strike(struct proto_conn *c, enum proto_dir dir)
{
	__atomic_fetch_or(&c->struck, (uint8_t)(1u << dir), __ATOMIC_RELAXED);
	if (c->strikes + 1 >= PROTO_STRIKES) {
		__atomic_store_n(&c->off, 1, __ATOMIC_RELAXED);
		return PROTO_OFF;
	}
	c->strikes++;
	return PROTO_GOING;
}

enum proto_verdict proto_conn__feed(struct proto_conn *c, enum proto_dir dir, const void *buf, size_t len,
				    uint64_t total, uint64_t now_ns)
{
	enum proto_verdict v = PROTO_GOING;
	struct proto_progress pr;

	/* After the claim a caller may feed the two directions at once (the shim, HTTP/2: preload/netcap.c): what
	 * both read and either writes (off, struck) is atomic; proto and strikes change only before the claim */
	if (__atomic_load_n(&c->off, __ATOMIC_RELAXED))
		return PROTO_OFF;
	if (!len && !total)
		return PROTO_GOING;
	if (!len && (__atomic_load_n(&c->struck, __ATOMIC_RELAXED) & 1u << dir))
		return PROTO_GOING; /* the rest of bytes nobody claimed: no parser waits for them */
	if (!c->proto) {
		const struct proto *p;

		if (!len) /* a gap: bytes nobody can classify */
			return strike(c, dir);
		p = detect(buf, len, dir);
		if (!p)
			return strike(c, dir);
		c->proto = p;
		p->init(c->state, &conn_sink, c);
		v = PROTO_CLAIMED;
	}
	if (len && (__atomic_load_n(&c->struck, __ATOMIC_RELAXED) & 1u << dir))
		__atomic_fetch_and(&c->struck, (uint8_t) ~(1u << dir), __ATOMIC_RELAXED);
	c->proto->feed(c->state, dir, buf, len, total, now_ns);
	c->proto->progress(c->state, &pr);
	if (!pr.sure && c->strikes + pr.errors >= PROTO_STRIKES) {
		__atomic_store_n(&c->off, 1, __ATOMIC_RELAXED);
		return PROTO_OFF;
	}
	return v;
}

enum proto_verdict proto_conn__gap(struct proto_conn *c, enum proto_dir dir, uint64_t n, uint64_t now_ns)
{
	return proto_conn__feed(c, dir, NULL, 0, n, now_ns);
}

void proto_conn__close(struct proto_conn *c, uint64_t now_ns)
{
	if (c->proto && !__atomic_load_n(&c->off, __ATOMIC_RELAXED))
		c->proto->close(c->state, now_ns);
}
