/* env.c -- command line and --config file into one struct env; nothing else parses argv or the environment */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "env.h"
#include "log.h"

enum {
	OPT_PID = 0x100, OPT_FUNC, OPT_KFUNC, OPT_NO_SYSCALLS, OPT_NO_NET, OPT_NO_HTTP, OPT_NO_LOGS, OPT_LISTEN,
	OPT_SERVICE, OPT_OTLP_ENDPOINT, OPT_OTLP_PROTOCOL, OPT_OTLP_HEADER, OPT_SPANS_FILE, OPT_LOG_FILE,
	OPT_SAMPLE_RATIO, OPT_MAX_SPS, OPT_MAX_SERIES, OPT_BUCKETS, OPT_DURATION, OPT_METRICS_AUTH, OPT_TLS_CERT,
	OPT_TLS_KEY, OPT_PRELOAD, OPT_NO_FOLLOW, OPT_CONFIG, OPT_BINARY, OPT_HELP, OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, OPT_PID },
	{ "func", required_argument, NULL, OPT_FUNC },
	{ "kfunc", required_argument, NULL, OPT_KFUNC },
	{ "no-syscalls", no_argument, NULL, OPT_NO_SYSCALLS },
	{ "no-net", no_argument, NULL, OPT_NO_NET },
	{ "no-http", no_argument, NULL, OPT_NO_HTTP },
	{ "no-logs", no_argument, NULL, OPT_NO_LOGS },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT },
	{ "otlp-protocol", required_argument, NULL, OPT_OTLP_PROTOCOL },
	{ "otlp-header", required_argument, NULL, OPT_OTLP_HEADER },
	{ "spans-file", required_argument, NULL, OPT_SPANS_FILE },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "sample-ratio", required_argument, NULL, OPT_SAMPLE_RATIO },
	{ "max-spans-per-second", required_argument, NULL, OPT_MAX_SPS },
	{ "max-series", required_argument, NULL, OPT_MAX_SERIES },
	{ "buckets", required_argument, NULL, OPT_BUCKETS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "metrics-auth", required_argument, NULL, OPT_METRICS_AUTH },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "preload", no_argument, NULL, OPT_PRELOAD },
	{ "no-follow-children", no_argument, NULL, OPT_NO_FOLLOW },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "binary", required_argument, NULL, OPT_BINARY },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

static const struct {
	const char *name;
	enum command cmd;
} commands[] = {
	{ "attach", CMD_ATTACH }, { "run", CMD_RUN }, { "serve", CMD_SERVE }, { "symbols", CMD_SYMBOLS },
	{ "check", CMD_CHECK }, { "version", CMD_VERSION }, { "help", CMD_HELP },
};

void env__usage(FILE *out, enum command cmd)
{
	(void)cmd;
	fprintf(out,
		"obsprobe -- metrics, traces and logs for unmodified Linux programs\n"
		"\n"
		"usage:\n"
		"  obsprobe attach --pid PID [--pid PID...] [options]   trace running processes and their children\n"
		"  obsprobe run [options] -- CMD [ARG...]          start CMD traced (eBPF as root; the shim with --preload)\n"
		"  obsprobe serve [options]                        collector for processes running with libobsshim.so\n"
		"  obsprobe symbols (--pid PID | --binary PATH) [GLOB]   list the functions --func can trace\n"
		"  obsprobe check                                  which capture paths and kernel features work here\n"
		"  obsprobe version\n"
		"\n"
		"options:\n"
		"  --func [OBJ:]GLOB        trace these functions' latency; OBJ is the binary or a library; repeatable\n"
		"  --kfunc GLOB             kernel function latency (fentry/fexit, else kprobes)\n"
		"  --no-syscalls --no-net --no-http --no-logs   turn a capture off\n"
		"  --listen ADDR:PORT       metrics/health HTTP server (default 127.0.0.1:9464)\n"
		"  --service NAME           the service label (default: the target's comm)\n"
		"  --otlp-endpoint URL      OTLP/HTTP base URL (default $OTEL_EXPORTER_OTLP_ENDPOINT)\n"
		"  --otlp-protocol P        http/protobuf (default) or http/json\n"
		"  --otlp-header K=V        extra header on every export; repeatable\n"
		"  --spans-file PATH        also write each finished span as one JSON line\n"
		"  --log-file PATH          trace-tagged log records as JSON lines (- = stdout)\n"
		"  --sample-ratio R         head sampling of new traces, 0..1 (default 1)\n"
		"  --max-spans-per-second N cap on exported spans (default 10000)\n"
		"  --max-series N           series per metric family before folding into __overflow__ (default 2000)\n"
		"  --buckets LIST           latency histogram boundaries in seconds, e.g. 0.001,0.01,0.1\n"
		"  --duration SEC           stop after SEC seconds\n"
		"  --metrics-auth FILE      require basic auth (user:password) or a bearer token (token:SECRET)\n"
		"  --tls-cert FILE --tls-key FILE   serve HTTPS\n"
		"  --preload                (run) use the shim instead of eBPF\n"
		"  --no-follow-children     do not trace forked/exec'd children\n"
		"  --config FILE            options as a JSON object (keys are the long option names); flags win\n"
		"  -q, --quiet              no start line, no exit summary;  -v more detail (repeat for libbpf debug)\n"
		"\n"
		"examples:\n"
		"  sudo obsprobe attach --pid $(pgrep -o nginx) --func 'ngx_http_*'\n"
		"  sudo obsprobe attach --pid 812 --func 'libc.so.6:malloc' --duration 30\n"
		"  sudo obsprobe run --func 'handle_*' -- ./server 8080\n"
		"  obsprobe run --preload -- python3 -m http.server 8000\n"
		"  obsprobe symbols --binary /usr/sbin/nginx 'ngx_http_*'\n"
		"  curl -s http://127.0.0.1:9464/metrics\n");
}

