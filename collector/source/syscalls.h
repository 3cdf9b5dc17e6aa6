/* systrace.h -- the syscall tracer (collector/source/syscalls.c): traced-process set, syscall latency/errors, process lifecycle */
#ifndef OBSPROBE_SYSTRACE_H
#define OBSPROBE_SYSTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "signal/hist.h"
#include "signal/metrics.h"
#include "source/source.h"

struct systrace;

/* the payload ring's default size: the nginx bench (a 700-byte page, ~1.2 KB of records a request) moves about
 * 30 MB/s through it, drained every 20 ms: 4 MB holds over 100 ms of that (docs/SPEC.md, --payload-ring-mb) */
#define SYSTRACE_RING_MB 4

/* the session's view (source.h): a struct systrace, made when eBPF capture runs */
extern const struct source_ops syscalls_source;

struct systrace_opts {
	struct metrics *metrics;
	const struct hist_bounds *bounds;
	const char *service; /* "service" label */
	bool syscalls;	     /* time syscalls (else only follow processes) */
	bool follow_children;
	bool net;		/* socket bytes/latency and TCP connections */
	bool payload;		/* copy TCP payloads and report connections to on_data */
	bool logs;		/* copy stdout/stderr writes to on_data */
	bool tls;		/* with payload: OpenSSL plaintext through uprobes (source/tls.c) */
	int payload_ring_mb;	/* the payload/log ring in MB (a power of two); 0: SYSTRACE_RING_MB */
	proc_change_cb on_proc; /* fork/exec/exit of traced processes */
	uint32_t discover;	/* discovery's candidate events (OBS_DISC_*) to on_candidate (source.h) */
	void (*on_candidate)(void *ctx, uint32_t why, pid_t pid, uint32_t port);
	/* an obs_data_event (+ its bytes) or obs_conn_event from syscalls.h, as the ring holds it */
	void (*on_data)(void *ctx, const void *rec, size_t size);
	void *ctx;
};

/* open, load and attach; NULL with a one-line reason in @err */
struct systrace *systrace__new(const struct systrace_opts *opts, char *err, size_t errlen);
void systrace__free(struct systrace *t);

int systrace__add_pid(struct systrace *t, pid_t pid);
int systrace__remove_pid(struct systrace *t, pid_t pid);

/* copy at most so many bytes (< SC_CAP) of each read/write of socket @sk from now on (0: none): @capv is
 * SC_CAPV(socket's own, TLS plaintext), either half SC_CAPV_KEEP to leave it as it is */
void systrace__capture(struct systrace *t, uint64_t sk, uint32_t capv);

/* `obsprobe check`: can the OpenSSL uprobes attach (to @pid, then detached)?  What, or why not, in @out */
bool systrace__tls_check(struct systrace *t, pid_t pid, char *out, size_t len);

/* only the ring buffers (process events, payloads): cheap, called between polls */
void systrace__drain(struct systrace *t);

/* drain process events and fold new counts into the metrics */
void systrace__poll(struct systrace *t);
/* forget counts seen so far (calibration traffic) without reporting them */
void systrace__baseline(struct systrace *t);

/* events recorded / lost so far, for the exit summary */
void systrace__totals(struct systrace *t, uint64_t *events, uint64_t *lost);
/* the traced-process map (tgid -> 1; fork adds, exit removes), for other programs to filter on */
int systrace__traced_fd(struct systrace *t);

#endif
