/* seg_seen.h -- the files the segment source will not read again: a bounded FIFO, hashed by inode and name */
#ifndef OBSPROBE_SEG_SEEN_H
#define OBSPROBE_SEG_SEEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* a file not to read again: by inode and name (a disk filesystem reuses inode numbers) */
struct seg_seen_file {
	ino_t ino;
	uint64_t name_hash;
	uint64_t start_time; /* R_CLAIMS_LIVE: the process it named */
	pid_t pid;
	uid_t uid;
	uint8_t reason; /* the source's (shm_source.c) */
	int32_t next;	/* chain of its hash bucket, -1 at the end */
};

struct seg_seen {
	struct seg_seen_file *e; /* FIFO ring of @max entries */
	int32_t *bucket;	 /* hash of e[] by inode: nbucket heads */
	size_t n, head, nbucket, max;
};

enum seg_seen_added {
	SEG_SEEN_UPDATED, /* known already: its reason replaced */
	SEG_SEEN_NEW,	  /* remembered */
	SEG_SEEN_FORGOT,  /* remembered, and the oldest forgotten to make room */
};

/* room for @max files; -1 when out of memory (seg_seen__free it all the same) */
int seg_seen__init(struct seg_seen *t, size_t max);
void seg_seen__free(struct seg_seen *t);

/* @ino's bucket of @n (a power of 2): the source's table of views hashes with it too */
size_t seg_seen__ino_hash(ino_t ino, size_t n);

struct seg_seen_file *seg_seen__find(struct seg_seen *t, ino_t ino, const char *name);

/* remember @ino under @reason (or, known already, change its reason); past the bound the oldest is forgotten */
enum seg_seen_added seg_seen__add(struct seg_seen *t, ino_t ino, const char *name, uid_t uid, uint8_t reason);

#endif
