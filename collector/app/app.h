/* app.h -- one tracing session: targets, capture sources, registry, HTTP server, exit summary */
#ifndef OBSPROBE_APP_H
#define OBSPROBE_APP_H

#include <stdbool.h>
#include <sys/types.h>

#include "signal/hist.h"

struct app;
struct webconfig;
struct disc_sel;

enum app_cmd { APP_ATTACH, APP_RUN, APP_SERVE };

/* what a session is told (cli/ fills it from the flags and the --config file; see docs/SPEC.md, CLI).
 * Strings and lists are borrowed: they must outlive the session. */
struct app_opts {
	enum app_cmd cmd;
	bool preload;	     /* the shim even as root */
	const char *service; /* --service, or NULL: the target's comm */
	const struct hist_bounds *bounds;
	int max_series;
	bool container_labels; /* --container-labels: the RED families by container_id, k8s_pod_uid */
	int max_containers;
	const char *runtime_dir; /* where shim segments live */
	bool no_syscalls, no_net, no_http, no_logs, no_tls;
	bool follow_children;
	bool quiet;
	char *const *funcs; /* --func [OBJ:]GLOB */
	int nfuncs;
	char *const *kfuncs; /* --kfunc GLOB */
	int nkfuncs;
	const struct disc_sel *select; /* attach --exe/--port/--cgroup (app/discover.h), or NULL */
	/* spans and logs */
	char *const *redact_patterns;
	int nredact_patterns;
	const char *otlp_endpoint; /* or NULL */
	bool otlp_json;
	bool otlp_grpc;
	bool otlp_no_gzip;
	char *const *otlp_headers;
	int notlp_headers;
	int otlp_timeout_ms;
	bool otlp_metrics; /* push the registry over OTLP too */
	int otlp_metrics_interval_ms;
	const char *service_instance_id; /* NULL = a random UUID, said at start */
	const char *spans_file, *log_file;
	double sample_ratio;
	double max_overhead; /* --max-overhead PCT: the budget (eBPF), 0 = off */
	int payload_ring_mb; /* --payload-ring-mb, 0 = the default */
	bool probe_stats;    /* --probe-stats: the kernel's BPF statistics on without a budget */
	long max_spans_per_second;
	/* shim segments */
	int max_services, max_segments_per_uid, max_rejected_segments;
	/* the HTTP server */
	const char *listen_host;
	int listen_port;
	const struct webconfig *web;
	const char *metrics_auth, *tls_cert, *tls_key;
	/* run */
	const char *run_user; /* --user, or NULL */
	/* run --pushgateway: called once by app__finish with the final values, before the exit summary */
	void (*at_finish)(void *ctx);
	void *at_finish_ctx;
};

/* NULL after printing why */
struct app *app__new(const struct app_opts *opts);
/* attach: a pid the user named; 0, or 1 after printing why */
int app__add_initial(struct app *a, pid_t pid);
/* run: choose the capture path for CMD and prepare its environment */
int app__prepare_run(struct app *a, const char *cmd);
/* run: the forked child, held before exec */
int app__add_run_child(struct app *a, pid_t pid, const char *cmd);
/* load, attach, calibrate, serve, print the start line; 0 or 1 after printing why */
int app__start(struct app *a);
void app__poll(struct app *a);
/* only the event rings: cheap, between polls */
void app__drain(struct app *a);
/* sleep up to @ms, less when a source has something that wants handling now (see source.h wait_fd) */
void app__nap(struct app *a, int ms);
int app__nalive(struct app *a);
const char *app__url(struct app *a);
/* the session's registry (run --pushgateway renders it and counts its pushes in it) */
struct metrics *app__metrics(struct app *a);
/* final poll, exit summary (when @summary and not -q), teardown */
void app__finish(struct app *a, int summary);

#endif
