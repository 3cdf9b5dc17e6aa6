/* env.h -- all of obsprobe's configuration: flags and the --config JSON file fill one struct */
#ifndef OBSPROBE_ENV_H
#define OBSPROBE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "signal/hist.h"

struct webconfig;

#define ENV_MAX_PIDS 64
#define ENV_MAX_GLOBS 64
#define ENV_MAX_HEADERS 16
#define ENV_MAX_PATTERNS 32

enum command {
	CMD_NONE,
	CMD_ATTACH,
	CMD_RUN,
	CMD_SERVE,
	CMD_SYMBOLS,
	CMD_CHECK,
	CMD_VERSION,
	CMD_HELP,
};

struct env {
	enum command cmd;
	enum command help_cmd;	  /* cmd == CMD_HELP: whose help (CMD_NONE = all); pass to env__usage */
	pid_t pids[ENV_MAX_PIDS]; /* attach --pid, symbols --pid (first) */
	int npids;
	char *exes[ENV_MAX_GLOBS]; /* attach --exe GLOB */
	int nexes;
	int ports[ENV_MAX_GLOBS]; /* attach --port N */
	int nports;
	char *cgroups[ENV_MAX_GLOBS]; /* attach --cgroup PATH */
	int ncgroups;
	char *funcs[ENV_MAX_GLOBS]; /* --func [OBJ:]GLOB, as given */
	int nfuncs;
	char *kfuncs[ENV_MAX_GLOBS]; /* --kfunc GLOB */
	int nkfuncs;
	bool no_syscalls, no_net, no_http, no_logs, no_tls;
	char listen_host[256];		     /* --listen ADDR:PORT, split; default 127.0.0.1 */
	int listen_port;		     /* default 9464 */
	char *service;			     /* --service, NULL = target's comm */
	char *otlp_endpoint;		     /* --otlp-endpoint, else $OTEL_EXPORTER_OTLP_ENDPOINT, else NULL */
	bool otlp_json;			     /* --otlp-protocol http/json */
	bool otlp_grpc;			     /* --otlp-protocol grpc */
	bool otlp_no_gzip;		     /* --otlp-compression none */
	int otlp_timeout_ms;		     /* --otlp-timeout, else $OTEL_EXPORTER_OTLP_TIMEOUT; 0 = 10000 */
	bool otlp_metrics;		     /* --otlp-metrics */
	int otlp_metrics_interval_ms;	     /* --otlp-metrics-interval, else $OTEL_METRIC_EXPORT_INTERVAL; 0 = 60000 */
	char *otlp_headers[ENV_MAX_HEADERS]; /* --otlp-header K=V */
	int notlp_headers;
	char *service_instance_id;		 /* --service-instance-id, NULL = a random UUID */
	char *spans_file;			 /* --spans-file */
	char *log_file;				 /* --log-file ("-" = stdout) */
	double max_overhead;			 /* --max-overhead PCT, 0 = off */
	bool probe_stats;			 /* --probe-stats */
	double sample_ratio;			 /* --sample-ratio, default 1.0, 0..1 */
	long max_spans_per_second;		 /* default 10000 */
	int max_series;				 /* default 2000 */
	int payload_ring_mb;			 /* --payload-ring-mb, 0 = the default */
	int max_services;			 /* shim segments: distinct services, default 256 */
	bool container_labels;			 /* --container-labels */
	int max_containers;			 /* --container-labels: distinct containers, default 256 */
	bool max_containers_set;		 /* --max-containers given (it needs --container-labels) */
	int max_segments_per_uid;		 /* shim segments read at once per file owner, default 4096 */
	int max_rejected_segments;		 /* shim segment files remembered as refused or done, default 65536 */
	struct hist_bounds bounds;		 /* --buckets, default SPEC list */
	double duration;			 /* --duration SEC, 0 = until signal / CMD exit */
	char *web_config;			 /* --web-config FILE */
	struct webconfig *web;			 /* ... read and parsed by env__parse (NULL: none) */
	char *metrics_auth;			 /* --metrics-auth FILE (deprecated) */
	char *tls_cert, *tls_key;		 /* --tls-cert/--tls-key (deprecated) */
	bool preload;				 /* --preload */
	bool follow_children;			 /* default true; --no-follow-children */
	int verbose;				 /* -v count */
	bool quiet;				 /* -q */
	bool json;				 /* check --json */
	char *runtime_dir;			 /* $OBSPROBE_RUNTIME_DIR, default /dev/shm */
	char *redact_patterns[ENV_MAX_PATTERNS]; /* config file "redact_patterns": [..] */
	int nredact_patterns;
	char *config_file; /* --config */
	/* symbols */
	char *binary; /* symbols --binary PATH */
	char *glob;   /* symbols [GLOB] */
	/* run */
	char *run_user;	      /* run --user NAME: CMD runs as this user */
	char *pushgateway;    /* run --pushgateway URL, or NULL */
	char *push_job;	      /* run --push-job NAME, NULL = CMD's name */
	double push_interval; /* run --push-interval SEC, 0 = only at exit */
	char **argv;	      /* run -- CMD ARGS (points into the process argv) */
	int argc;
};

/* Fill @env from the command line (and the --config file it names; flags win),
 * and $OTEL_EXPORTER_OTLP_{ENDPOINT,PROTOCOL,HEADERS} / $OBSPROBE_RUNTIME_DIR for
 * what neither sets; sets log_level from -q/-v.
 * Returns 0 on success; on a usage error -- a bad flag or value, a --config file
 * that is not valid JSON, has an unknown key or a bad value -- prints one line
 * "obsprobe: <what>: <why> (hint)" and returns 2; when the --config file cannot
 * be read returns 1.  The --web-config file (and the PEM files it names) is read
 * here, before any privilege is dropped: 1 when unreadable, 2 when not valid.
 * "--help"/"CMD --help"/"help [CMD]" set cmd = CMD_HELP and
 * help_cmd, "--version"/"version" set CMD_VERSION, and return 0.
 * Call env__free() afterwards whatever it returned. */
int env__parse(struct env *env, int argc, char **argv);

/* The text of a --config file (@len bytes, and a NUL at text[len]) applied to @env for env->cmd, as
 * env__parse applies the file it names (@name in messages): 0, or 2 after printing why it is not a
 * valid options file.  For the fuzzer and tests; env__parse reads the file itself. */
int env__config_text(struct env *env, const char *name, const char *text, size_t len);

/* the usage text for `obsprobe --help` / `obsprobe CMD --help` */
void env__usage(FILE *out, enum command cmd);

void env__free(struct env *env);

#endif
