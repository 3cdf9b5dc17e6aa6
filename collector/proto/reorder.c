/* reorder.c -- the causal reorder queue: records held for a window and handed on by key, ties by arrival.
 *
 * Records arrive almost in key order (one ring, commits a few microseconds apart), so the queue is an array
 * kept sorted: a record goes in from the back (usually at the very end; else after the last one whose key is
 * not greater, by binary search), and pops take from the front. Their bytes live in chunks of an arena, each
 * chunk counting its live records: a chunk goes back to a small free list when its last record was handed on,
 * so neither a push nor a pop allocates once the queue has warmed up. */
#include <stdlib.h>
#include <string.h>

#include "proto/reorder.h"

#define DEFAULT_MAX 200000
#define CHUNK_BYTES (256 * 1024) /* a record is at most a few KB: a chunk holds a hundred or more */
#define SPARE_CHUNKS 8		 /* emptied chunks kept for reuse (2 MB); past that they are freed */

struct chunk {
	struct chunk *next; /* the free list */
	size_t used, cap;   /* bytes handed out; bytes after data[] */
	size_t live;	    /* records not yet popped */
	uint64_t data[];    /* 8-byte aligned: the events in it are read in place */
};

struct held {
	uint64_t key;
	struct chunk *c;
	uint8_t *rec;
	size_t size;
};

struct reorder {
	struct held *q; /* sorted by key, ties by arrival: [head, n) live */
	size_t head, n, cap, max;
	size_t bytes;	     /* of the records held */
	struct chunk *cur;   /* where new records go */
	struct chunk *spare; /* emptied chunks */
	size_t nspare;
};

struct reorder *reorder__new(size_t max)
{
	struct reorder *q = calloc(1, sizeof(*q));

	if (q)
		q->max = max ? max : DEFAULT_MAX;
	return q;
}

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;

		free(c);
		c = next;
	}
}

void reorder__free(struct reorder *q)
{
	if (!q)
		return;
	/* every chunk with live records is cur or holds one of q->q's */
	for (size_t i = q->head; i < q->n; i++) {
		struct chunk *c = q->q[i].c;

		if (--c->live == 0 && c != q->cur)
			free(c);
	}
	free(q->cur);
	chunks_free(q->spare);
	free(q->q);
	free(q);
}

static void chunk_release(struct reorder *q, struct chunk *c)
{
	if (--c->live)
		return;
	if (c == q->cur) {
		c->used = 0; /* empty: start it over, still warm in the cache */
		return;
	}
	if (q->nspare < SPARE_CHUNKS && c->cap == CHUNK_BYTES) {
		c->next = q->spare;
		q->spare = c;
		q->nspare++;
	} else {
		free(c);
	}
}

/* room for @size bytes, 8-byte aligned, in the current chunk (a new one when it is full) */
static uint8_t *arena_take(struct reorder *q, size_t size, struct chunk **out)
{
	size_t need = (size + 7) & ~(size_t)7;
	struct chunk *c = q->cur;

	if (!c || c->used + need > c->cap) {
		q->cur = NULL; /* full: the pop of its last record frees it */
		if (c && !c->live)
			c->live = 1, chunk_release(q, c); /* (empty: a record larger than it) */
		if (need <= CHUNK_BYTES && q->spare) {
			c = q->spare;
			q->spare = c->next;
			q->nspare--;
		} else {
			size_t cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;

			c = malloc(sizeof(*c) + cap);
			if (!c)
				return NULL;
			c->cap = cap;
		}
		c->used = 0;
		c->live = 0;
		q->cur = c;
	}
	*out = c;
	c->live++;
	c->used += need;
	return (uint8_t *)c->data + c->used - need;
}

/* where a record with @key goes: after every held record whose key is not greater */
static size_t slot_for(const struct reorder *q, uint64_t key)
{
	size_t lo = q->head, hi = q->n;

	if (hi == lo || q->q[hi - 1].key <= key)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->q[mid].key <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool room(struct reorder *q)
{
	size_t ncap;
	struct held *nq;

	if (q->n < q->cap)
		return true;
	if (q->head) { /* slide the live part to the front */
		memmove(q->q, q->q + q->head, (q->n - q->head) * sizeof(*q->q));
		q->n -= q->head;
		q->head = 0;
		if (q->n < q->cap)
			return true;
	}
	ncap = q->cap ? q->cap * 2 : 1024;
	nq = realloc(q->q, ncap * sizeof(*nq));
	if (!nq)
		return false;
	q->q = nq;
	q->cap = ncap;
	return true;
}

bool reorder__push(struct reorder *q, uint64_t key, const void *head, size_t hlen, const void *tail, size_t tlen)
{
	struct chunk *c;
	uint8_t *rec;
	size_t at;

	if (q->n - q->head == q->max || !room(q))
		return false;
	rec = arena_take(q, hlen + tlen, &c);
	if (!rec)
		return false;
	memcpy(rec, head, hlen);
	if (tlen)
		memcpy(rec + hlen, tail, tlen);
	at = slot_for(q, key);
	if (at < q->n)
		memmove(q->q + at + 1, q->q + at, (q->n - at) * sizeof(*q->q));
	q->q[at] = (struct held){ .key = key, .c = c, .rec = rec, .size = hlen + tlen };
	q->n++;
	q->bytes += hlen + tlen;
	return true;
}

#define PREFETCH_BYTES 512 /* a record's header and the start of its bytes: where parsers read */

static inline void prefetch_head(const void *rec, size_t size)
{
	const char *r = rec;

	for (size_t off = 0; off < size && off < PREFETCH_BYTES; off += 64)
		__builtin_prefetch(r + off);
}

size_t reorder__pop(struct reorder *q, uint64_t limit, reorder_fn fn, void *ctx)
{
	size_t n = 0;

	while (q->head < q->n && q->q[q->head].key <= limit) {
		struct held h = q->q[q->head++];

		q->bytes -= h.size;
		/* the next record's head, read while this one is handled: it went cold in the window */
		if (q->head < q->n)
			prefetch_head(q->q[q->head].rec, q->q[q->head].size);
		fn(ctx, h.rec, h.size);
		chunk_release(q, h.c);
		n++;
	}
	if (q->head == q->n)
		q->head = q->n = 0;
	return n;
}

size_t reorder__len(const struct reorder *q)
{
	return q->n - q->head;
}

size_t reorder__bytes(const struct reorder *q)
{
	return q->bytes;
}