static void env_defaults(struct env *env)
{
	char err[128];
	const char *rt = getenv("OBSPROBE_RUNTIME_DIR"), *ep = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");

	memset(env, 0, sizeof(*env));
	snprintf(env->listen_host, sizeof(env->listen_host), "127.0.0.1");
	env->listen_port = 9464;
	env->sample_ratio = 1.0;
	env->max_spans_per_second = 10000;
	env->max_series = 2000;
	env->follow_children = true;
	hist_bounds__parse(&env->bounds, HIST_DEFAULT_BUCKETS, err, sizeof(err));
	env->runtime_dir = strdup(rt && *rt ? rt : "/dev/shm");
	if (ep && *ep)
		env->otlp_endpoint = strdup(ep);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static int parse_pid(const char *s, pid_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return -1;
	*out = (pid_t)v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return (errno || end == s || *end) ? -1 : 0;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *end) ? -1 : 0;
}

/* ADDR:PORT, [V6]:PORT, :PORT (loopback), PORT */
static int parse_listen(struct env *env, const char *s)
{
	const char *colon;
	char host[256];
	long port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			if (parse_long(s, &port))
				return -1;
			snprintf(host, sizeof(host), "127.0.0.1");
			colon = s - 1;
		} else {
			snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		}
	}
	if (parse_long(colon + 1, &port) || port < 1 || port > 65535)
		return -1;
	if (!host[0])
		snprintf(host, sizeof(host), "127.0.0.1");
	for (const char *p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:", *p))
			return -1;
	snprintf(env->listen_host, sizeof(env->listen_host), "%s", host);
	env->listen_port = (int)port;
	return 0;
}

static bool is_url(const char *s)
{
	const char *host;

	if (!strncmp(s, "http://", 7))
		host = s + 7;
	else if (!strncmp(s, "https://", 8))
		host = s + 8;
	else
		return false;
	return *host && *host != '/' && *host != ':' && !strpbrk(host, " \t\r\n");
}

#define USAGE(...)                      \
	do {                            \
		elog(__VA_ARGS__);      \
		return 2;               \
	} while (0)

static int add_list(char **list, int *n, int max, const char *v, const char *opt)
{
	if (*n == max)
		USAGE("%s: at most %d may be given", opt, max);
	list[(*n)++] = strdup(v);
	return 0;
}

