/* seg_seen.c -- the files the segment source will not read again: a bounded FIFO, hashed by inode and name */
#include <stdlib.h>
#include <string.h>

#include "source/seg_seen.h"

int seg_seen__init(struct seg_seen *t, size_t max)
{
	*t = (struct seg_seen){ .max = max };
	t->e = calloc(max, sizeof(*t->e));
	for (t->nbucket = 64; t->nbucket < max && t->nbucket < (1u << 20);)
		t->nbucket <<= 1;
	t->bucket = malloc(t->nbucket * sizeof(*t->bucket));
	if (t->bucket)
		memset(t->bucket, 0xff, t->nbucket * sizeof(*t->bucket));
	return t->e && t->bucket ? 0 : -1;
}

void seg_seen__free(struct seg_seen *t)
{
	free(t->e);
	free(t->bucket);
}

size_t seg_seen__ino_hash(ino_t ino, size_t n)
{
	return (size_t)(((uint64_t)ino * 0x9e3779b97f4a7c15ull) >> 20) & (n - 1);
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (*name)
		h = (h ^ (uint8_t)*name++) * 0x100000001b3ull;
	return h;
}

struct seg_seen_file *seg_seen__find(struct seg_seen *t, ino_t ino, const char *name)
{
	uint64_t nh = name_hash(name);

	for (int32_t i = t->bucket[seg_seen__ino_hash(ino, t->nbucket)]; i >= 0; i = t->e[i].next)
		if (t->e[i].ino == ino && t->e[i].name_hash == nh)
			return &t->e[i];
	return NULL;
}

static void unchain(struct seg_seen *t, int32_t idx)
{
	int32_t *pp = &t->bucket[seg_seen__ino_hash(t->e[idx].ino, t->nbucket)];

	while (*pp >= 0 && *pp != idx)
		pp = &t->e[*pp].next;
	if (*pp == idx)
		*pp = t->e[idx].next;
}

enum seg_seen_added seg_seen__add(struct seg_seen *t, ino_t ino, const char *name, uid_t uid, uint8_t reason)
{
	struct seg_seen_file *e = seg_seen__find(t, ino, name);
	enum seg_seen_added added = SEG_SEEN_NEW;

	if (e) {
		e->reason = reason;
		return SEG_SEEN_UPDATED;
	}
	int32_t idx;
	size_t h = seg_seen__ino_hash(ino, t->nbucket);

	if (t->n < t->max) {
		idx = (int32_t)t->n++;
	} else {
		idx = (int32_t)t->head;
		unchain(t, idx);
		t->head = (t->head + 1) % t->n;
		added = SEG_SEEN_FORGOT;
	}
	t->e[idx] = (struct seg_seen_file){
		.ino = ino, .name_hash = name_hash(name), .uid = uid, .reason = reason, .next = t->bucket[h]
	};
	t->bucket[h] = idx;
	return added;
}
