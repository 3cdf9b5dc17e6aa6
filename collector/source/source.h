/* source.h -- a capture source as the session drives it (eBPF syscalls, eBPF functions, kernel functions, shim
 * segments): one struct of functions per source, one table, and a set of live sources the session loops over */
#ifndef OBSPROBE_SOURCE_H
#define OBSPROBE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "abi/funclat.h"
#include "base/privs.h"
#include "source/budget.h"
#include "signal/hist.h"
#include "signal/logs.h"
#include "signal/metrics.h"
#include "signal/traces.h"

/* a traced process forked (pid is the child), exec'd a new image, or exited */
enum proc_change { PROC_CHANGE_FORK, PROC_CHANGE_EXEC, PROC_CHANGE_EXIT };
typedef void (*proc_change_cb)(void *ctx, enum proc_change what, pid_t pid, pid_t ppid, const char *comm);

/* the capture path a source belongs to: a session runs the sources of one */
enum source_path { SOURCE_EBPF, SOURCE_PRELOAD };

/* what the session gives every source; each takes what it needs */
struct source_opts {
	struct metrics *metrics;
	const struct hist_bounds *bounds;
	const char *service; /* eBPF: the "service" label of everything traced */
	/* eBPF */
	bool syscalls, net;	  /* captures on (--no-syscalls, --no-net) */
	bool payload, log_writes; /* copy TCP payloads / stdout+stderr writes to on_data */
	bool tls;		  /* with payload: OpenSSL plaintext (--no-tls) */
	bool follow_children;
	char *const *funcs; /* --func [OBJ:]GLOB */
	int nfuncs;
	char *const *kfuncs; /* --kfunc GLOB */
	int nkfuncs;
	const char *run_exe;	/* run: CMD's executable, not exec'd yet ("" for attach) */
	int payload_ring_mb;	/* eBPF: the payload ring's size (--payload-ring-mb), 0 = the default */
	int traced_fd;		/* the traced-process map an earlier source offers (traced_fd op), or -1 */
	proc_change_cb on_proc; /* fork/exec/exit of traced processes */
	/* discovery: the candidate events wanted (OBS_DISC_* bits, abi/syscalls.h; 0 = none) and where they go:
	 * an untraced process exec'd (OBS_DISC_EXEC), listened on TCP @port (OBS_DISC_LISTEN), changed cgroup */
	uint32_t discover;
	void (*on_candidate)(void *ctx, uint32_t why, pid_t pid, uint32_t port);
	/* an obs_data_event (+ its bytes) or obs_conn_event as the ring holds it (payloads, connections) */
	void (*on_data)(void *ctx, const void *rec, size_t size);
	/* a finished call of a traced function (INTERNAL spans); NULL = histograms only */
	void (*on_call)(void *ctx, const struct fl_call_event *e, const char *function, const char *object);
	/* shim segments */
	const char *runtime_dir;
	const char *service_override; /* --service, or NULL: the segments' own names */
	const pid_t *pids;	      /* only these processes (and their children when following) */
	int npids;		      /* 0 = every segment (serve) */
	struct traces *traces;	      /* where parsed exchanges go (NULL: dropped) */
	struct logs *logs;	      /* where log writes go (NULL: dropped) */
	int max_services, max_segments_per_uid, max_rejected;
	void *ctx; /* for the callbacks */
};

/* what the calibration helper runs while a source probes it (calibrate.c) */
enum calib_loop { CALIB_SYSCALLS, CALIB_CALLS };

struct source_totals {
	uint64_t events;
	uint64_t lost; /* each one also counted in obsprobe_events_lost_total{source,reason} */
};

