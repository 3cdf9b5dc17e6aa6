/* reorder.c -- the causal reorder queue: records held for a window and handed on by key, ties by arrival */
#include <stdlib.h>
#include <string.h>

#include "proto/reorder.h"

#define DEFAULT_MAX 200000

struct held {
	uint64_t key;
	uint64_t seq;  /* arrival order: ties keep it */
	uint64_t size; /* 64 bits: rec stays 8-byte aligned, the events in it are read in place */
	uint8_t rec[];
};

struct reorder {
	struct held **q;
	size_t n, cap, max;
	uint64_t seq;
};

struct reorder *reorder__new(size_t max)
{
	struct reorder *q = calloc(1, sizeof(*q));

	if (q)
		q->max = max ? max : DEFAULT_MAX;
	return q;
}

void reorder__free(struct reorder *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		free(q->q[i]);
	free(q->q);
	free(q);
}

bool reorder__push(struct reorder *q, uint64_t key, const void *head, size_t hlen, const void *tail, size_t tlen)
{
	struct held *h;

	if (q->n == q->max)
		return false;
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 1024;
		struct held **nq = realloc(q->q, ncap * sizeof(*nq));

		if (!nq)
			return false;
		q->q = nq;
		q->cap = ncap;
	}
	h = malloc(sizeof(*h) + hlen + tlen);
	if (!h)
		return false;
	h->key = key;
	h->seq = q->seq++;
	h->size = hlen + tlen;
	memcpy(h->rec, head, hlen);
	if (tlen)
		memcpy(h->rec + hlen, tail, tlen);
	q->q[q->n++] = h;
	return true;
}

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = *(struct held *const *)a, *y = *(struct held *const *)b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t reorder__pop(struct reorder *q, uint64_t limit, reorder_fn fn, void *ctx)
{
	size_t n = 0;

	qsort(q->q, q->n, sizeof(*q->q), cmp_held);
	while (n < q->n && q->q[n]->key <= limit) {
		fn(ctx, q->q[n]->rec, q->q[n]->size);
		free(q->q[n]);
		n++;
	}
	memmove(q->q, q->q + n, (q->n - n) * sizeof(*q->q));
	q->n -= n;
	return n;
}

size_t reorder__len(const struct reorder *q)
{
	return q->n;
}
