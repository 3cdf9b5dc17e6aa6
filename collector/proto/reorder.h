/* reorder.h -- the causal reorder queue: records held for a window and handed on by key, ties by arrival.
 *
 * The eBPF ring holds events in commit order, which is not causal order across processes: a server can
 * return from read() before the client's write() that sent the bytes has returned.  Keyed by the time
 * their syscall began (a write's entry precedes the read it feeds), records come out in causal order.
 * Pure: no clock, no I/O (the caller gives the limit). */
#ifndef OBSPROBE_REORDER_H
#define OBSPROBE_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reorder;

/* at most @max records held at once (0: the default, 200000) */
struct reorder *reorder__new(size_t max);
void reorder__free(struct reorder *q);

/* Hold a copy of @head followed by @tail (may be NULL) under @key.  False when the queue is full or memory
 * ran out: the record is dropped (the caller counts it). */
bool reorder__push(struct reorder *q, uint64_t key, const void *head, size_t hlen, const void *tail, size_t tlen);

typedef void (*reorder_fn)(void *ctx, const void *rec, size_t size);

/* Hand every record with key <= @limit to @fn, by key then arrival, and forget it.  Returns how many. */
size_t reorder__pop(struct reorder *q, uint64_t limit, reorder_fn fn, void *ctx);

size_t reorder__len(const struct reorder *q);
/* the bytes of the records held */
size_t reorder__bytes(const struct reorder *q);

#endif
