/* kfunc.h -- kernel function latency (--kfunc): fentry/fexit, else kprobe/kretprobe, chosen at run time */
#ifndef OBSPROBE_KFUNC_H
#define OBSPROBE_KFUNC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "signal/hist.h"
#include "signal/metrics.h"
#include "source/source.h"

struct kfunc;

/* the session's view (source.h): a struct kfunc, made when --kfunc is given */
extern const struct source_ops kfunc_source;

struct kfunc_opts {
	struct metrics *metrics;
	const struct hist_bounds *bounds;
	const char *service;
	char *const *globs;
	int nglobs;
	int traced_fd; /* only threads of the processes in this map (the syscall tracer's traced set,
				 * which follows children: systrace__traced_fd); -1 = every task */
};

/* resolve globs against the kernel's BTF and attach; NULL with one line in @err */
struct kfunc *kfunc__new(const struct kfunc_opts *opts, char *err, size_t errlen);
void kfunc__free(struct kfunc *k);
int kfunc__nfuncs(const struct kfunc *k);
const char *kfunc__mechanism(const struct kfunc *k); /* "fentry" or "kprobe" */
/* fold new latencies into the metrics, and what the probes lost into obsprobe_events_lost_total */
void kfunc__poll(struct kfunc *k);
/* forget counts seen so far (calibration traffic) without reporting them */
void kfunc__baseline(struct kfunc *k);
/* timed calls / lost so far, for the exit summary */
void kfunc__totals(struct kfunc *k, uint64_t *events, uint64_t *lost);

/* for `obsprobe check`: can fentry / kprobes attach here? @why gets the reason when not */
bool kfunc_probe_fentry(char *why, size_t len);
bool kfunc_probe_kprobe(char *why, size_t len);

#endif
