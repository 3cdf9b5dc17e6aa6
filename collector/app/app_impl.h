/* app_impl.h -- a tracing session's insides, for its own files (app.c, app_http.c) only */
#ifndef OBSPROBE_APP_IMPL_H
#define OBSPROBE_APP_IMPL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "app/app.h"
#include "app/discsess.h"
#include "app/outputs.h"
#include "app/targets.h"
#include "export/server.h"
#include "source/source.h"

enum mode { MODE_EBPF, MODE_PRELOAD };

struct app {
	struct app_opts opts; /* what it was told (borrowed strings) */
	enum mode mode;
	pthread_mutex_t lock; /* sources are polled by the main loop and by /metrics */
	struct metrics *m;
	struct server *srv;
	struct source_set sources; /* the capture sources of the mode (source.h) */
	struct systrace *sys;	   /* the eBPF syscall source, for the payload verdict (demux) */
	struct outputs out;	   /* redactor, exporter, spans, logs */
	struct demux *cap;	   /* eBPF payloads -> exchanges, log lines */
	struct overhead *ovh;	   /* eBPF: the probes' CPU, the --max-overhead budget */
	struct targets targets;
	struct disc_session ds; /* attach --exe/--port/--cgroup */
	char service[128];
	char run_exe[PATH_MAX]; /* run: CMD resolved through $PATH */
	bool started;
};

/* the HTTP server's callbacks into the session (app_http.c): /api/v1/targets, readiness, /metrics */
struct server_opts app_http__server_opts(struct app *a);

#endif
