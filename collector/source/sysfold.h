/* sysfold.h -- the syscall programs' per-CPU counters and histograms (abi/syscalls.h) folded into metrics:
 * what changed since the last fold becomes series adds, each map read with one batched syscall */
#ifndef OBSPROBE_SYSFOLD_H
#define OBSPROBE_SYSFOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "signal/hist.h"
#include "signal/metrics.h"

struct sysfold_opts {
	struct metrics *metrics;
	const char *service; /* "service" label */
	int nslots;	     /* histogram buckets in use (bounds + 1) */
	/* the maps of syscalls.bpf.c; -1: not folded */
	int hists, errors, socks, conn_stats, stats;
};

struct sysfold;

struct sysfold *sysfold__new(const struct sysfold_opts *opts);
void sysfold__free(struct sysfold *f);

/* Fold what changed since the last call: @report false records it without adding to the metrics (the
 * calibration's traffic).  Adds the syscalls timed to *@events, the events lost to *@lost. */
void sysfold__fold(struct sysfold *f, bool report, uint64_t *events, uint64_t *lost);

#endif
