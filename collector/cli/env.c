/* env.c -- command line, --config JSON file and environment into one struct env; nothing else parses them */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/env.h"
#include "base/log.h"
#include "cli/optval.h"
#include "export/url.h"
#include "export/webconfig.h"

#define CONFIG_MAX_BYTES (1 << 20)

/* the commands an option applies to */
#define C_ATTACH (1u << CMD_ATTACH)
#define C_RUN (1u << CMD_RUN)
#define C_SERVE (1u << CMD_SERVE)
#define C_SYMBOLS (1u << CMD_SYMBOLS)
#define C_TRACE (C_ATTACH | C_RUN | C_SERVE)
#define C_PROBE (C_ATTACH | C_RUN) /* serve reads the shim only: no probes */
#define C_ALL (~0u)

enum {
	OPT_PID = 0x100, OPT_BINARY, OPT_FUNC, OPT_KFUNC, OPT_NO_SYSCALLS, OPT_NO_NET, OPT_NO_HTTP, OPT_NO_LOGS,
	OPT_LISTEN, OPT_SERVICE, OPT_OTLP_ENDPOINT, OPT_OTLP_PROTOCOL, OPT_OTLP_HEADER, OPT_OTLP_TIMEOUT, OPT_SPANS_FILE,
	OPT_LOG_FILE, OPT_SAMPLE_RATIO, OPT_MAX_SPS, OPT_MAX_SERIES, OPT_BUCKETS, OPT_DURATION, OPT_METRICS_AUTH,
	OPT_TLS_CERT, OPT_TLS_KEY, OPT_PRELOAD, OPT_NO_FOLLOW, OPT_CONFIG, OPT_QUIET, OPT_VERBOSE, OPT_HELP,
	OPT_VERSION, OPT_USER, OPT_WEB_CONFIG,
	OPT_MAX_SERVICES, OPT_MAX_SEGS_PER_UID, OPT_MAX_REJECTED,
	OPT_REDACT, /* config file only */
};

struct optdef {
	const char *name; /* long name; the config key is the same with '_' or '-' */
	int has_arg;
	int val;
	unsigned cmds;	  /* commands it applies to */
	const char *arg;  /* help: "--name ARG" */
	const char *help; /* help text, '\n' continues on an indented line */
};

