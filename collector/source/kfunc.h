/* kfunc.h -- kernel function latency (--kfunc): fentry/fexit, else kprobe/kretprobe, chosen at run time */
#ifndef OBSPROBE_KFUNC_H
#define OBSPROBE_KFUNC_H

#include <stdbool.h>
#include <sys/types.h>

#include "signal/hist.h"
#include "signal/metrics.h"

struct kfunc;

struct kfunc_opts {
	struct metrics *metrics;
	const struct hist_bounds *bounds;
	const char *service;
	char *const *globs;
	int nglobs;
	pid_t tgid;		/* only this process's threads (0 = every task) */
};

/* resolve globs against the kernel's BTF and attach; NULL with one line in @err */
struct kfunc *kfunc__new(const struct kfunc_opts *opts, char *err, size_t errlen);
void kfunc__free(struct kfunc *k);
int kfunc__nfuncs(const struct kfunc *k);
const char *kfunc__mechanism(const struct kfunc *k);	/* "fentry" or "kprobe" */
void kfunc__poll(struct kfunc *k);

/* for `obsprobe check`: can fentry / kprobes attach here? @why gets the reason when not */
bool kfunc_probe_fentry(char *why, size_t len);
bool kfunc_probe_kprobe(char *why, size_t len);

#endif
