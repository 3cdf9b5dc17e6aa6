/* options.c -- the option table (flags and --config keys), its help text, and applying one value */
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "cli/optval.h"
#include "cli/options.h"
#include "export/exporter.h"
#include "export/url.h"

const struct optdef options[] = {
	{ "pid", 1, OPT_PID, C_ATTACH | C_SYMBOLS, "PID", "the target process (attach: repeatable, or PID,PID,...)" },
	{ "exe", 1, OPT_EXE, C_ATTACH, "GLOB",
	  "attach: processes whose executable matches (a GLOB with '/': the path;\n"
	  "else its file name or comm), running or started later; repeatable" },
	{ "port", 1, OPT_PORT, C_ATTACH, "N", "attach: processes listening on TCP port N, now or later; repeatable" },
	{ "cgroup", 1, OPT_CGROUP, C_ATTACH, "PATH",
	  "attach: processes in this cgroup v2 subtree (its directory, or a path\n"
	  "from the cgroup2 root); repeatable. Kinds AND, values OR" },
	{ "binary", 1, OPT_BINARY, C_SYMBOLS, "PATH", "executable or library whose functions to list" },
	{ "func", 1, OPT_FUNC, C_PROBE, "[OBJ:]GLOB",
	  "trace these functions' latency; OBJ is the binary, a library name\n"
	  "or a path (libc.so.6:malloc, libssl.so.3:SSL_*); repeatable" },
	{ "kfunc", 1, OPT_KFUNC, C_PROBE, "GLOB", "kernel function latency (fentry/fexit, else kprobes); repeatable" },
	{ "no-syscalls", 0, OPT_NO_SYSCALLS, C_TRACE, NULL, "do not capture syscalls" },
	{ "no-net", 0, OPT_NO_NET, C_TRACE, NULL, "do not capture socket I/O" },
	{ "no-http", 0, OPT_NO_HTTP, C_TRACE, NULL, "do not parse HTTP (no HTTP metrics, no spans)" },
	{ "no-logs", 0, OPT_NO_LOGS, C_TRACE, NULL, "do not turn stdout/stderr lines into log records" },
	{ "no-tls", 0, OPT_NO_TLS, C_TRACE, NULL, "eBPF: no OpenSSL plaintext (no uprobes on libssl.so.3)" },
	{ "listen", 1, OPT_LISTEN, C_TRACE, "ADDR:PORT",
	  "metrics/health HTTP server (default 127.0.0.1:9464); ':PORT' is\n"
	  "127.0.0.1, 0.0.0.0:PORT every interface, [::1]:PORT IPv6" },
	{ "service", 1, OPT_SERVICE, C_TRACE, "NAME", "'service' label and service.name (default: the target's comm)" },
	{ "otlp-endpoint", 1, OPT_OTLP_ENDPOINT, C_TRACE, "URL",
	  "OTLP base URL, e.g. http://127.0.0.1:4318 (grpc: :4317) (default\n$OTEL_EXPORTER_OTLP_ENDPOINT, else no "
	  "export)" },
	{ "otlp-protocol", 1, OPT_OTLP_PROTOCOL, C_TRACE, "P", "http/protobuf (default), http/json or grpc" },
	{ "otlp-header", 1, OPT_OTLP_HEADER, C_TRACE, "K=V", "extra header on every export (auth); repeatable" },
	{ "otlp-compression", 1, OPT_OTLP_COMPRESSION, C_TRACE, "C",
	  "gzip (default) or none: export bodies compressed or not\n($OTEL_EXPORTER_OTLP_COMPRESSION)" },
	{ "otlp-timeout", 1, OPT_OTLP_TIMEOUT, C_TRACE, "MS",
	  "one export request's time limit in ms (default 10000,\n$OTEL_EXPORTER_OTLP_TIMEOUT); slower is a failed try" },
	{ "otlp-metrics", 0, OPT_OTLP_METRICS, C_TRACE, NULL,
	  "also push the /metrics families over OTLP (/v1/metrics): cumulative,\nexemplars from sampled spans" },
	{ "otlp-metrics-interval", 1, OPT_OTLP_METRICS_INTERVAL, C_TRACE, "MS",
	  "--otlp-metrics: push every MS ms and at exit (default 60000,\n$OTEL_METRIC_EXPORT_INTERVAL)" },
	{ "service-instance-id", 1, OPT_SERVICE_INSTANCE_ID, C_TRACE, "ID",
	  "OTLP: service.instance.id on every resource (default: a random UUID,\nsaid at start)" },
	{ "spans-file", 1, OPT_SPANS_FILE, C_TRACE, "PATH", "also write each finished span as one JSON line" },
	{ "log-file", 1, OPT_LOG_FILE, C_TRACE, "PATH", "write trace-tagged log records as JSON lines ('-' = stdout)" },
	{ "sample-ratio", 1, OPT_SAMPLE_RATIO, C_TRACE, "R", "head sampling of new traces, 0..1 (default 1)" },
	{ "max-spans-per-second", 1, OPT_MAX_SPS, C_TRACE, "N", "cap on exported spans (default 10000)" },
	{ "max-series", 1, OPT_MAX_SERIES, C_TRACE, "N",
	  "series per metric family before new ones fold into __overflow__\n(default 2000)" },
	{ "payload-ring-mb", 1, OPT_PAYLOAD_RING_MB, C_PROBE, "N",
	  "eBPF: the payload/log ring buffer in MB, a power of two (default 4);\n"
	  "when it fills, events are lost and counted (data_ringbuf_full)" },
	{ "max-overhead", 1, OPT_MAX_OVERHEAD, C_PROBE, "PCT",
	  "eBPF: when the probes use more than PCT% (0 < PCT <= 100) of the traced\n"
	  "processes' CPU over a 2 s window, shed work step by step (default off)" },
	{ "probe-stats", 0, OPT_PROBE_STATS, C_PROBE, NULL,
	  "eBPF: turn on the kernel's BPF run-time statistics for the session\n"
	  "(obsprobe_probe_cpu_seconds_total); they cost every BPF program on\n"
	  "the host two clock reads per run (default: only with --max-overhead)" },
	{ "container-labels", 0, OPT_CONTAINER_LABELS, C_TRACE, NULL,
	  "HTTP, DB and RPC duration histograms also by container_id and\nk8s_pod_uid (default off)" },
	{ "max-containers", 1, OPT_MAX_CONTAINERS, C_TRACE, "N",
	  "--container-labels: distinct containers the labels name; past it\nthey are __overflow__ (default 256)" },
	{ "max-services", 1, OPT_MAX_SERVICES, C_TRACE, "N",
	  "shim: distinct service names segments may bring; past it their\nservice label is __overflow__ (default 256)" },
	{ "max-segments-per-uid", 1, OPT_MAX_SEGS_PER_UID, C_TRACE, "N",
	  "shim: segments read at once per file owner; past it they are\nrefused until one retires (default 4096)" },
	{ "max-rejected-segments", 1, OPT_MAX_REJECTED, C_TRACE, "N",
	  "shim: refused or finished segment files remembered, so as not to\nread them again; past it the oldest is forgotten (default 65536)" },
	{ "buckets", 1, OPT_BUCKETS, C_TRACE, "LIST",
	  "latency histogram boundaries in seconds, e.g. 0.001,0.01,0.1,1\n(default 0.000001 ... 10)" },
	{ "duration", 1, OPT_DURATION, C_TRACE, "SEC", "stop after SEC seconds (fractions allowed)" },
	{ "web-config", 1, OPT_WEB_CONFIG, C_TRACE, "FILE",
	  "TLS, client certificates and basic auth (bcrypt) for all but /health*:\n"
	  "a Prometheus exporter-toolkit web config YAML (see README, Scraping)" },
	{ "metrics-auth", 1, OPT_METRICS_AUTH, C_TRACE, "FILE",
	  "deprecated (use --web-config): basic auth from a 'user:password'\nline, or a bearer token ('token:SECRET')" },
	{ "tls-cert", 1, OPT_TLS_CERT, C_TRACE, "FILE", "deprecated (use --web-config): HTTPS certificate" },
	{ "tls-key", 1, OPT_TLS_KEY, C_TRACE, "FILE", "deprecated (use --web-config): ... and its private key" },
	{ "preload", 0, OPT_PRELOAD, C_PROBE, NULL,
	  "use the LD_PRELOAD shim instead of eBPF (attach: the target runs\nwith it already)" },
	{ "user", 1, OPT_USER, C_RUN, "NAME",
	  "run CMD as this user, with its groups (obsprobe stays root to trace it)" },
	{ "pushgateway", 1, OPT_PUSHGATEWAY, C_RUN, "URL",
	  "when CMD ends, PUT the metrics to this Prometheus Pushgateway\n(e.g. http://127.0.0.1:9091), grouped by job and instance" },
	{ "push-job", 1, OPT_PUSH_JOB, C_RUN, "NAME", "--pushgateway: the job label (default: CMD's name)" },
	{ "push-interval", 1, OPT_PUSH_INTERVAL, C_RUN, "SEC",
	  "--pushgateway: also push every SEC seconds while CMD runs\n(default: only when it ends)" },
	{ "no-follow-children", 0, OPT_NO_FOLLOW, C_TRACE, NULL, "do not trace forked/exec'd children" },
	{ "config", 1, OPT_CONFIG, C_ALL, "FILE",
	  "options as a JSON object whose keys are the long option names\n"
	  "(\"no_syscalls\": true, \"func\": [...]); flags win over the file" },
	{ "quiet", 0, OPT_QUIET, C_ALL, NULL, "no start line, no exit summary" },
	{ "verbose", 0, OPT_VERBOSE, C_ALL, NULL, "more detail; -vv adds libbpf's debug output" },
	{ "help", 0, OPT_HELP, C_ALL, NULL, "this help; obsprobe COMMAND --help for one command" },
	{ "version", 0, OPT_VERSION, C_ALL, NULL, NULL },
	{ "redact-patterns", 1, OPT_REDACT, C_FILE_ONLY, NULL, NULL },
	{ "json", 0, OPT_JSON, C_CHECK, NULL, "check: one JSON object, with what a deployment must grant" },
};
const int noptions = (int)(sizeof(options) / sizeof(options[0]));
_Static_assert(sizeof(options) / sizeof(options[0]) <= OPTIONS_MAX, "option sets are 64-bit masks");