static const struct optdef opts[] = {
	{ "pid", 1, OPT_PID, C_ATTACH | C_SYMBOLS, "PID", "the target process (attach: repeatable, or PID,PID,...)" },
	{ "binary", 1, OPT_BINARY, C_SYMBOLS, "PATH", "executable or library whose functions to list" },
	{ "func", 1, OPT_FUNC, C_PROBE, "[OBJ:]GLOB",
	  "trace these functions' latency; OBJ is the binary, a library name\n"
	  "or a path (libc.so.6:malloc, libssl.so.3:SSL_*); repeatable" },
	{ "kfunc", 1, OPT_KFUNC, C_PROBE, "GLOB", "kernel function latency (fentry/fexit, else kprobes); repeatable" },
	{ "no-syscalls", 0, OPT_NO_SYSCALLS, C_TRACE, NULL, "do not capture syscalls" },
	{ "no-net", 0, OPT_NO_NET, C_TRACE, NULL, "do not capture socket I/O" },
	{ "no-http", 0, OPT_NO_HTTP, C_TRACE, NULL, "do not parse HTTP (no HTTP metrics, no spans)" },
	{ "no-logs", 0, OPT_NO_LOGS, C_TRACE, NULL, "do not turn stdout/stderr lines into log records" },
	{ "listen", 1, OPT_LISTEN, C_TRACE, "ADDR:PORT",
	  "metrics/health HTTP server (default 127.0.0.1:9464); ':PORT' is\n"
	  "127.0.0.1, 0.0.0.0:PORT every interface, [::1]:PORT IPv6" },
	{ "service", 1, OPT_SERVICE, C_TRACE, "NAME", "'service' label and service.name (default: the target's comm)" },
	{ "otlp-endpoint", 1, OPT_OTLP_ENDPOINT, C_TRACE, "URL",
	  "OTLP/HTTP base URL, e.g. http://127.0.0.1:4318 (default\n$OTEL_EXPORTER_OTLP_ENDPOINT, else no export)" },
	{ "otlp-protocol", 1, OPT_OTLP_PROTOCOL, C_TRACE, "P", "http/protobuf (default) or http/json" },
	{ "otlp-header", 1, OPT_OTLP_HEADER, C_TRACE, "K=V", "extra header on every export (auth); repeatable" },
	{ "otlp-timeout", 1, OPT_OTLP_TIMEOUT, C_TRACE, "MS",
	  "one export request's time limit in ms (default 10000,\n$OTEL_EXPORTER_OTLP_TIMEOUT); slower is a failed try" },
	{ "spans-file", 1, OPT_SPANS_FILE, C_TRACE, "PATH", "also write each finished span as one JSON line" },
	{ "log-file", 1, OPT_LOG_FILE, C_TRACE, "PATH", "write trace-tagged log records as JSON lines ('-' = stdout)" },
	{ "sample-ratio", 1, OPT_SAMPLE_RATIO, C_TRACE, "R", "head sampling of new traces, 0..1 (default 1)" },
	{ "max-spans-per-second", 1, OPT_MAX_SPS, C_TRACE, "N", "cap on exported spans (default 10000)" },
	{ "max-series", 1, OPT_MAX_SERIES, C_TRACE, "N",
	  "series per metric family before new ones fold into __overflow__\n(default 2000)" },
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
	{ "preload", 0, OPT_PRELOAD, C_PROBE, NULL, "use the LD_PRELOAD shim instead of eBPF (attach: the target runs\nwith it already)" },
	{ "user", 1, OPT_USER, C_RUN, "NAME", "run CMD as this user, with its groups (obsprobe stays root to trace it)" },
	{ "no-follow-children", 0, OPT_NO_FOLLOW, C_TRACE, NULL, "do not trace forked/exec'd children" },
	{ "config", 1, OPT_CONFIG, C_ALL, "FILE",
	  "options as a JSON object whose keys are the long option names\n"
	  "(\"no_syscalls\": true, \"func\": [...]); flags win over the file" },
	{ "quiet", 0, OPT_QUIET, C_ALL, NULL, "no start line, no exit summary" },
	{ "verbose", 0, OPT_VERBOSE, C_ALL, NULL, "more detail; -vv adds libbpf's debug output" },
	{ "help", 0, OPT_HELP, C_ALL, NULL, "this help; obsprobe COMMAND --help for one command" },
	{ "version", 0, OPT_VERSION, C_ALL, NULL, NULL },
	{ "redact-patterns", 1, OPT_REDACT, 0, NULL, NULL },
};
#define NOPTS ((int)(sizeof(opts) / sizeof(opts[0])))
_Static_assert(sizeof(opts) / sizeof(opts[0]) <= 64, "option sets are 64-bit masks");

static const char *const cmd_names[] = {
	[CMD_NONE] = "obsprobe", [CMD_ATTACH] = "attach", [CMD_RUN] = "run",	   [CMD_SERVE] = "serve",
	[CMD_SYMBOLS] = "symbols", [CMD_CHECK] = "check",   [CMD_VERSION] = "version", [CMD_HELP] = "help",
};

static const struct optdef *opt_by_val(int val)
{
	for (int i = 0; i < NOPTS; i++)
		if (opts[i].val == val)
			return &opts[i];
	return NULL;
}

/* the bit of an option in a set of options */
static uint64_t bit_of(int val)
{
	const struct optdef *o = opt_by_val(val);

	return o ? 1ull << (o - opts) : 0;
}

/* ---- usage ------------------------------------------------------------------ */

static const char *const synopsis[] = {
	[CMD_ATTACH] = "obsprobe attach --pid PID [--pid PID...] [options]",
	[CMD_RUN] = "obsprobe run [options] -- CMD [ARG...]",
	[CMD_SERVE] = "obsprobe serve [options]",
	[CMD_SYMBOLS] = "obsprobe symbols (--pid PID | --binary PATH) [GLOB]",
	[CMD_CHECK] = "obsprobe check",
	[CMD_VERSION] = "obsprobe version",
	[CMD_HELP] = "obsprobe help [COMMAND]",
};

/* the first line is the summary in `obsprobe --help` */
static const char *const about[] = {
	[CMD_ATTACH] = "trace running processes (and, by default, their children)\n"
		       "until SIGINT/SIGTERM or --duration; after the targets exit, the last values stay served",
	[CMD_RUN] = "start CMD traced (eBPF when root, else the LD_PRELOAD shim)\n"
		    "and exit with CMD's exit status (128+N if signal N killed it); --preload forces the shim",
	[CMD_SERVE] = "collector for processes running with libobsshim.so\n"
		      "(LD_PRELOAD=.../libobsshim.so CMD, or obsprobe run --preload); needs no root",
	[CMD_SYMBOLS] = "list the functions --func can trace\n"
			"in the binary PATH, or in the executable and libraries of process PID",
	[CMD_CHECK] = "which capture paths and kernel features work here\n"
		      "(BTF, tracepoints, uprobes, fentry, kprobes, the shim) and why not",
	[CMD_VERSION] = "print the version",
	[CMD_HELP] = "this text, or one command's",
};

