/* shm_source.h -- the collector side of the shim: finds, validates and reads shared-memory segments */
#ifndef OBSPROBE_SHM_SOURCE_H
#define OBSPROBE_SHM_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "signal/logs.h"
#include "signal/metrics.h"
#include "signal/traces.h"
#include "source/source.h"

struct shm_source;

/* the session's view (source.h): a struct shm_source, made when the shim path runs */
extern const struct source_ops segments_source;

#define SHM_MAX_SERVICES_DEFAULT 256
#define SHM_MAX_SEGS_PER_UID_DEFAULT 4096
#define SHM_MAX_REJECTED_DEFAULT 65536

struct shm_source_opts {
	const char *runtime_dir; /* where segments live (default /dev/shm) */
	struct metrics *metrics;
	const pid_t *pids;   /* only these processes (and, when following, their descendants) */
	int npids;	     /* 0 = every segment (obsprobe serve) */
	const char *service; /* override the segments' service names, or NULL */
	bool follow_children;
	struct traces *traces;	  /* HTTP exchanges the shims parsed (NULL: dropped) */
	struct logs *logs;	  /* their stdout/stderr writes (NULL: dropped) */
	int max_services;	  /* distinct service labels from segments, then __overflow__ (0: default) */
	int max_segments_per_uid; /* segments read at once per file owner, then refused (0: default) */
	int max_rejected;	  /* files remembered as refused or done, then the oldest forgotten (0: default) */
};

struct shm_source *shm_source__new(const struct shm_source_opts *opts);
void shm_source__free(struct shm_source *s);
/* Discover segments, fold new counts into the metrics, retire segments of dead processes.
 * Trust: a segment is its process's only while that process (pid + start time) runs as the file's owner and
 * maps the file; any other is read once as unverified, under service "uid:<owner>", with no pid. */
void shm_source__poll(struct shm_source *s);
/* only the event rings (HTTP exchanges, log writes): cheap, called between polls so rings never fill */
void shm_source__drain(struct shm_source *s);
/* live processes with a (verified) segment */
int shm_source__ntargets(struct shm_source *s);
/* is a verified segment of @pid read? */
bool shm_source__reads_pid(struct shm_source *s, pid_t pid);
void shm_source__targets_json(struct shm_source *s, cJSON *array);
void shm_source__totals(struct shm_source *s, uint64_t *events, uint64_t *lost);
/* segments refused or cut short (obsprobe_segments_rejected_total but "unverified"), and those read as unverified */
void shm_source__rejected(struct shm_source *s, uint64_t *refused, uint64_t *unverified);

#endif
