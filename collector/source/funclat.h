/* funclat.h -- user function latency: resolve --func globs per process, attach uprobe pairs, report */
#ifndef OBSPROBE_FUNCLAT_SRC_H
#define OBSPROBE_FUNCLAT_SRC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "signal/hist.h"
#include "signal/metrics.h"
#include "abi/funclat.h"
#include "source/source.h"

struct funclat;

/* the session's view (source.h): a struct funclat, made when eBPF capture runs (it times the calibration
 * uprobe even without --func) */
extern const struct source_ops funclat_source;

struct funclat_opts {
	struct metrics *metrics;
	const struct hist_bounds *bounds;
	const char *service;
	char *const *specs; /* "[OBJ:]GLOB" */
	int nspecs;
	const char *exe; /* run: the executable of the targets it is told of first, not exec'd yet (or NULL) */
	/* every finished call of a traced function (INTERNAL spans); NULL = histograms only */
	void (*on_call)(void *ctx, const struct fl_call_event *e, const char *function, const char *object);
	int traced_fd; /* the syscall source's traced-process map (> 0), for whole-binary probes; 0: none */
	void *ctx;
};

struct funclat *funclat__new(const struct funclat_opts *opts, char *err, size_t errlen);
void funclat__free(struct funclat *fl);

/* Resolve every spec against @pid's binary and libraries and attach.  With
 * @strict, a spec that matches nothing is an error (the first pids a user
 * names); for children found later it is not.  Returns the number of probes
 * attached, or -1 with a one-line reason in @err. */
int funclat__attach_pid(struct funclat *fl, pid_t pid, bool strict, char *err, size_t errlen);
/* same, for a process not started yet: resolve @exe and libraries by name */
int funclat__attach_path(struct funclat *fl, pid_t pid, const char *exe, char *err, size_t errlen);
void funclat__detach_pid(struct funclat *fl, pid_t pid);

/* calibration: time @offset in @path for @pid under probe id 0 (never exported) */
int funclat__attach_calibration(struct funclat *fl, pid_t pid, const char *path, uint64_t offset);
void funclat__detach_calibration(struct funclat *fl);

int funclat__nfuncs(const struct funclat *fl);		   /* distinct functions traced */
int funclat__nprobes(const struct funclat *fl, pid_t pid); /* links held for @pid (0 = all) */
/* discovery: @per_binary(ctx, pid) true when @pid's main binary runs only in targets: its --func uprobes are
 * then attached once for the whole file (pid -1, only traced processes' calls counted) and detached when the
 * last such process exits; libraries stay per process */
void funclat__per_binary(struct funclat *fl, bool (*per_binary)(void *ctx, pid_t pid), void *ctx);
/* the overhead budget: detach the function called most since the last time it asked (never attached again);
 * 1 with @what saying which, 0 when none is attached */
int funclat__shed_hottest(struct funclat *fl, char *what, size_t len);
void funclat__poll(struct funclat *fl);
void funclat__baseline(struct funclat *fl);
void funclat__totals(struct funclat *fl, uint64_t *events, uint64_t *lost);

#endif