static const char *const examples[] = {
	[CMD_ATTACH] = "  sudo obsprobe attach --pid $(pgrep -o nginx) --func 'ngx_http_*'\n"
		       "  sudo obsprobe attach --pid 812 --func 'libc.so.6:malloc' --duration 30\n"
		       "  curl -s http://127.0.0.1:9464/metrics\n",
	[CMD_RUN] = "  sudo obsprobe run --func 'handle_*' -- ./server 8080\n"
		    "  obsprobe run --preload -- python3 -m http.server 8000\n"
		    "  obsprobe run --preload --otlp-endpoint http://127.0.0.1:4318 -- ./app\n",
	[CMD_SERVE] = "  LD_PRELOAD=/usr/local/lib/obsprobe/libobsshim.so ./app &\n"
		      "  obsprobe serve --listen 127.0.0.1:9464\n",
	[CMD_SYMBOLS] = "  obsprobe symbols --binary /usr/sbin/nginx 'ngx_http_*'\n"
			"  sudo obsprobe symbols --pid 812 'handle_*'\n",
	[CMD_CHECK] = "  sudo obsprobe check\n",
	[CMD_VERSION] = "  obsprobe version\n",
	[CMD_HELP] = "  obsprobe help attach\n",
};

static void print_opts(FILE *out, unsigned cmds)
{
	for (int i = 0; i < NOPTS; i++) {
		const struct optdef *o = &opts[i];
		char left[64];
		const char *h;

		if (!o->help || !(o->cmds & cmds))
			continue;
		snprintf(left, sizeof(left), "%s--%s%s%s", o->val == OPT_QUIET ? "-q, " : o->val == OPT_VERBOSE ? "-v, " :
			 o->val == OPT_HELP ? "-h, " : "", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-26s", left);
		for (h = o->help; *h; h++) {
			fputc(*h, out);
			if (*h == '\n')
				fprintf(out, "  %-26s", "");
		}
		fputc('\n', out);
	}
}

void env__usage(FILE *out, enum command cmd)
{
	if (cmd > CMD_NONE && cmd < CMD_HELP) {
		fprintf(out, "usage: %s\n\n%s\n", synopsis[cmd], about[cmd]);
		if (cmd != CMD_VERSION) {
			fprintf(out, "\noptions:\n");
			print_opts(out, 1u << cmd);
		}
		fprintf(out, "\nexamples:\n%s", examples[cmd]);
		return;
	}
	fprintf(out, "obsprobe -- metrics, traces and trace-tagged logs for unmodified Linux programs\n\nusage:\n");
	for (int c = CMD_ATTACH; c <= CMD_HELP; c++) {
		const char *nl = strchr(about[c], '\n');

		fprintf(out, "  %s\n      %.*s\n", synopsis[c], nl ? (int)(nl - about[c]) : (int)strlen(about[c]),
			about[c]);
	}
	fprintf(out, "\noptions (obsprobe COMMAND --help: which apply; the long names are --config file keys):\n");
	print_opts(out, C_TRACE);
	fprintf(out,
		"\nenvironment:\n"
		"  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS,\n"
		"  OTEL_EXPORTER_OTLP_TIMEOUT  defaults for --otlp-endpoint, --otlp-protocol, --otlp-header,\n"
		"                              --otlp-timeout\n"
		"  OBSPROBE_RUNTIME_DIR        where shim segments live (default /dev/shm)\n"
		"\nexit status: 0 ok, 1 failure, 2 usage error; run: CMD's exit status\n"
		"\nexamples:\n%s%s%s%s",
		examples[CMD_ATTACH], examples[CMD_RUN], examples[CMD_SYMBOLS],
		"  echo '{\"func\": [\"handle_*\"], \"no_syscalls\": true}' > o.json\n"
		"  sudo obsprobe attach --pid 812 --config o.json\n");
}

#define BAD(...)                   \
	do {                       \
		elog(__VA_ARGS__); \
		return 2;          \
	} while (0)

/* ---- applying one value ------------------------------------------------------- */

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
static void set_flag(struct env *env, int val, bool on)
{
	switch (val) {
	case OPT_NO_SYSCALLS: env->no_syscalls = on; break;
	case OPT_NO_NET: env->no_net = on; break;
	case OPT_NO_HTTP: env->no_http = on; break;
	case OPT_NO_LOGS: env->no_logs = on; break;
	case OPT_PRELOAD: env->preload = on; break;
	case OPT_NO_FOLLOW: env->follow_children = !on; break;
	case OPT_QUIET: env->quiet = on; break;
	case OPT_VERBOSE: env->verbose = on ? env->verbose + 1 : 0; break;
	}
}

/* one option value, from a flag or the config file; @what names it in messages */
static int apply(struct env *env, int val, const char *arg, const char *what)
{
	char err[256], host[sizeof(env->listen_host)];
	const char *why;
	int port;
	double d;
	long l;

	switch (val) {
	case OPT_PID:
		return add_pids(env, arg, what);
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
		if (!strcmp(arg, "grpc"))
			BAD("%s: 'grpc' is not supported (obsprobe exports OTLP/HTTP: http/protobuf or http/json)", what);
		if (strcmp(arg, "http/protobuf") && strcmp(arg, "http/json"))
			BAD("%s: '%s' is not http/protobuf or http/json", what, arg);
		env->otlp_json = !strcmp(arg, "http/json");
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
	case OPT_MAX_SERVICES:
	case OPT_MAX_SEGS_PER_UID:
	case OPT_MAX_REJECTED:
		if (optval_long(arg, &l) || l <= 0 || l > 10000000)
			BAD("%s: '%s' is not a whole number from 1 to 10000000", what, arg);
		if (val == OPT_MAX_SERVICES)
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
	if (!opt_by_val(val)->has_arg) {
		set_flag(env, val, true);
		return 0;
	}
	BAD("%s: cannot be set here", what);
}

/* ---- the --config file --------------------------------------------------------- */

static const struct optdef *opt_by_key(const char *key)
{
	char name[64];

	snprintf(name, sizeof(name), "%s", key);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	for (int i = 0; i < NOPTS; i++)
		if (!strcmp(opts[i].name, name))
			return opts[i].val == OPT_CONFIG || opts[i].val == OPT_HELP || opts[i].val == OPT_VERSION ?
				       NULL : &opts[i];
	return NULL;
}

static bool is_list(int val)
{
	return val == OPT_PID || val == OPT_FUNC || val == OPT_KFUNC || val == OPT_OTLP_HEADER || val == OPT_REDACT;
}

/* a scalar JSON value as the text a flag would carry */
static int scalar_text(const cJSON *v, char *buf, size_t len, const char **out)
{
	if (cJSON_IsString(v)) {
		*out = v->valuestring;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		snprintf(buf, len, "%.15g", v->valuedouble);
		*out = buf;
		return 0;
	}
	return -1;
}

static int config_item(struct env *env, const struct optdef *o, const cJSON *v, const char *what)
{
	char buf[64], list[2048];
	const char *text;
	const cJSON *e;
	int rc;

	if (!o->has_arg) {
		if (o->val == OPT_VERBOSE && cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9 &&
		    v->valuedouble == (int)v->valuedouble) {
			env->verbose = (int)v->valuedouble;
			return 0;
		}
		if (!cJSON_IsBool(v))
			BAD("%s: expected true or false", what);
		set_flag(env, o->val, cJSON_IsTrue(v));
		return 0;
	}
	if (o->val == OPT_BUCKETS && cJSON_IsArray(v)) { /* [0.001, 0.01] */
		list[0] = '\0';
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsNumber(e))
				BAD("%s: expected a list of numbers of seconds, e.g. [0.001, 0.01, 0.1]", what);
			snprintf(buf, sizeof(buf), "%s%.15g", list[0] ? "," : "", e->valuedouble);
			if (strlen(list) + strlen(buf) >= sizeof(list))
				BAD("%s: too many boundaries", what);
			strcat(list, buf);
		}
		return apply(env, o->val, list, what);
	}
	if (is_list(o->val) && cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v) {
			if (scalar_text(e, buf, sizeof(buf), &text))
				BAD("%s: expected a list of strings", what);
			if ((rc = apply(env, o->val, text, what)))
				return rc;
		}
		return 0;
	}
	if (scalar_text(v, buf, sizeof(buf), &text))
		BAD("%s: expected a %s", what, is_list(o->val) ? "string or a list of strings" : "string or number");
	return apply(env, o->val, text, what);
}

