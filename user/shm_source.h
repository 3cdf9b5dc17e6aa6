/* shm_source.h -- the collector side of the shim: finds, validates and reads shared-memory segments */
#ifndef OBSPROBE_SHM_SOURCE_H
#define OBSPROBE_SHM_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "logs.h"
#include "metrics.h"
#include "traces.h"

struct shm_source;

struct shm_source_opts {
	const char *runtime_dir;	/* where segments live (default /dev/shm) */
	struct metrics *metrics;
	const pid_t *pids;		/* only these processes (and, when following, their descendants) */
	int npids;			/* 0 = every segment (obsprobe serve) */
	const char *service;		/* override the segments' service names, or NULL */
	bool follow_children;
	struct traces *traces;		/* HTTP exchanges the shims parsed (NULL: dropped) */
	struct logs *logs;		/* their stdout/stderr writes (NULL: dropped) */
};

struct shm_source *shm_source__new(const struct shm_source_opts *opts);
void shm_source__free(struct shm_source *s);
/* discover segments, fold new counts into the metrics, retire segments of dead processes */
void shm_source__poll(struct shm_source *s);
/* only the event rings (HTTP exchanges, log writes): cheap, called between polls so rings never fill */
void shm_source__drain(struct shm_source *s);
/* live processes with a segment */
int shm_source__ntargets(struct shm_source *s);
void shm_source__targets_json(struct shm_source *s, cJSON *array);
void shm_source__totals(struct shm_source *s, uint64_t *events, uint64_t *lost);

/* does @pid run with the shim (a valid segment in @dir)? */
bool shm_source_has_pid(const char *dir, pid_t pid);

#endif
