/* shm_h2.c -- the shim's HTTP/2 records into h2_sessions, one per (segment, connection); exchanges to traces */
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "proto/h2_session.h"
#include "signal/names.h"
#include "source/shm_h2.h"

struct entry {
	uint64_t seg, conn; /* conn 0: free */
	uint64_t used;	    /* the table's clock when it last had a record: the least recent goes first */
	struct h2_session *s;
	struct shm_h2 *h;
	const struct obs_seg_h2 *cur; /* the record being given to the session (its writer, the context) */
	struct span_resource res;
	int32_t pid;
};

struct shm_h2 {
	struct metrics *m;
	struct traces *t;
	uint64_t clock;
	struct shm_h2_stats st;
	struct entry e[SHM_H2_SESSIONS];
};

static bool zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

bool shm_h2__parse(const struct obs_seg_rec *r, struct obs_seg_h2 *out, const uint8_t **block)
{
	size_t len = r->len;

	*block = NULL;
	if (r->type != OBS_REC_H2 || len < OBS_SEG_H2_HEAD || len > sizeof(*out) || len > sizeof(r->data))
		return false;
	memcpy(out, r->data, len);
	if (!out->conn || out->ev.dir > 1 || out->pid <= 0)
		return false;
	switch (out->ev.type) {
	case H2_EV_HEADERS:
		if (out->ev.len > len - OBS_SEG_H2_HEAD)
			return false;
		*block = out->block;
		return true;
	case H2_EV_DATA:
	case H2_EV_RST:
	case H2_EV_GOAWAY:
	case H2_EV_SETTINGS:
	case H2_EV_LOST:
	case H2_EV_PREFACE:
	case OBS_SEG_H2_CLOSE:
		return len == OBS_SEG_H2_HEAD;
	default:
		return false;
	}
}

static void lost(struct shm_h2 *h, const char *reason)
{
	series__add(metrics__series(h->m, FAM_EVENTS_LOST, (const char *[]){ "preload", reason }), 1);
}

/* the session made the exchange of a stream's request: its ids.  A server's as the collector decides them; a
 * client's is a child of what the writing thread served, with the span id the shim put in its traceparent */
static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct entry *e = ctx;
	const struct obs_seg_h2 *r = e->cur;

	x->pid = e->pid;
	x->tid = r ? r->tid : 0;
	if (x->kind == OBS_X_CLIENT && r && !zero(r->trace_id, 16)) {
		memcpy(x->trace_id, r->trace_id, 16);
		memcpy(x->parent_id, r->parent_id, 8);
		x->sampled = r->sampled ? 1 : 0;
		x->parent_remote = 0;
		if (!zero(r->span_id, 8))
			memcpy(x->span_id, r->span_id, 8);
		else
			traces__random_id(x->span_id, 8);
		return;
	}
	if (x->kind == OBS_X_CLIENT) {
		/* no context from the shim: the request's own or a new trace, never what the collector thinks this
		 * thread serves (a gRPC poller thread reads one call's request and writes another's) */
		int32_t tid = x->tid;

		x->tid = 0;
		traces__start_exchange(e->h->t, x, in);
		x->tid = tid;
		return;
	}
	traces__start_exchange(e->h->t, x, in);
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct entry *e = ctx;

	x->pid = e->pid;
	traces__end_exchange(e->h->t, x, &e->res);
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static void end(struct entry *e, uint64_t now_ns)
{
	e->cur = NULL;
	h2_session__close(e->s, now_ns);
	h2_session__free(e->s);
	e->s = NULL;
	e->conn = 0;
	e->h->st.sessions--;
}

struct shm_h2 *shm_h2__new(struct metrics *m, struct traces *t)
{
	struct shm_h2 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->m = m;
	h->t = t;
	for (int i = 0; i < SHM_H2_SESSIONS; i++)
		h->e[i].h = h;
	return h;
}

void shm_h2__free(struct shm_h2 *h)
{
	if (!h)
		return;
	for (int i = 0; i < SHM_H2_SESSIONS; i++)
		if (h->e[i].conn)
			h2_session__free(h->e[i].s);
	free(h);
}

static struct entry *find(struct shm_h2 *h, uint64_t seg, uint64_t conn)
{
	for (int i = 0; i < SHM_H2_SESSIONS; i++)
		if (h->e[i].conn == conn && h->e[i].seg == seg)
			return &h->e[i];
	return NULL;
}

/* a session for a new connection: a free slot, else the least recently used one ends (counted) */
static struct entry *make(struct shm_h2 *h, uint64_t seg, const struct obs_seg_h2 *r, const struct span_resource *res)
{
	struct entry *e = NULL, *old = NULL;

	for (int i = 0; i < SHM_H2_SESSIONS && !e; i++) {
		if (!h->e[i].conn)
			e = &h->e[i];
		else if (!old || h->e[i].used < old->used)
			old = &h->e[i];
	}
	if (!e) {
		end(old, r->ev.ts_ns);
		h->st.evicted++;
		lost(h, "h2_sessions_full");
		e = old;
	}
	e->s = h2_session__new(&sink, e, &r->local, &r->peer);
	if (!e->s)
		return NULL;
	e->seg = seg;
	e->conn = r->conn;
	e->pid = r->pid;
	e->res = *res;
	h->st.sessions++;
	return e;
}

void shm_h2__record(struct shm_h2 *h, uint64_t seg, const struct obs_seg_rec *r, const struct span_resource *res)
{
	static struct obs_seg_h2 rec; /* 1 KiB, off the stack; the collector reads segments on one thread */
	const uint8_t *block;
	struct entry *e;

	h->st.records++;
	if (!shm_h2__parse(r, &rec, &block)) {
		h->st.invalid++;
		lost(h, "h2_record_invalid");
		return;
	}
	e = find(h, seg, rec.conn);
	if (rec.ev.type == OBS_SEG_H2_CLOSE) {
		if (e)
			end(e, rec.ev.ts_ns);
		return;
	}
	if (!e && !(e = make(h, seg, &rec, res)))
		return;
	e->used = ++h->clock;
	e->cur = &rec;
	h2_session__event(e->s, &rec.ev, block);
	e->cur = NULL;
}

void shm_h2__forget(struct shm_h2 *h, uint64_t seg, uint64_t now_ns)
{
	for (int i = 0; i < SHM_H2_SESSIONS; i++)
		if (h->e[i].conn && h->e[i].seg == seg)
			end(&h->e[i], now_ns);
}

void shm_h2__stats(const struct shm_h2 *h, struct shm_h2_stats *out)
{
	*out = h->st;
}