/* the file's text, NUL-terminated, or NULL with errno set */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *text = f ? malloc(CONFIG_MAX_BYTES + 1) : NULL;
	int err = f ? 0 : errno;

	if (text) {
		errno = 0;
		*len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
		err = ferror(f) ? (errno ? errno : EIO) : *len > CONFIG_MAX_BYTES ? EFBIG : 0;
	} else if (f) {
		err = ENOMEM;
	}
	if (f)
		fclose(f);
	if (err) {
		free(text);
		errno = err;
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

/* the JSON object of the file into @root; returns 0 or 2 */
static int config_parse(const char *path, const char *text, size_t len, cJSON **root)
{
	const char *end = NULL, *at;
	size_t off;
	int line = 1;

	if (strlen(text) != len)
		BAD("--config: '%s' is not JSON text: it has a NUL byte at byte %zu", path, strlen(text));
	*root = cJSON_ParseWithOpts(text, &end, 1);
	if (!*root) {
		at = cJSON_GetErrorPtr();
		off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
		for (size_t i = 0; i < off; i++)
			line += text[i] == '\n';
		BAD("--config: '%s' is not valid JSON (line %d, byte %zu)", path, line, off);
	}
	if (!cJSON_IsObject(*root))
		BAD("--config: '%s' is not a JSON object (expected {\"func\": [\"handle_*\"], ...})", path);
	return 0;
}

/* apply the keys of options that apply to @env->cmd, noting them in @set; returns 0 or 2 */
static int config_apply(struct env *env, const cJSON *root, const char *path, uint64_t *set)
{
	const cJSON *item;
	uint64_t seen = 0, bit;
	char what[512];
	int rc;

	cJSON_ArrayForEach(item, root) {
		const struct optdef *o = opt_by_key(item->string);

		if (!o)
			BAD("--config: unknown key \"%s\" in '%s' (keys are long option names, e.g. \"func\", \"listen\")",
			    item->string, path);
		bit = 1ull << (o - opts);
		if (seen & bit)
			BAD("--config: \"%s\" is given twice in '%s'", o->name, path);
		seen |= bit;
		if (o->cmds && !(o->cmds & (1u << env->cmd)))
			continue; /* a file shared by several commands */
		snprintf(what, sizeof(what), "--config %s: \"%s\"", path, item->string);
		if ((rc = config_item(env, o, item, what)))
			return rc;
		*set |= bit;
	}
	return 0;
}

/* a --config file's text; returns 0 or 2 */
static int config_text(struct env *env, const char *path, const char *text, size_t len, uint64_t *set)
{
	cJSON *root = NULL;
	int rc = config_parse(path, text, len, &root);

	if (!rc)
		rc = config_apply(env, root, path, set);
	cJSON_Delete(root);
	return rc;
}

int env__config_text(struct env *env, const char *name, const char *text, size_t len)
{
	uint64_t set = 0;

	return config_text(env, name, text, len, &set);
}

/* the --config file; returns 0, 1 (cannot read it) or 2 (not a valid options file) */
static int load_config(struct env *env, const char *path, uint64_t *set)
{
	size_t len = 0;
	char *text = read_file(path, &len);
	int rc;

	if (!text) {
		elog("--config: cannot read '%s': %s", path,
		     errno == EFBIG ? "larger than 1 MiB (is it the right file?)" : strerror(errno));
		return 1;
	}
	rc = config_text(env, path, text, len, set);
	free(text);
	return rc;
}

/* ---- the command line ------------------------------------------------------------ */

static void free_list(char **list, int *n)
{
	for (int i = 0; i < *n; i++)
		free(list[i]);
	*n = 0;
}

static void env_defaults(struct env *env)
{
	char err[128];
	const char *rt = getenv("OBSPROBE_RUNTIME_DIR");

	memset(env, 0, sizeof(*env));
	snprintf(env->listen_host, sizeof(env->listen_host), "127.0.0.1");
	env->listen_port = 9464;
	env->sample_ratio = 1.0;
	env->max_spans_per_second = 10000;
	env->max_series = 2000;
	env->max_services = 256;
	env->max_segments_per_uid = 4096;
	env->max_rejected_segments = 65536;
	env->follow_children = true;
	hist_bounds__parse(&env->bounds, OBS_DEFAULT_BUCKETS, err, sizeof(err));
	env->runtime_dir = strdup(rt && *rt ? rt : "/dev/shm");
}

/* OTEL_EXPORTER_OTLP_{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT} for what neither flags nor the file set (@set) */
static int env_otel(struct env *env, uint64_t set)
{
	const char *ep = getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), *proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	const char *hdrs = getenv("OTEL_EXPORTER_OTLP_HEADERS"), *tmo = getenv("OTEL_EXPORTER_OTLP_TIMEOUT");
	char h[1024];
	int rc;

	if (!(set & bit_of(OPT_OTLP_ENDPOINT)) && ep && *ep &&
	    (rc = apply(env, OPT_OTLP_ENDPOINT, ep, "$OTEL_EXPORTER_OTLP_ENDPOINT")))
		return rc;
	if (!env->otlp_endpoint)
		return 0; /* no export: the others do not matter */
	if (!(set & bit_of(OPT_OTLP_PROTOCOL)) && proto && *proto &&
	    (rc = apply(env, OPT_OTLP_PROTOCOL, proto, "$OTEL_EXPORTER_OTLP_PROTOCOL")))
		return rc;
	if (!(set & bit_of(OPT_OTLP_TIMEOUT)) && tmo && *tmo &&
	    (rc = apply(env, OPT_OTLP_TIMEOUT, tmo, "$OTEL_EXPORTER_OTLP_TIMEOUT")))
		return rc;
	if (set & bit_of(OPT_OTLP_HEADER) || !hdrs)
		return 0;
	for (const char *p = hdrs; *p; p += *p == ',') {
		size_t n = strcspn(p, ",");

		optval_otel_header(p, n, h, sizeof(h));
		p += n;
		if (h[0] && (rc = apply(env, OPT_OTLP_HEADER, h, "$OTEL_EXPORTER_OTLP_HEADERS")))
			return rc;
	}
	return 0;
}

