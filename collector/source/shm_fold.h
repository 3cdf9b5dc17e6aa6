/* shm_fold.h -- folds a read segment's counters and ring records into the registry, traces and logs */
#ifndef OBSPROBE_SHM_FOLD_H
#define OBSPROBE_SHM_FOLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi/segment.h"
#include "signal/hist.h"
#include "signal/logs.h"
#include "signal/metrics.h"
#include "signal/traces.h"
#include "source/container.h"
#include "source/seg_reader.h"
#include "source/seg_trust.h"
#include "source/shm_h2.h"

#define SHM_FOLD_BATCH 64 /* ring records copied out per guarded pass */

/* one segment being read (shm_source.c finds it): who wrote it, and what of it is folded already */
struct seg_view {
	char name[256];
	struct obs_segment *s; /* mapped read-write: the collector owns ring_tail */
	ino_t ino;
	uid_t uid;	   /* the file's owner */
	pid_t pid;	   /* 0 unless verified */
	pid_t claimed_pid; /* what the header says */
	uint64_t start_time;
	enum seg_claim claim;
	bool verified; /* its process (pid, start time, uid) maps it: read as that process's */
	bool bounds_ok;
	bool faulted; /* shrank under us (SIGBUS): retired */
	char service[65], comm[17];
	struct span_container ctr;	/* a verified process's container (container.h), read when first seen */
	const struct metrics_ctr *mctr; /* ctr as metric labels (--container-labels; NULL: off or unverified) */
	struct seg_counters last;
	uint64_t events;
	uint64_t h2_id;		       /* names it to shm_h2 (0 until its first HTTP/2 record) */
	struct seg_view *next, *hnext; /* the list; the chain of its hash bucket */
};

/* where the segments' counts and records go */
struct shm_fold {
	struct metrics *metrics;
	struct traces *traces;	   /* HTTP exchanges (NULL: dropped) */
	struct logs *logs;	   /* stdout/stderr writes (NULL: dropped) */
	struct shm_h2 *h2;	   /* HTTP/2 records' sessions (NULL when there are no traces) */
	uint64_t h2_ids;	   /* the last seg_view.h2_id given */
	struct seg_counters now;   /* scratch */
	struct obs_seg_rec *batch; /* SHM_FOLD_BATCH records */
	uint64_t events, lost;	   /* over every segment */
};

/* fold @v's counters since the last call, then its ring (shm_fold__ring); v->faulted when it shrank under us.
 * Returns how many segments of exited processes its shim removed unread since the last call */
uint64_t shm_fold__segment(struct shm_fold *f, struct seg_view *v, const struct hist_bounds *b);

/* HTTP exchanges and log writes, one ring's worth at most per call: a producer that keeps committing cannot
 * hold the collector (it holds the session lock) */
void shm_fold__ring(struct shm_fold *f, struct seg_view *v);

/* @v retires with its last counts in: connections it never closed are gone too */
void shm_fold__close(struct shm_fold *f, struct seg_view *v);

#endif
