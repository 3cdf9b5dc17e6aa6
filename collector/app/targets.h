/* targets.h -- the processes a session traces: those the user named, and the children it follows */
#ifndef OBSPROBE_TARGETS_H
#define OBSPROBE_TARGETS_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "export/span.h"
#include "signal/metrics.h"
#include "source/source.h"

#define TARGETS_MAX 4096

struct target {
	pid_t pid;
	char comm[17];
	bool alive;
	bool initial;
	bool exec_pending;		/* run: the exec into CMD, already attached for */
	int dead_polls;			/* polls since a followed child exited: its slot goes after 2 (late payloads) */
	struct span_container ctr;	/* its /proc/PID/cgroup when added or exec'd: the container it runs in */
	const struct metrics_ctr *mctr; /* ctr as metric labels (--container-labels; NULL: off) */
	char why[160];	 /* discovery: the selectors it matched ("exe=nginx(path) port=8080"), "" otherwise */
	bool per_binary; /* discovery: its --func uprobes are its binary's, attached once (docs/SPEC.md) */
};

struct targets {
	struct target t[TARGETS_MAX];
	int n;
	struct metrics *m; /* the session's, for the container labels */
};

struct target *targets__find(struct targets *ts, pid_t pid);
/* add or refresh @pid (alive again, @comm, its cgroup read again); NULL when the table is full of live processes */
struct target *targets__add(struct targets *ts, pid_t pid, const char *comm, bool initial);
/* @t exec'd (its new @comm): its cgroup read again (a new image may be another container's) */
void targets__exec(struct targets *ts, struct target *t, const char *comm);
/* forget followed children that exited two sweeps ago */
void targets__sweep(struct targets *ts);
/* eBPF: one /api/v1/targets row per process, with the probes @set holds for it */
void targets__json_ebpf(struct targets *ts, struct source_set *set, cJSON *array);
/* shim: the named processes no source reads yet (a shim makes its segment when it first records something) */
void targets__json_waiting(struct targets *ts, struct source_set *set, cJSON *array);
int targets__nwaiting(struct targets *ts, struct source_set *set);
int targets__nalive(const struct targets *ts);

#endif