/* a command-line option getopt could not take: say which and why.  @ind is
 * getopt's optind after the failed call, @opt_ its optopt. */
static void bad_option(char *const *av, int ac, int ind, int opt_, bool missing, const char *cmd)
{
	const char *elem = ind > 0 && ind <= ac ? av[ind - 1] : "";
	const struct optdef *o;
	char name[64];
	int n = 0;

	o = opt_by_val(opt_); /* a long option (-q/-v/-h never fail) */
	if (o && missing) {
		elog("%s: --%s needs a value (see obsprobe %s --help)", cmd, o->name, cmd);
		return;
	}
	if (o && !strncmp(elem, "--", 2)) {
		elog("%s: --%s takes no value (see obsprobe %s --help)", cmd, o->name, cmd);
		return;
	}
	if (opt_) { /* a short option; "-pid" is probably "--pid" */
		for (int i = ind - 1; i <= ind && i < ac; i++) {
			if (i >= 0 && av[i][0] == '-' && av[i][1] != '-' && opt_by_key(av[i] + 1)) {
				elog("unknown option '%s' (long options take two dashes: '-%s')", av[i], av[i]);
				return;
			}
		}
		elog("unknown option '-%c' (see obsprobe --help)", opt_);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(elem, "="), elem);
	for (int i = 0; i < NOPTS; i++)
		n += opts[i].cmds && strlen(name) > 2 && !strncmp(opts[i].name, name + 2, strlen(name + 2));
	if (n > 1)
		elog("option '%s' is ambiguous (see obsprobe %s --help)", name, cmd);
	else
		elog("unknown option '%s' (see obsprobe --help)", name);
}