/* A source.  Only name, path, new, free, poll and totals are required; a NULL op does nothing. */
struct source_ops {
	const char *name;
	enum source_path path;
	/* NULL with @err empty: not wanted with these options; NULL with @err set: cannot start (one line) */
	void *(*new)(const struct source_opts *o, char *err, size_t errlen);
	void (*free)(void *s);
	/* targets: a process to trace, one the user named (@initial: failing is fatal) or a child found at the
	 * start; 0, or -1 with one line in @err */
	int (*add_target)(void *s, pid_t pid, bool initial, char *err, size_t errlen);
	void (*on_process)(void *s, enum proc_change what, pid_t pid);
	void (*drain)(void *s);	   /* only the rings: cheap, between polls */
	void (*poll)(void *s);	   /* fold new counts into the metrics */
	void (*baseline)(void *s); /* forget what was counted so far (calibration traffic) */
	/* the one place a source reports what it recorded and what it lost */
	void (*totals)(void *s, struct source_totals *t);
	/* /api/v1/targets: probes held for @pid, or the source's own listing; is @pid read; how many live */
	int (*nprobes)(void *s, pid_t pid);
	void (*targets)(void *s, cJSON *array);
	bool (*reads_pid)(void *s, pid_t pid);
	int (*ntargets)(void *s);
	/* the start line: what it probes, appended to @buf ("3 functions, ") */
	void (*describe)(void *s, char *buf, size_t len);
	/* the capabilities it needs after the start */
	void (*needs)(void *s, struct privs_need *need);
	/* exit: anything it refused or dropped, said once (the events it lost are said by the session) */
	void (*report)(void *s);
	/* a BPF map of traced tgids that sources made after it may filter on; -1 when none */
	int (*traced_fd)(void *s);
	/* optional: a descriptor that polls readable when something wants handling now rather than at the next
	 * drain (a process forked: its uprobes must be attached before it runs far), or -1 */
	int (*wait_fd)(void *s);
	/* overhead: the BPF programs it loaded (their fds into @fds, at most @max; how many), and the uprobe hits it
	 * counted so far (the trap cost the programs' own run time does not include) */
	int (*progs)(void *s, int *fds, int max);
	uint64_t (*uprobe_hits)(void *s);
	/* the budget: shed @step if this source has it to shed, saying what in @what; 1 when it did, 0 when it has
	 * nothing (more) of that kind */
	int (*shed)(void *s, enum shed_step step, char *what, size_t len);
	/* calibration: obsprobe_probe_overhead_seconds{probe} of the probe it times on the helper's @loop */
	const char *probe;
	enum calib_loop loop;
	int (*calibrate_on)(void *s, pid_t helper); /* 0 when the helper is probed now */
	void (*calibrate_off)(void *s, pid_t helper);
};

#define SOURCE_MAX 8

/* the live sources of a session */
struct source_set {
	const struct source_ops *ops[SOURCE_MAX];
	void *s[SOURCE_MAX];
	int n;
};

/* make every source of @table (NULL-terminated: source_table, source/table.h) on @path that the options want, in table order;
 * 0, or -1 with one line in @err (what was made stays in @set: free it) */
int source_set__start(struct source_set *set, const struct source_ops *const *table, enum source_path path,
		      struct source_opts *o, char *err, size_t errlen);
void *source_set__find(const struct source_set *set, const struct source_ops *ops);
int source_set__add_target(struct source_set *set, pid_t pid, bool initial, char *err, size_t errlen);
void source_set__on_process(struct source_set *set, enum proc_change what, pid_t pid);
void source_set__drain(struct source_set *set);
/* the sources' wait_fd()s into @fds (at most @max); their number */
int source_set__wait_fds(struct source_set *set, int *fds, int max);
void source_set__poll(struct source_set *set);
void source_set__baseline(struct source_set *set);
void source_set__totals(struct source_set *set, struct source_totals *t);
int source_set__nprobes(struct source_set *set, pid_t pid);
void source_set__targets(struct source_set *set, cJSON *array);
bool source_set__reads_pid(struct source_set *set, pid_t pid);
int source_set__ntargets(struct source_set *set);
void source_set__describe(struct source_set *set, char *out, size_t len);
void source_set__needs(struct source_set *set, struct privs_need *need);
void source_set__report(struct source_set *set);
/* the BPF program fds of every source (at most @max); how many */
int source_set__progs(struct source_set *set, int *fds, int max);
/* @step in the first source that has it; 1 when one did (@what says what), 0 when none has it */
int source_set__shed(struct source_set *set, enum shed_step step, char *what, size_t len);
void source_set__free(struct source_set *set);

#endif
