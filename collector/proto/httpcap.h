/* httpcap.h -- eBPF path: payload, connection and call events, put back in causal order, become
 * HTTP exchanges (spans, RED metrics) and trace-tagged log lines.
 *
 * The ring buffer holds events in commit order, which is not causal order across processes: a server
 * can return from read() before the client's write() that sent the bytes has returned.  Events are
 * held for a short window and sorted by the time their syscall began (a write's entry precedes the
 * read it feeds), so a traced client's span is known when the server's request is parsed. */
#ifndef OBSPROBE_HTTPCAP_H
#define OBSPROBE_HTTPCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/funclat.h"
#include "signal/logs.h"
#include "export/span.h"
#include "signal/traces.h"

struct httpcap_opts {
	struct traces *traces;	  /* NULL (--no-http): payloads are ignored, log lines carry no trace */
	struct logs *logs;	  /* NULL: stdout/stderr bytes are ignored */
	struct metrics *metrics;
	uint64_t window_ns;	  /* reorder window; default 20 ms */
	int max_conns;		  /* connections parsed at once; default 4096 */
	/* the process's resource (service, pid, exe) */
	void (*resource)(void *ctx, int pid, struct span_resource *out);
	/* a socket that does not carry HTTP: stop copying its bytes */
	void (*no_http)(void *ctx, uint64_t sk);
	void *ctx;
};

struct httpcap;

struct httpcap *httpcap__new(const struct httpcap_opts *opts);
void httpcap__free(struct httpcap *c);

/* an obs_data_event/obs_conn_event record from the syscall ring */
void httpcap__event(struct httpcap *c, const void *rec, size_t size);
/* a finished --func call */
void httpcap__call(struct httpcap *c, const struct fl_call_event *e, const char *function, const char *object);

/* Process what is older than the window (@all: everything, at exit). */
void httpcap__flush(struct httpcap *c, bool all);

void httpcap__forget_pid(struct httpcap *c, int pid);

/* events dropped because the reorder queue was full */
uint64_t httpcap__dropped(const struct httpcap *c);

#endif