static enum command command_by_name(const char *s)
{
	for (int c = CMD_ATTACH; c <= CMD_HELP; c++)
		if (!strcmp(s, cmd_names[c]))
			return c;
	return CMD_NONE;
}

struct flag {
	int val;
	const char *arg;
};

/* argv[1]: a command, or help/--help/-h/--version; returns 0 to go on, 1 when done, or 2 */
static int parse_command(struct env *env, int ac, char **av)
{
	if (ac < 1)
		BAD("no command (usage: obsprobe attach|run|serve|symbols|check|version ...; see obsprobe --help)");
	if (!strcmp(av[0], "--help") || !strcmp(av[0], "-h") || !strcmp(av[0], "help")) {
		env->cmd = CMD_HELP;
		if (ac > 1 && !strcmp(av[0], "help") && (env->help_cmd = command_by_name(av[1])) == CMD_NONE)
			BAD("help: unknown command '%s' (commands: attach, run, serve, symbols, check, version)", av[1]);
		return 1;
	}
	if (!strcmp(av[0], "--version")) {
		env->cmd = CMD_VERSION;
		return 1;
	}
	env->cmd = command_by_name(av[0]);
	if (env->cmd == CMD_NONE && av[0][0] == '-')
		BAD("no command before '%s' (usage: obsprobe attach --pid PID [options]; see obsprobe --help)", av[0]);
	if (env->cmd == CMD_NONE)
		BAD("unknown command '%s' (commands: attach, run, serve, symbols, check, version; see obsprobe --help)",
		    av[0]);
	return 0;
}