/* one option, from a flag (@val as given) or the config file (@val converted to text) */
static int apply(struct env *env, int opt, const char *val, const char *name)
{
	char err[256];
	double d;
	long l;

	switch (opt) {
	case OPT_PID:
		if (env->npids == ENV_MAX_PIDS)
			USAGE("--pid: at most %d processes", ENV_MAX_PIDS);
		if (parse_pid(val, &env->pids[env->npids]))
			USAGE("--pid '%s' is not a process id (a positive number, see: pgrep NAME)", val);
		env->npids++;
		return 0;
	case OPT_FUNC:
		if (!*val || !strcmp(val + strlen(val) - 1, ":"))
			USAGE("--func '%s': expected [OBJ:]GLOB, e.g. 'handle_*' or 'libc.so.6:malloc'", val);
		return add_list(env->funcs, &env->nfuncs, ENV_MAX_GLOBS, val, "--func");
	case OPT_KFUNC:
		if (!*val)
			USAGE("--kfunc: empty glob");
		return add_list(env->kfuncs, &env->nkfuncs, ENV_MAX_GLOBS, val, "--kfunc");
	case OPT_NO_SYSCALLS: env->no_syscalls = true; return 0;
	case OPT_NO_NET: env->no_net = true; return 0;
	case OPT_NO_HTTP: env->no_http = true; return 0;
	case OPT_NO_LOGS: env->no_logs = true; return 0;
	case OPT_LISTEN:
		if (parse_listen(env, val))
			USAGE("--listen '%s': expected ADDR:PORT with a port 1-65535, e.g. 127.0.0.1:9464", val);
		return 0;
	case OPT_SERVICE:
		if (!*val)
			USAGE("--service: empty name");
		set_str(&env->service, val);
		return 0;
	case OPT_OTLP_ENDPOINT:
		if (!is_url(val))
			USAGE("--otlp-endpoint: '%s' is not a URL (expected http://host:port)", val);
		set_str(&env->otlp_endpoint, val);
		return 0;
	case OPT_OTLP_PROTOCOL:
		if (strcmp(val, "http/protobuf") && strcmp(val, "http/json"))
			USAGE("--otlp-protocol: '%s' is not http/protobuf or http/json", val);
		env->otlp_json = !strcmp(val, "http/json");
		return 0;
	case OPT_OTLP_HEADER:
		if (!strchr(val, '=') || val[0] == '=')
			USAGE("--otlp-header: '%s' is not KEY=VALUE", val);
		return add_list(env->otlp_headers, &env->notlp_headers, ENV_MAX_HEADERS, val, "--otlp-header");
	case OPT_SPANS_FILE: set_str(&env->spans_file, val); return 0;
	case OPT_LOG_FILE: set_str(&env->log_file, val); return 0;
	case OPT_SAMPLE_RATIO:
		if (parse_double(val, &d) || !(d >= 0 && d <= 1))
			USAGE("--sample-ratio: '%s' is not a number from 0 to 1", val);
		env->sample_ratio = d;
		return 0;
	case OPT_MAX_SPS:
		if (parse_long(val, &l) || l <= 0)
			USAGE("--max-spans-per-second: '%s' is not a positive number", val);
		env->max_spans_per_second = l;
		return 0;
	case OPT_MAX_SERIES:
		if (parse_long(val, &l) || l <= 0 || l > 1000000)
			USAGE("--max-series: '%s' is not a number from 1 to 1000000", val);
		env->max_series = (int)l;
		return 0;
	case OPT_BUCKETS:
		if (hist_bounds__parse(&env->bounds, val, err, sizeof(err)))
			USAGE("--buckets '%s': %s (e.g. --buckets 0.001,0.01,0.1,1)", val, err);
		return 0;
	case OPT_DURATION:
		if (parse_double(val, &d) || !(d > 0) || d > 1e9)
			USAGE("--duration: '%s' is not a positive number of seconds", val);
		env->duration = d;
		return 0;
	case OPT_METRICS_AUTH: set_str(&env->metrics_auth, val); return 0;
	case OPT_TLS_CERT: set_str(&env->tls_cert, val); return 0;
	case OPT_TLS_KEY: set_str(&env->tls_key, val); return 0;
	case OPT_PRELOAD: env->preload = true; return 0;
	case OPT_NO_FOLLOW: env->follow_children = false; return 0;
	case OPT_BINARY: set_str(&env->binary, val); return 0;
	case 'q': env->quiet = true; return 0;
	case 'v': env->verbose++; return 0;
	}
	USAGE("%s: not an option", name);
}

