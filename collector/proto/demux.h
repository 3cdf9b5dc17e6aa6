/* demux.h -- eBPF path: payload and connection events go to one struct proto_conn per socket as they leave
 * the ring; the exchanges that come out become spans and RED metrics (signal/traces.c), and stdout/stderr
 * bytes trace-tagged log lines (signal/logs.c).
 *
 * Each request's start and exchange's end, the log lines and the --func calls are held for a short window
 * (reorder.c) and handed on by the time their syscall began, so a traced client's span is known when the
 * server's request is started. */
#ifndef OBSPROBE_DEMUX_H
#define OBSPROBE_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/funclat.h"
#include "export/span.h"
#include "signal/logs.h"
#include "signal/traces.h"

struct demux_opts {
	struct traces *traces; /* NULL (--no-http): payloads are ignored, log lines carry no trace */
	struct logs *logs;     /* NULL: stdout/stderr bytes are ignored */
	struct metrics *metrics;
	uint64_t window_ns; /* reorder window; default 20 ms */
	int max_conns;	    /* connections parsed at once; default 4096 */
	/* the process's resource (service, pid, exe) */
	void (*resource)(void *ctx, int pid, struct span_resource *out);
	/* copy at most so many bytes of each read/write of socket @sk from now on; 0: none (no protocol we
	 * parse claimed it, its parser gave up, or its own bytes are TLS records): @capv is SC_CAPV(its own
	 * bytes, its TLS plaintext) of abi/syscalls.h, a half SC_CAPV_KEEP when it stays as it is */
	void (*capture)(void *ctx, uint64_t sk, uint32_t capv);
	void *ctx;
};

struct demux;

struct demux *demux__new(const struct demux_opts *opts);
void demux__free(struct demux *d);

/* an obs_data_event/obs_conn_event record from the syscall ring (read in place, during the call) */
void demux__event(struct demux *d, const void *rec, size_t size);
/* a finished --func call */
void demux__call(struct demux *d, const struct fl_call_event *e, const char *function, const char *object);

/* Process what is older than the window (@all: everything, at exit), and tick the log lines. */
void demux__flush(struct demux *d, bool all);
/* After a ring drain: when the queue holds more than DEMUX_DRAIN_BYTES, process what is older than the window
 * now rather than at the next flush (memory stays bounded under heavy traffic; light traffic waits for the
 * poll's flush, as it always did). */
#define DEMUX_DRAIN_BYTES (1024 * 1024)
void demux__drain(struct demux *d);

void demux__forget_pid(struct demux *d, int pid);

#endif