/* the first pass: every flag into @flags, the --config file into @config and the
 * index of the first positional argument into @ind; returns 0, 1 (--help/--version) or 2 */
static int collect_flags(struct env *env, int ac, char **av, struct flag *flags, int *nflags, const char **config,
			 int *ind)
{
	const char *cmd = cmd_names[env->cmd];
	struct option lo[NOPTS];
	int opt, nconfig = 0;

	for (int i = 0; i < NOPTS - 1; i++) /* all but redact-patterns: file only */
		lo[i] = (struct option){ opts[i].name, opts[i].has_arg ? required_argument : no_argument, NULL,
					 opts[i].val };
	lo[NOPTS - 1] = (struct option){ 0 };
	opterr = 0;
	optind = 0; /* a full reset: env__parse may run more than once */
	/* run: options end at CMD; elsewhere they may follow the positional arguments */
	while ((opt = getopt_long(ac, av, env->cmd == CMD_RUN ? "+:hqv" : ":hqv", lo, NULL)) != -1) {
		const struct optdef *o;

		if (opt == '?' || opt == ':') {
			bad_option(av, ac, optind, optopt, opt == ':', cmd);
			return 2;
		}
		opt = opt == 'h' ? OPT_HELP : opt == 'q' ? OPT_QUIET : opt == 'v' ? OPT_VERBOSE : opt;
		if (opt == OPT_HELP || opt == OPT_VERSION) {
			env->help_cmd = opt == OPT_HELP ? env->cmd : CMD_NONE;
			env->cmd = opt == OPT_HELP ? CMD_HELP : CMD_VERSION;
			return 1;
		}
		o = opt_by_val(opt);
		if (!(o->cmds & (1u << env->cmd)) && opt == OPT_PID && env->cmd != CMD_SERVE)
			BAD("%s: --pid does not apply (to trace a running process: obsprobe attach --pid PID)", cmd);
		if (!(o->cmds & (1u << env->cmd)))
			BAD("%s: --%s does not apply (see obsprobe %s --help)", cmd, o->name, cmd);
		if (opt == OPT_CONFIG && nconfig++)
			BAD("--config: given more than once (one file; flags override its values)");
		if (opt == OPT_CONFIG)
			*config = optarg;
		else
			flags[(*nflags)++] = (struct flag){ opt, optarg };
	}
	*ind = optind;
	return 0;
}

/* the flags, over what the file set; @set gets the options they set */
static int apply_flags(struct env *env, const struct flag *flags, int nflags, uint64_t *set)
{
	const char *cmd = cmd_names[env->cmd];
	uint64_t given = 0;
	char what[64];
	int rc;

	for (int i = 0; i < nflags; i++) {
		uint64_t bit = bit_of(flags[i].val);

		if (!(given & bit)) { /* a list (or -q/-v) on the command line replaces the file's */
			switch (flags[i].val) {
			case OPT_PID: env->npids = 0; break;
			case OPT_FUNC: free_list(env->funcs, &env->nfuncs); break;
			case OPT_KFUNC: free_list(env->kfuncs, &env->nkfuncs); break;
			case OPT_OTLP_HEADER: free_list(env->otlp_headers, &env->notlp_headers); break;
			case OPT_QUIET:
			case OPT_VERBOSE: env->quiet = false; env->verbose = 0; break;
			}
		}
		given |= bit;
	}
	*set |= given;
	if ((given & bit_of(OPT_QUIET)) && (given & bit_of(OPT_VERBOSE)))
		BAD("%s: -q and -v contradict each other (give one)", cmd);
	for (int i = 0; i < nflags; i++) {
		const struct optdef *o = opt_by_val(flags[i].val);

		snprintf(what, sizeof(what), "%s%s--%s", o->val == OPT_PID ? cmd : "", o->val == OPT_PID ? ": " : "",
			 o->name);
		if ((rc = apply(env, o->val, flags[i].arg ? flags[i].arg : "", what)))
			return rc;
	}
	if (!!env->tls_cert != !!env->tls_key)
		BAD("%s: --tls-cert and --tls-key go together (give both, or neither for plain HTTP)", cmd);
	if (env->web_config && (env->metrics_auth || env->tls_cert))
		BAD("%s: --web-config replaces --%s (put TLS and users in the web config file; give only it)", cmd,
		    env->metrics_auth ? "metrics-auth" : "tls-cert/--tls-key");
	return 0;
}

