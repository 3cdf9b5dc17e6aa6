/* env.c -- command line, --config JSON file and environment into one struct env; nothing else parses them */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/env.h"
#include "cli/optval.h"
#include "cli/options.h"
#include "base/log.h"
#include "export/webconfig.h"

static const char *const cmd_names[] = {
	[CMD_NONE] = "obsprobe",   [CMD_ATTACH] = "attach", [CMD_RUN] = "run",	       [CMD_SERVE] = "serve",
	[CMD_SYMBOLS] = "symbols", [CMD_CHECK] = "check",   [CMD_VERSION] = "version", [CMD_HELP] = "help",
};

/* ---- usage ------------------------------------------------------------------ */

static const char *const synopsis[] = {
	[CMD_ATTACH] = "obsprobe attach --pid PID [--pid PID...] [options]",
	[CMD_RUN] = "obsprobe run [options] -- CMD [ARG...]",
	[CMD_SERVE] = "obsprobe serve [options]",
	[CMD_SYMBOLS] = "obsprobe symbols (--pid PID | --binary PATH) [GLOB]",
	[CMD_CHECK] = "obsprobe check [--json]",
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

void env__usage(FILE *out, enum command cmd)
{
	if (cmd > CMD_NONE && cmd < CMD_HELP) {
		fprintf(out, "usage: %s\n\n%s\n", synopsis[cmd], about[cmd]);
		if (cmd != CMD_VERSION) {
			fprintf(out, "\noptions:\n");
			options__print(out, 1u << cmd);
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
	options__print(out, C_TRACE);
	fprintf(out,
		"\nenvironment:\n"
		"  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS,\n"
		"  OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION\n"
		"                              defaults for --otlp-endpoint, --otlp-protocol, --otlp-header,\n"
		"                              --otlp-timeout, --otlp-compression\n"
		"  OTEL_METRIC_EXPORT_INTERVAL default for --otlp-metrics-interval\n"
		"  OBSPROBE_RUNTIME_DIR        where shim segments live (default /dev/shm)\n"
		"\nexit status: 0 ok, 1 failure, 2 usage error; run: CMD's exit status\n"
		"\nexamples:\n%s%s%s%s",
		examples[CMD_ATTACH], examples[CMD_RUN], examples[CMD_SYMBOLS],
		"  echo '{\"func\": [\"handle_*\"], \"no_syscalls\": true}' > o.json\n"
		"  sudo obsprobe attach --pid 812 --config o.json\n");
}

int env__config_text(struct env *env, const char *name, const char *text, size_t len)
{
	uint64_t set = 0;

	return config__text(env, name, text, len, &set);
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
	env->max_containers = 256;
	env->max_segments_per_uid = 4096;
	env->max_rejected_segments = 65536;
	env->follow_children = true;
	hist_bounds__parse(&env->bounds, OBS_DEFAULT_BUCKETS, err, sizeof(err));
	env->runtime_dir = strdup(rt && *rt ? rt : "/dev/shm");
}

/* OTEL_EXPORTER_OTLP_{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT,COMPRESSION}, OTEL_METRIC_EXPORT_INTERVAL for what neither
 * flags nor the file set (@set) */
static int env_otel(struct env *env, uint64_t set)
{
	const char *ep = getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), *proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	const char *hdrs = getenv("OTEL_EXPORTER_OTLP_HEADERS"), *tmo = getenv("OTEL_EXPORTER_OTLP_TIMEOUT");
	const char *comp = getenv("OTEL_EXPORTER_OTLP_COMPRESSION");
	const char *mi = getenv("OTEL_METRIC_EXPORT_INTERVAL");
	char h[1024];
	int rc;

	if (!(set & options__bit(OPT_OTLP_ENDPOINT)) && ep && *ep &&
	    (rc = options__apply(env, OPT_OTLP_ENDPOINT, ep, "$OTEL_EXPORTER_OTLP_ENDPOINT")))
		return rc;
	if (!env->otlp_endpoint) {
		if (env->otlp_metrics) {
			elog("--otlp-metrics needs --otlp-endpoint (or $OTEL_EXPORTER_OTLP_ENDPOINT)");
			return 2;
		}
		return 0; /* no export: the others do not matter */
	}
	if (!(set & options__bit(OPT_OTLP_METRICS_INTERVAL)) && mi && *mi &&
	    (rc = options__apply(env, OPT_OTLP_METRICS_INTERVAL, mi, "$OTEL_METRIC_EXPORT_INTERVAL")))
		return rc;
	if (!(set & options__bit(OPT_OTLP_PROTOCOL)) && proto && *proto &&
	    (rc = options__apply(env, OPT_OTLP_PROTOCOL, proto, "$OTEL_EXPORTER_OTLP_PROTOCOL")))
		return rc;
	if (!(set & options__bit(OPT_OTLP_TIMEOUT)) && tmo && *tmo &&
	    (rc = options__apply(env, OPT_OTLP_TIMEOUT, tmo, "$OTEL_EXPORTER_OTLP_TIMEOUT")))
		return rc;
	if (!(set & options__bit(OPT_OTLP_COMPRESSION)) && comp && *comp &&
	    (rc = options__apply(env, OPT_OTLP_COMPRESSION, comp, "$OTEL_EXPORTER_OTLP_COMPRESSION")))
		return rc;
	if (set & options__bit(OPT_OTLP_HEADER) || !hdrs)
		return 0;
	for (const char *p = hdrs; *p; p += *p == ',') {
		size_t n = strcspn(p, ",");

		optval_otel_header(p, n, h, sizeof(h));
		p += n;
		if (h[0] && (rc = options__apply(env, OPT_OTLP_HEADER, h, "$OTEL_EXPORTER_OTLP_HEADERS")))
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

	o = options__by_val(opt_); /* a long option (-q/-v/-h never fail) */
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
			if (i >= 0 && av[i][0] == '-' && av[i][1] != '-' && options__by_key(av[i] + 1)) {
				elog("unknown option '%s' (long options take two dashes: '-%s')", av[i], av[i]);
				return;
			}
		}
		elog("unknown option '-%c' (see obsprobe --help)", opt_);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(elem, "="), elem);
	for (int i = 0; i < noptions; i++)
		n += options[i].cmds != C_FILE_ONLY && strlen(name) > 2 &&
		     !strncmp(options[i].name, name + 2, strlen(name + 2));
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
			BAD("help: unknown command '%s' (commands: attach, run, serve, symbols, check, version)",
			    av[1]);
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
	struct option lo[OPTIONS_MAX + 1];
	int opt, nconfig = 0, nlo = 0;

	for (int i = 0; i < noptions; i++)
		if (options[i].cmds != C_FILE_ONLY)
			lo[nlo++] = (struct option){ options[i].name,
						     options[i].has_arg ? required_argument : no_argument, NULL,
						     options[i].val };
	lo[nlo] = (struct option){ 0 };
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
		o = options__by_val(opt);
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
		uint64_t bit = options__bit(flags[i].val);

		if (!(given & bit)) { /* a list (or -q/-v) on the command line replaces the file's */
			switch (flags[i].val) {
			case OPT_PID:
				env->npids = 0;
				break;
			case OPT_EXE:
				free_list(env->exes, &env->nexes);
				break;
			case OPT_CGROUP:
				free_list(env->cgroups, &env->ncgroups);
				break;
			case OPT_PORT:
				env->nports = 0;
				break;
			case OPT_FUNC:
				free_list(env->funcs, &env->nfuncs);
				break;
			case OPT_KFUNC:
				free_list(env->kfuncs, &env->nkfuncs);
				break;
			case OPT_OTLP_HEADER:
				free_list(env->otlp_headers, &env->notlp_headers);
				break;
			case OPT_QUIET:
			case OPT_VERBOSE:
				env->quiet = false;
				env->verbose = 0;
				break;
			}
		}
		given |= bit;
	}
	*set |= given;
	if ((given & options__bit(OPT_QUIET)) && (given & options__bit(OPT_VERBOSE)))
		BAD("%s: -q and -v contradict each other (give one)", cmd);
	for (int i = 0; i < nflags; i++) {
		const struct optdef *o = options__by_val(flags[i].val);

		snprintf(what, sizeof(what), "%s%s--%s", o->val == OPT_PID ? cmd : "", o->val == OPT_PID ? ": " : "",
			 o->name);
		if ((rc = options__apply(env, o->val, flags[i].arg ? flags[i].arg : "", what)))
			return rc;
	}
	if (env->max_overhead > 0 && env->preload)
		BAD("%s: --max-overhead sheds eBPF probes; the shim (--preload) has none to shed (drop one of them)",
		    cmd);
	if (env->probe_stats && env->preload)
		BAD("%s: --probe-stats turns on the kernel's BPF statistics; the shim (--preload) runs no BPF program (drop one of them)",
		    cmd);
	if (env->max_containers_set && !env->container_labels)
		BAD("%s: --max-containers caps the labels of --container-labels (give it too, or drop --max-containers)",
		    cmd);
	if (env->cmd == CMD_RUN && !env->pushgateway && (env->push_job || env->push_interval > 0))
		BAD("%s: --%s goes with --pushgateway URL (give it too)", cmd,
		    env->push_job ? "push-job" : "push-interval");
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
		if (!env->npids && !env->nexes && !env->nports && !env->ncgroups)
			BAD("attach: which process? give --pid PID (e.g. --pid $(pgrep -o nginx)), or select them: --exe GLOB, --port N, --cgroup PATH");
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
		rc = config__load(env, config, &set);
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
	free_list(env->exes, &env->nexes);
	free_list(env->cgroups, &env->ncgroups);
	free_list(env->funcs, &env->nfuncs);
	free_list(env->kfuncs, &env->nkfuncs);
	free_list(env->otlp_headers, &env->notlp_headers);
	free_list(env->redact_patterns, &env->nredact_patterns);
	free(env->service);
	free(env->otlp_endpoint);
	free(env->spans_file);
	free(env->service_instance_id);
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
	free(env->pushgateway);
	free(env->push_job);
	memset(env, 0, sizeof(*env));
}
