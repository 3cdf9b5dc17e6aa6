/* demux_ops.c -- the operations demux.c holds in causal order, and the causal ids between a start and its end */
#include <stdlib.h>
#include <string.h>

#include "proto/demux_ops.h"

#define X_HEAD offsetof(struct obs_exchange, op)
#define X_TAIL offsetof(struct obs_exchange, stream)
#define X_STR(f)                                                                        \
	{                                                                               \
		offsetof(struct obs_exchange, f), sizeof(((struct obs_exchange *)0)->f) \
	}
static const struct {
	uint16_t off, size;
} x_strs[6] = { X_STR(op), X_STR(target), X_STR(host), X_STR(agent), X_STR(tracestate), X_STR(code) };
_Static_assert(offsetof(struct obs_exchange, code) + OBS_X_CODE_MAX == X_TAIL, "x's strings end where stream is");

size_t op_end__pack(uint8_t *out, const struct obs_exchange *x)
{
	struct op_end *o = (struct op_end *)out;
	uint8_t *p = out + sizeof(*o);

	o->type = OP_END;
	memcpy(p, x, X_HEAD);
	p += X_HEAD;
	for (int i = 0; i < 6; i++) {
		const char *f = (const char *)x + x_strs[i].off;

		o->len[i] = (uint16_t)strnlen(f, x_strs[i].size);
		memcpy(p, f, o->len[i]);
		p += o->len[i];
	}
	memcpy(p, (const uint8_t *)x + X_TAIL, sizeof(*x) - X_TAIL);
	return (size_t)(p - out) + sizeof(*x) - X_TAIL;
}

bool op_end__unpack(struct obs_exchange *x, const uint8_t *rec, size_t size)
{
	const struct op_end *o = (const struct op_end *)rec;
	const uint8_t *p = rec + sizeof(*o);
	size_t need = sizeof(*o) + X_HEAD + sizeof(*x) - X_TAIL;

	for (int i = 0; i < 6; i++) {
		if (o->len[i] > x_strs[i].size)
			return false;
		need += o->len[i];
	}
	if (need != size)
		return false;
	memset(x, 0, sizeof(*x));
	memcpy(x, p, X_HEAD);
	p += X_HEAD;
	for (int i = 0; i < 6; i++) {
		memcpy((char *)x + x_strs[i].off, p, o->len[i]);
		p += o->len[i];
	}
	memcpy((uint8_t *)x + X_TAIL, p, sizeof(*x) - X_TAIL);
	return true;
}

/* ---- causal ids of the requests started, until their exchanges end ---- */

struct xids {
	uint64_t span; /* the span id's bytes; 0: a free slot */
	uint64_t born; /* the request's start (CLOCK_MONOTONIC): a start whose end never comes is swept */
	uint8_t trace_id[16], parent_id[8];
	uint8_t sampled, parent_remote;
};

#define IDS_MIN 1024
/* slots at most (48 MB): every connection parsed at once (4,096) with 128 requests in flight, at half load */
#define IDS_CAP (1u << 20)
#define IDS_MAX_AGE_NS (600ull * 1000000000ull) /* an exchange longer than this keeps its provisional ids */
#define IDS_SWEEP_NS (60ull * 1000000000ull)

static uint64_t span_key(const uint8_t id[8])
{
	uint64_t k;

	memcpy(&k, id, 8);
	return k;
}

static uint32_t ids_home(const struct causal_ids *d, uint64_t k)
{
	return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & d->mask;
}

static void ids_insert(struct causal_ids *d, const struct xids *e)
{
	uint32_t i = ids_home(d, e->span);

	while (d->ids[i].span && d->ids[i].span != e->span)
		i = (i + 1) & d->mask;
	if (!d->ids[i].span)
		d->n++;
	d->ids[i] = *e;
}

/* a table of @cap slots holding the entries of the old one born at or after @since; false: no memory */
static bool ids_rebuild(struct causal_ids *d, uint32_t cap, uint64_t since)
{
	struct xids *old = d->ids;
	uint32_t oldcap = old ? d->mask + 1 : 0;
	struct xids *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	d->ids = t;
	d->mask = cap - 1;
	d->n = 0;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i].span && old[i].born >= since)
			ids_insert(d, &old[i]);
	free(old);
	return true;
}

void causal_ids__put(struct causal_ids *d, const struct obs_exchange *x)
{
	struct xids e = { .span = span_key(x->span_id), .born = x->start_ns };

	if (!e.span)
		return;
	if (!d->ids || (d->n + 1) * 2 > d->mask + 1) {
		uint32_t cap = d->ids ? (d->mask + 1) * 2 : IDS_MIN;

		if ((cap > IDS_CAP || !ids_rebuild(d, cap, 0)) && (!d->ids || (d->n + 1) * 4 > (d->mask + 1) * 3))
			return; /* 786,000 requests in flight, or no memory: this one keeps its provisional ids */
	}
	memcpy(e.trace_id, x->trace_id, 16);
	memcpy(e.parent_id, x->parent_id, 8);
	e.sampled = x->sampled;
	e.parent_remote = x->parent_remote;
	ids_insert(d, &e);
}

/* the causal ids of @x's request onto it, and forgotten (backward-shift deletion) */
void causal_ids__take(struct causal_ids *d, struct obs_exchange *x)
{
	uint64_t k = span_key(x->span_id);
	uint32_t i, j;

	if (!k || !d->n)
		return;
	for (i = ids_home(d, k); d->ids[i].span != k; i = (i + 1) & d->mask)
		if (!d->ids[i].span)
			return;
	memcpy(x->trace_id, d->ids[i].trace_id, 16);
	memcpy(x->parent_id, d->ids[i].parent_id, 8);
	x->sampled = d->ids[i].sampled;
	x->parent_remote = d->ids[i].parent_remote;
	for (j = (i + 1) & d->mask; d->ids[j].span; j = (j + 1) & d->mask) {
		uint32_t h = ids_home(d, d->ids[j].span);

		/* the entry at j may move to the hole at i when its home is not in (i, j] */
		if (((j - h) & d->mask) >= ((j - i) & d->mask)) {
			d->ids[i] = d->ids[j];
			i = j;
		}
	}
	d->ids[i].span = 0;
	d->n--;
}

void causal_ids__sweep(struct causal_ids *d, uint64_t now_ns)
{
	if (!d->n || now_ns - d->swept_ns <= IDS_SWEEP_NS)
		return;
	/* requests whose end never came (a connection whose parser gave up): forgotten */
	d->swept_ns = now_ns;
	if (now_ns > IDS_MAX_AGE_NS)
		ids_rebuild(d, d->mask + 1, now_ns - IDS_MAX_AGE_NS);
}

void causal_ids__free(struct causal_ids *d)
{
	free(d->ids);
	d->ids = NULL;
	d->mask = d->n = 0;
}