/* the --web-config file, read now (before any privilege is dropped); 0, 1 (unreadable) or 2 (invalid) */
static int load_web_config(struct env *env)
{
	char err[1024];
	int rc;

	if (!env->web_config)
		return 0;
	rc = webconfig__load(env->web_config, &env->web, err, sizeof(err));
	if (rc)
		elog("--web-config %s: %s", env->web_config, err);
	return rc;
}

/* what each command needs besides options: av[ind..ac) are its positional arguments */
static int check_args(struct env *env, int ac, char **av, int ind)
{
	const char *cmd = cmd_names[env->cmd], *extra = ind < ac ? av[ind] : NULL;
	long pid;

	switch (env->cmd) {
	case CMD_ATTACH:
		if (extra && !optval_long(extra, &pid) && pid > 0)
			BAD("attach: unexpected argument '%s' (give each process its own --pid, e.g. --pid %s)", extra,
			    extra);
		if (extra)
			BAD("attach: unexpected argument '%s' (to start a command: obsprobe run -- CMD)", extra);
		if (!env->npids)
			BAD("attach: which process? give --pid PID (e.g. --pid $(pgrep -o nginx))");
		return 0;
	case CMD_RUN:
		if (!extra)
			BAD("run: no command given (usage: obsprobe run [options] -- CMD [ARG...])");
		env->argv = av + ind;
		env->argc = ac - ind;
		return 0;
	case CMD_SYMBOLS:
		if ((env->npids > 0) == (env->binary != NULL) || env->npids > 1)
			BAD("symbols: give exactly one of --pid PID or --binary PATH "
			    "(e.g. obsprobe symbols --binary /usr/sbin/nginx 'ngx_*')");
		if (extra && !*extra)
			BAD("symbols: empty GLOB (e.g. 'handle_*', or none to list all)");
		if (ind + 1 < ac)
			BAD("symbols: unexpected argument '%s' (one GLOB at most; quote it: 'ngx_*')", av[ind + 1]);
		env->glob = extra ? strdup(extra) : NULL;
		return 0;
	default:
		if (extra)
			BAD("%s: unexpected argument '%s' (see obsprobe %s --help)", cmd, extra, cmd);
		return 0;
	}
}

int env__parse(struct env *env, int argc, char **argv)
{
	int ac = argc - 1, nflags = 0, ind = 0, rc;
	char **av = argv + 1;
	const char *config = NULL;
	struct flag *flags = NULL;
	uint64_t set = 0; /* the options the file or flags set */

	env_defaults(env);
	log_level = LOG_INFO;
	if ((rc = parse_command(env, ac, av)))
		return rc == 1 ? 0 : rc;
	flags = calloc((size_t)argc, sizeof(*flags));
	if (!flags) {
		elog("out of memory");
		return 1;
	}
	/* the file first, so that flags win over it */
	rc = collect_flags(env, ac, av, flags, &nflags, &config, &ind);
	if (rc == 1) {
		rc = 0;
		goto cleanup;
	}
	if (!rc && config && !*config) {
		elog("--config: empty path");
		rc = 2;
	}
	if (!rc && config) {
		env->config_file = strdup(config);
		rc = load_config(env, config, &set);
	}
	if (rc || (rc = apply_flags(env, flags, nflags, &set)) || (rc = check_args(env, ac, av, ind)))
		goto cleanup;
	if (env->cmd == CMD_ATTACH || env->cmd == CMD_RUN || env->cmd == CMD_SERVE) {
		rc = 2;
		if (env->runtime_dir[0] != '/') {
			elog("$OBSPROBE_RUNTIME_DIR: '%s' is not an absolute path (e.g. /dev/shm)", env->runtime_dir);
			goto cleanup;
		}
		if ((rc = env_otel(env, set)) || (rc = load_web_config(env)))
			goto cleanup;
	}
	log_level = env->quiet ? LOG_QUIET : env->verbose >= 2 ? LOG_DEBUG : env->verbose ? LOG_VERBOSE : LOG_INFO;
cleanup:
	free(flags);
	return rc;
}

void env__free(struct env *env)
{
	free_list(env->funcs, &env->nfuncs);
	free_list(env->kfuncs, &env->nkfuncs);
	free_list(env->otlp_headers, &env->notlp_headers);
	free_list(env->redact_patterns, &env->nredact_patterns);
	free(env->service);
	free(env->otlp_endpoint);
	free(env->spans_file);
	free(env->log_file);
	free(env->web_config);
	webconfig__free(env->web);
	free(env->metrics_auth);
	free(env->tls_cert);
	free(env->tls_key);
	free(env->runtime_dir);
	free(env->config_file);
	free(env->binary);
	free(env->glob);
	free(env->run_user);
	memset(env, 0, sizeof(*env));
}