const struct optdef *options__by_val(int val)
{
	for (int i = 0; i < noptions; i++)
		if (options[i].val == val)
			return &options[i];
	return NULL;
}

/* the bit of an option in a set of options */
uint64_t options__bit(int val)
{
	const struct optdef *o = options__by_val(val);

	return o ? 1ull << (o - options) : 0;
}

const struct optdef *options__by_key(const char *key)
{
	char name[64];

	snprintf(name, sizeof(name), "%s", key);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	for (int i = 0; i < noptions; i++)
		if (!strcmp(options[i].name, name))
			return options[i].val == OPT_CONFIG || options[i].val == OPT_HELP ||
					       options[i].val == OPT_VERSION
				       ? NULL
				       : &options[i];
	return NULL;
}

bool options__is_list(int val)
{
	return val == OPT_PID || val == OPT_EXE || val == OPT_PORT || val == OPT_CGROUP || val == OPT_FUNC ||
	       val == OPT_KFUNC || val == OPT_OTLP_HEADER || val == OPT_REDACT;
}

void options__print(FILE *out, unsigned cmds)
{
	for (int i = 0; i < noptions; i++) {
		const struct optdef *o = &options[i];
		char left[64];
		const char *h;

		if (!o->help || !(o->cmds & cmds))
			continue;
		snprintf(left, sizeof(left), "%s--%s%s%s",
			 o->val == OPT_QUIET	 ? "-q, "
			 : o->val == OPT_VERBOSE ? "-v, "
			 : o->val == OPT_HELP	 ? "-h, "
						 : "",
			 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-26s", left);
		if (strlen(left) >= 26) /* no room for a space: the help starts on the next line */
			fprintf(out, "\n  %-26s", "");
		for (h = o->help; *h; h++) {
			fputc(*h, out);
			if (*h == '\n')
				fprintf(out, "  %-26s", "");
		}
		fputc('\n', out);
	}
}

/* ---- applying one value ------------------------------------------------------- */

/* printable ASCII without quotes or backslashes (an id said in messages and JSON as is) */
static bool printable_id(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\')
			return false;
	return true;
}

static int set_str(char **dst, const char *v, const char *what)
{
	if (!*v)
		BAD("%s: empty value", what);
	free(*dst);
	*dst = strdup(v);
	return 0;
}

static int add_str(char **list, int *n, int max, const char *v, const char *what)
{
	if (*n == max)
		BAD("%s: more than %d given", what, max);
	list[(*n)++] = strdup(v);
	return 0;
}

static int add_pids(struct env *env, const char *v, const char *what)
{
	const char *p = v;

	do {
		size_t len = strcspn(p, ",");
		char one[24];
		long pid;
		int i;

		snprintf(one, sizeof(one), "%.*s", (int)(len < sizeof(one) ? len : sizeof(one) - 1), p);
		if (len >= sizeof(one) || optval_long(one, &pid) || pid <= 0 || pid > INT_MAX)
			BAD("%s '%s' is not a process id (a positive number, e.g. --pid $(pgrep -o nginx))", what, v);
		for (i = 0; i < env->npids && env->pids[i] != pid; i++)
			;
		if (i == env->npids) {
			if (env->npids == ENV_MAX_PIDS)
				BAD("%s: more than %d processes", what, ENV_MAX_PIDS);
			env->pids[env->npids++] = (pid_t)pid;
		}
		p += len;
	} while (*p++ == ',');
	return 0;
}

/* an option without a value, turned on (a flag, "key": true) or off ("key": false) */
void options__set_flag(struct env *env, int val, bool on)
{
	switch (val) {
	case OPT_NO_SYSCALLS:
		env->no_syscalls = on;
		break;
	case OPT_NO_NET:
		env->no_net = on;
		break;
	case OPT_NO_TLS:
		env->no_tls = on;
		break;
	case OPT_NO_HTTP:
		env->no_http = on;
		break;
	case OPT_NO_LOGS:
		env->no_logs = on;
		break;
	case OPT_OTLP_METRICS:
		env->otlp_metrics = on;
		break;
	case OPT_PROBE_STATS:
		env->probe_stats = on;
		break;
	case OPT_CONTAINER_LABELS:
		env->container_labels = on;
		break;
	case OPT_PRELOAD:
		env->preload = on;
		break;
	case OPT_NO_FOLLOW:
		env->follow_children = !on;
		break;
	case OPT_JSON:
		env->json = on;
		break;
	case OPT_QUIET:
		env->quiet = on;
		break;
	case OPT_VERBOSE:
		env->verbose = on ? env->verbose + 1 : 0;
		break;
	}
}

/* one option value, from a flag or the config file; @what names it in messages */
int options__apply(struct env *env, int val, const char *arg, const char *what)
{
	char err[256], host[sizeof(env->listen_host)];
	const char *why;
	int port;
	double d;
	long l;

	switch (val) {
	case OPT_PID:
		return add_pids(env, arg, what);
	case OPT_EXE:
		if (!*arg)
			BAD("%s: empty GLOB (e.g. nginx, 'python3*' or '/usr/sbin/*')", what);
		return add_str(env->exes, &env->nexes, ENV_MAX_GLOBS, arg, what);
	case OPT_CGROUP:
		if (arg[0] != '/')
			BAD("%s: '%s' is not an absolute path (e.g. /sys/fs/cgroup/system.slice/nginx.service)", what,
			    arg);
		return add_str(env->cgroups, &env->ncgroups, ENV_MAX_GLOBS, arg, what);
	case OPT_PORT:
		if (optval_long(arg, &l) || l < 1 || l > 65535)
			BAD("%s: '%s' is not a TCP port (1-65535)", what, arg);
		if (env->nports == ENV_MAX_GLOBS)
			BAD("%s: more than %d given", what, ENV_MAX_GLOBS);
		env->ports[env->nports++] = (int)l;
		return 0;
	case OPT_BINARY:
		return set_str(&env->binary, arg, what);
	case OPT_FUNC:
		if ((why = optval_func(arg)))
			BAD("%s: '%s' %s", what, arg, why);
		return add_str(env->funcs, &env->nfuncs, ENV_MAX_GLOBS, arg, what);
	case OPT_KFUNC:
		if (!*arg || strpbrk(arg, ":/ \t\r\n"))
			BAD("%s: '%s' is not a kernel function GLOB (e.g. 'vfs_*' or 'tcp_sendmsg')", what, arg);
		return add_str(env->kfuncs, &env->nkfuncs, ENV_MAX_GLOBS, arg, what);
	case OPT_LISTEN:
		if ((why = optval_listen(arg, host, sizeof(host), &port)))
			BAD("%s: '%s' %s", what, arg, why);
		snprintf(env->listen_host, sizeof(env->listen_host), "%s", host);
		env->listen_port = port;
		return 0;
	case OPT_SERVICE:
		for (const char *c = arg; *c; c++)
			if (iscntrl((unsigned char)*c))
				BAD("%s: the name has a control character", what);
		return set_str(&env->service, arg, what);
	case OPT_OTLP_ENDPOINT:
		if ((why = url__check(arg)))
			BAD("%s: '%s' %s", what, arg, why);
		set_str(&env->otlp_endpoint, arg, what);
		for (size_t n = strlen(env->otlp_endpoint); n > 0 && env->otlp_endpoint[n - 1] == '/'; n--)
			env->otlp_endpoint[n - 1] = '\0'; /* "/v1/traces" is appended */
		return 0;
	case OPT_OTLP_PROTOCOL:
		if (strcmp(arg, "http/protobuf") && strcmp(arg, "http/json") && strcmp(arg, "grpc"))
			BAD("%s: '%s' is not http/protobuf, http/json or grpc", what, arg);
		env->otlp_json = !strcmp(arg, "http/json");
		env->otlp_grpc = !strcmp(arg, "grpc");
		return 0;
	case OPT_OTLP_HEADER:
		if ((why = optval_header(arg))) /* the value may be a secret: never echo it */
			BAD("%s: '%.*s...' %s", what, (int)strcspn(arg, "= "), arg, why);
		return add_str(env->otlp_headers, &env->notlp_headers, ENV_MAX_HEADERS, arg, what);
	case OPT_OTLP_TIMEOUT:
		if (optval_long(arg, &l) || l <= 0 || l > 3600000)
			BAD("%s: '%s' is not a whole number of milliseconds from 1 to 3600000 (e.g. 10000)", what, arg);
		env->otlp_timeout_ms = (int)l;
		return 0;
	case OPT_OTLP_COMPRESSION:
		if (strcmp(arg, "gzip") && strcmp(arg, "none"))
			BAD("%s: '%s' is not gzip or none", what, arg);
		env->otlp_no_gzip = !strcmp(arg, "none");
		return 0;
	case OPT_OTLP_METRICS_INTERVAL:
		if (optval_long(arg, &l) || l < 100 || l > 86400000)
			BAD("%s: '%s' is not a whole number of milliseconds from 100 to 86400000 (e.g. 60000)", what,
			    arg);
		env->otlp_metrics_interval_ms = (int)l;
		return 0;
	case OPT_SERVICE_INSTANCE_ID:
		if (!*arg || strlen(arg) > EXPORTER_INSTANCE_ID_MAX || !printable_id(arg))
			BAD("%s: '%s' is not 1 to %d printable ASCII characters (no space, quote or backslash)", what,
			    arg, EXPORTER_INSTANCE_ID_MAX);
		return set_str(&env->service_instance_id, arg, what);
	case OPT_SPANS_FILE:
		return set_str(&env->spans_file, arg, what);
	case OPT_LOG_FILE:
		return set_str(&env->log_file, arg, what);
	case OPT_USER:
		if (!*arg)
			BAD("%s: empty user name", what);
		return set_str(&env->run_user, arg, what);
	case OPT_WEB_CONFIG:
		return set_str(&env->web_config, arg, what);
	case OPT_METRICS_AUTH:
		return set_str(&env->metrics_auth, arg, what);
	case OPT_TLS_CERT:
		return set_str(&env->tls_cert, arg, what);
	case OPT_TLS_KEY:
		return set_str(&env->tls_key, arg, what);
	case OPT_SAMPLE_RATIO:
		if (optval_double(arg, &d) || d < 0 || d > 1)
			BAD("%s: '%s' is not a number from 0 to 1 (e.g. 0.1 keeps one trace in ten)", what, arg);
		env->sample_ratio = d;
		return 0;
	case OPT_MAX_SPS:
		if (optval_long(arg, &l) || l <= 0)
			BAD("%s: '%s' is not a positive whole number (e.g. 1000)", what, arg);
		env->max_spans_per_second = l;
		return 0;
	case OPT_MAX_SERIES:
		if (optval_long(arg, &l) || l <= 0 || l > 10000000)
			BAD("%s: '%s' is not a whole number from 1 to 10000000", what, arg);
		env->max_series = (int)l;
		return 0;
	case OPT_PAYLOAD_RING_MB:
		if (optval_long(arg, &l) || l < 1 || l > 1024 || (l & (l - 1)))
			BAD("%s: '%s' is not a power of two from 1 to 1024 (e.g. 4)", what, arg);
		env->payload_ring_mb = (int)l;
		return 0;
	case OPT_MAX_OVERHEAD:
		if (optval_double(arg, &d) || !(d > 0) || d > 100)
			BAD("%s: '%s' is not a percentage above 0 and at most 100 (e.g. 5)", what, arg);
		env->max_overhead = d;
		return 0;
	case OPT_MAX_CONTAINERS:
	case OPT_MAX_SERVICES:
	case OPT_MAX_SEGS_PER_UID:
	case OPT_MAX_REJECTED:
		if (optval_long(arg, &l) || l <= 0 || l > 10000000)
			BAD("%s: '%s' is not a whole number from 1 to 10000000", what, arg);
		if (val == OPT_MAX_CONTAINERS) {
			env->max_containers = (int)l;
			env->max_containers_set = true;
		} else if (val == OPT_MAX_SERVICES)
			env->max_services = (int)l;
		else if (val == OPT_MAX_SEGS_PER_UID)
			env->max_segments_per_uid = (int)l;
		else
			env->max_rejected_segments = (int)l;
		return 0;
	case OPT_BUCKETS:
		if (hist_bounds__parse(&env->bounds, arg, err, sizeof(err)))
			BAD("%s: %s (e.g. 0.001,0.01,0.1,1)", what, err);
		return 0;
	case OPT_DURATION:
		if (optval_double(arg, &d) || d <= 0 || d > 1e9)
			BAD("%s: '%s' is not a positive number of seconds (e.g. 30 or 0.5)", what, arg);
		env->duration = d;
		return 0;
	case OPT_PUSHGATEWAY:
		if ((why = url__check(arg)))
			BAD("%s: '%s' %s", what, arg, why);
		return set_str(&env->pushgateway, arg, what);
	case OPT_PUSH_JOB:
		for (const char *c = arg; *c; c++)
			if (iscntrl((unsigned char)*c))
				BAD("%s: the name has a control character", what);
		return set_str(&env->push_job, arg, what);
	case OPT_PUSH_INTERVAL:
		if (optval_double(arg, &d) || d < 0.1 || d > 86400)
			BAD("%s: '%s' is not a number of seconds from 0.1 to 86400 (e.g. 30)", what, arg);
		env->push_interval = d;
		return 0;
	case OPT_REDACT: {
		regex_t re;
		int rc = regcomp(&re, arg, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			regerror(rc, &re, err, sizeof(err));
			BAD("%s: '%s' is not an extended regular expression: %s", what, arg, err);
		}
		regfree(&re);
		return add_str(env->redact_patterns, &env->nredact_patterns, ENV_MAX_PATTERNS, arg, what);
	}
	}
	if (!options__by_val(val)->has_arg) {
		options__set_flag(env, val, true);
		return 0;
	}
	BAD("%s: cannot be set here", what);
}