static int opt_by_name(const char *key)
{
	char name[64];

	/* config keys may use '_' or '-' */
	snprintf(name, sizeof(name), "%s", key);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	for (const struct option *o = long_opts; o->name; o++)
		if (!strcmp(o->name, name) && o->val != OPT_CONFIG && o->val != OPT_HELP && o->val != OPT_VERSION)
			return o->val;
	if (!strcmp(name, "redact-patterns"))
		return 1;
	return -1;
}

static int config_value(struct env *env, int opt, const cJSON *v, const char *key)
{
	char buf[64];

	if (cJSON_IsBool(v)) {
		if (cJSON_IsFalse(v)) {
			if (opt == OPT_NO_FOLLOW)
				env->follow_children = true;
			return 0;
		}
		return apply(env, opt, "", key);
	}
	if (cJSON_IsNumber(v)) {
		snprintf(buf, sizeof(buf), "%.17g", v->valuedouble);
		return apply(env, opt, buf, key);
	}
	if (cJSON_IsString(v))
		return apply(env, opt, v->valuestring, key);
	USAGE("--config: \"%s\" must be a string, number, boolean or list", key);
}

static int load_config(struct env *env, const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	cJSON *root, *item;
	int rc = 0;

	if (!f) {
		elog("--config: cannot read '%s': %s", path, strerror(errno));
		return 1;
	}
	{
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			char *t = realloc(text, len + n + 1);

			if (!t) {
				free(text);
				fclose(f);
				elog("--config: out of memory");
				return 1;
			}
			text = t;
			memcpy(text + len, chunk, n);
			len += n;
		}
	}
	fclose(f);
	if (!text) {
		elog("--config: '%s' is empty (expected a JSON object)", path);
		return 2;
	}
	text[len] = '\0';
	root = cJSON_ParseWithLength(text, len);
	if (!root || !cJSON_IsObject(root)) {
		const char *at = cJSON_GetErrorPtr();

		if (root)
			elog("--config: '%s' is not a JSON object", path);
		else
			elog("--config: '%s' is not valid JSON (at byte %ld)", path, at ? (long)(at - text) : 0L);
		cJSON_Delete(root);
		free(text);
		return 2;
	}
	cJSON_ArrayForEach(item, root) {
		int opt = opt_by_name(item->string);

		if (opt < 0) {
			elog("--config: unknown key \"%s\" in '%s' (keys are the long option names, e.g. \"func\", \"listen\")",
			     item->string, path);
			rc = 2;
			break;
		}
		if (opt == 1) { /* redact_patterns */
			const cJSON *p;

			cJSON_ArrayForEach(p, item) {
				if (!cJSON_IsString(p) || env->nredact_patterns == ENV_MAX_PATTERNS) {
					elog("--config: \"redact_patterns\" must be a list of at most %d strings",
					     ENV_MAX_PATTERNS);
					rc = 2;
					break;
				}
				env->redact_patterns[env->nredact_patterns++] = strdup(p->valuestring);
			}
		} else if (cJSON_IsArray(item)) {
			const cJSON *e;

			if (opt == OPT_BUCKETS) { /* [0.001, 0.01] */
				char list[1024] = "";

				cJSON_ArrayForEach(e, item) {
					char one[64];

					snprintf(one, sizeof(one), "%s%.17g", list[0] ? "," : "",
						 cJSON_IsNumber(e) ? e->valuedouble : -1);
					strncat(list, one, sizeof(list) - strlen(list) - 1);
				}
				rc = apply(env, opt, list, item->string);
			} else {
				cJSON_ArrayForEach(e, item) {
					rc = config_value(env, opt, e, item->string);
					if (rc)
						break;
				}
			}
		} else {
			rc = config_value(env, opt, item, item->string);
		}
		if (rc)
			break;
	}
	cJSON_Delete(root);
	free(text);
	return rc;
}

static void free_list(char **list, int *n)
{
	for (int i = 0; i < *n; i++)
		free(list[i]);
	*n = 0;
}

int env__parse(struct env *env, int argc, char **argv)
{
	int first_list[3] = { 1, 1, 1 }; /* flags replace the config file's lists */
	int rc, opt, i;

	env_defaults(env);
	log_level = LOG_INFO;
	if (argc < 2) {
		env__usage(stderr, CMD_NONE);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		env->cmd = CMD_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		env->cmd = CMD_VERSION;
		return 0;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[1], commands[c].name))
			env->cmd = commands[c].cmd;
	if (env->cmd == CMD_NONE)
		USAGE("unknown command '%s' (commands: attach, run, serve, symbols, check, version; see obsprobe --help)",
		      argv[1]);

	/* the config file first, so flags win */
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		const char *path = NULL;

		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
		if (path) {
			set_str(&env->config_file, path);
			rc = load_config(env, path);
			if (rc)
				return rc;
		}
	}

	opterr = 0;
	optind = 0; /* full reset: env__parse may run more than once (tests) */
	while ((opt = getopt_long(argc - 1, argv + 1, "+qvh", long_opts, NULL)) != -1) {
		const char *arg = optarg;

		switch (opt) {
		case '?':
			if (optopt >= 0x100)
				USAGE("option '%s' needs a value (see obsprobe --help)", argv[optind]);
			USAGE("unknown option '%s' (see obsprobe --help)", argv[optind]);
		case ':':
			USAGE("option '%s' needs a value (see obsprobe --help)", argv[optind]);
		case 'h':
		case OPT_HELP:
			env->cmd = CMD_HELP;
			return 0;
		case OPT_VERSION:
			env->cmd = CMD_VERSION;
			return 0;
		case OPT_CONFIG:
			continue;
		case OPT_FUNC:
		case OPT_KFUNC:
		case OPT_OTLP_HEADER: {
			int k = opt == OPT_FUNC ? 0 : opt == OPT_KFUNC ? 1 : 2;

			if (first_list[k]) {
				first_list[k] = 0;
				if (k == 0)
					free_list(env->funcs, &env->nfuncs);
				else if (k == 1)
					free_list(env->kfuncs, &env->nkfuncs);
				else
					free_list(env->otlp_headers, &env->notlp_headers);
			}
			break;
		}
		}
		rc = apply(env, opt, arg ? arg : "", argv[optind > 1 ? optind - 1 : 1]);
		if (rc)
			return rc;
	}
	i = optind + 1; /* index in argv */

	log_level = env->quiet ? LOG_QUIET : env->verbose >= 2 ? LOG_DEBUG : env->verbose ? LOG_VERBOSE : LOG_INFO;
	if ((env->tls_cert == NULL) != (env->tls_key == NULL))
		USAGE("--tls-cert and --tls-key go together: give both or neither");

	switch (env->cmd) {
	case CMD_ATTACH:
		if (!env->npids)
			USAGE("attach: which process? give --pid PID (e.g. --pid $(pgrep -o nginx))");
		if (i < argc)
			USAGE("attach: unexpected argument '%s' (to start a command, use: obsprobe run -- CMD)", argv[i]);
		break;
	case CMD_RUN:
		if (i >= argc)
			USAGE("run: no command given (usage: obsprobe run [options] -- CMD [ARG...])");
		if (env->npids)
			USAGE("run: --pid does not apply (to trace a running process, use: obsprobe attach --pid PID)");
		env->argv = argv + i;
		env->argc = argc - i;
		break;
	case CMD_SYMBOLS:
		if ((env->npids > 0) == (env->binary != NULL) || env->npids > 1)
			USAGE("symbols: give exactly one of --pid PID or --binary PATH");
		if (i < argc)
			env->glob = strdup(argv[i++]);
		if (i < argc)
			USAGE("symbols: unexpected argument '%s' (one GLOB at most)", argv[i]);
		break;
	case CMD_SERVE:
	case CMD_CHECK:
	case CMD_VERSION:
	case CMD_HELP:
		if (i < argc)
			USAGE("%s: unexpected argument '%s'", argv[1], argv[i]);
		if (env->npids && env->cmd == CMD_SERVE)
			USAGE("serve: --pid does not apply (serve collects from every process running with the shim; use attach --pid)");
		break;
	default:
		break;
	}
	if (env->cmd != CMD_RUN && env->preload && env->cmd != CMD_ATTACH && env->cmd != CMD_SERVE)
		USAGE("--preload applies to run and attach");
	return 0;
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
	free(env->metrics_auth);
	free(env->tls_cert);
	free(env->tls_key);
	free(env->runtime_dir);
	free(env->config_file);
	free(env->binary);
	free(env->glob);
	memset(env, 0, sizeof(*env));
}
