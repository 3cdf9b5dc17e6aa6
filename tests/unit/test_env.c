/* test_env.c -- option, --config and environment parsing: defaults, every option, precedence, each misuse */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/env.h"
#include "base/log.h"

static char errbuf[4096]; /* what the last parse printed on stderr */
static char datadir[512];

/* env__parse over @args (NULL-terminated, argv[0] implied), capturing stderr in errbuf */
static int parsev(struct env *env, const char *const *args)
{
	static char *argv[256];
	FILE *tmp = tmpfile();
	int argc = 0, saved, rc;
	size_t n;

	argv[argc++] = "obsprobe";
	for (; *args && argc < 255; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	rc = env__parse(env, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, tmp);
	errbuf[n] = '\0';
	fclose(tmp);
	return rc;
}

/* the same over a line split at spaces (the words live until the next call) */
static int parse(struct env *env, const char *line)
{
	static char copy[4096];
	const char *args[256];
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (char *save, *t = strtok_r(copy, " ", &save); t && n < 255; t = strtok_r(NULL, " ", &save))
		args[n++] = t;
	args[n] = NULL;
	return parsev(env, args);
}

static const char *data(const char *name)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	return path;
}

/* rc 2 and exactly one line, equal to @want */
#define ck_usage(env, line, want)                                               \
	do {                                                                    \
		int rc_ = parse(env, line);                                     \
		ck_assert_msg(rc_ == 2, "'%s' returned %d, want 2", line, rc_); \
		ck_assert_str_eq(errbuf, want "\n");                            \
		env__free(env);                                                 \
	} while (0)

/* rc 2, one "obsprobe: " line containing @part */
#define ck_usage_has(env, line, part)                                                                    \
	do {                                                                                             \
		int rc_ = parse(env, line);                                                              \
		ck_assert_msg(rc_ == 2, "'%s' returned %d, want 2", line, rc_);                          \
		ck_assert_msg(!strncmp(errbuf, "obsprobe: ", 10) &&                                      \
				      strchr(errbuf, '\n') == errbuf + strlen(errbuf) - 1,               \
			      "'%s' printed '%s'", line, errbuf);                                        \
		ck_assert_msg(strstr(errbuf, part), "'%s' printed '%s', want /%s/", line, errbuf, part); \
		env__free(env);                                                                          \
	} while (0)

START_TEST(defaults)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "attach --pid 42"), 0);
	ck_assert_str_eq(errbuf, "");
	ck_assert_int_eq(env.cmd, CMD_ATTACH);
	ck_assert_int_eq(env.npids, 1);
	ck_assert_int_eq(env.pids[0], 42);
	ck_assert_int_eq(env.nfuncs + env.nkfuncs + env.notlp_headers + env.nredact_patterns, 0);
	ck_assert(!env.no_syscalls && !env.no_net && !env.no_http && !env.no_logs);
	ck_assert_str_eq(env.listen_host, "127.0.0.1");
	ck_assert_int_eq(env.listen_port, 9464);
	ck_assert_ptr_null(env.service);
	ck_assert_ptr_null(env.otlp_endpoint);
	ck_assert(!env.otlp_json);
	ck_assert_ptr_null(env.spans_file);
	ck_assert_ptr_null(env.log_file);
	ck_assert(env.sample_ratio == 1.0);
	ck_assert_int_eq(env.max_spans_per_second, 10000);
	ck_assert_int_eq(env.max_series, 2000);
	ck_assert_int_eq(env.bounds.n, 22);
	ck_assert_uint_eq(env.bounds.ns[0], 1000);
	ck_assert_uint_eq(env.bounds.ns[1], 2500);
	ck_assert_uint_eq(env.bounds.ns[21], 10000000000ull);
	ck_assert(env.duration == 0);
	ck_assert_ptr_null(env.metrics_auth);
	ck_assert_ptr_null(env.tls_cert);
	ck_assert(!env.preload);
	ck_assert(env.follow_children);
	ck_assert(!env.quiet);
	ck_assert_int_eq(env.verbose, 0);
	ck_assert_int_eq(log_level, LOG_INFO);
	ck_assert_str_eq(env.runtime_dir, "/dev/shm");
	ck_assert_ptr_null(env.config_file);
	ck_assert_ptr_null(env.argv);
	env__free(&env);
}
END_TEST

START_TEST(every_option)
{
	struct env env;

	ck_assert_int_eq(parse(&env,
			       "attach --pid 1 --pid 2 --func handle_* --func libc.so.6:malloc --kfunc vfs_* "
			       "--no-syscalls --no-net --no-http --no-logs --listen 0.0.0.0:9500 --service api "
			       "--otlp-endpoint http://127.0.0.1:4318 --otlp-protocol http/json --otlp-header a=b "
			       "--otlp-header X-Tenant=7 --spans-file /tmp/s --log-file - --sample-ratio 0.25 "
			       "--max-spans-per-second 5 --max-series 10 --buckets 0.001,0.1 --duration 2.5 "
			       "--metrics-auth /tmp/a --tls-cert /tmp/c --tls-key /tmp/k --preload "
			       "--no-follow-children -v"),
			 0);
	ck_assert_str_eq(errbuf, "");
	ck_assert_int_eq(env.npids, 2);
	ck_assert_int_eq(env.pids[1], 2);
	ck_assert_int_eq(env.nfuncs, 2);
	ck_assert_str_eq(env.funcs[0], "handle_*");
	ck_assert_str_eq(env.funcs[1], "libc.so.6:malloc");
	ck_assert_int_eq(env.nkfuncs, 1);
	ck_assert_str_eq(env.kfuncs[0], "vfs_*");
	ck_assert(env.no_syscalls && env.no_net && env.no_http && env.no_logs);
	ck_assert_str_eq(env.listen_host, "0.0.0.0");
	ck_assert_int_eq(env.listen_port, 9500);
	ck_assert_str_eq(env.service, "api");
	ck_assert_str_eq(env.otlp_endpoint, "http://127.0.0.1:4318");
	ck_assert(env.otlp_json);
	ck_assert_int_eq(env.notlp_headers, 2);
	ck_assert_str_eq(env.otlp_headers[0], "a=b");
	ck_assert_str_eq(env.otlp_headers[1], "X-Tenant=7");
	ck_assert_str_eq(env.spans_file, "/tmp/s");
	ck_assert_str_eq(env.log_file, "-");
	ck_assert(env.sample_ratio == 0.25);
	ck_assert_int_eq(env.max_spans_per_second, 5);
	ck_assert_int_eq(env.max_series, 10);
	ck_assert_int_eq(env.bounds.n, 2);
	ck_assert_uint_eq(env.bounds.ns[0], 1000000);
	ck_assert_uint_eq(env.bounds.ns[1], 100000000);
	ck_assert(env.duration == 2.5);
	ck_assert_str_eq(env.metrics_auth, "/tmp/a");
	ck_assert_str_eq(env.tls_cert, "/tmp/c");
	ck_assert_str_eq(env.tls_key, "/tmp/k");
	ck_assert(env.preload);
	ck_assert(!env.follow_children);
	ck_assert_int_eq(env.verbose, 1);
	ck_assert_int_eq(log_level, LOG_VERBOSE);
	env__free(&env);

	/* --opt=value, unique abbreviations, options after the arguments (not for run) */
	ck_assert_int_eq(parse(&env, "attach --listen=:9501 --dur 1 --pid=9 --sample 0"), 0);
	ck_assert_int_eq(env.listen_port, 9501);
	ck_assert(env.duration == 1);
	ck_assert_int_eq(env.pids[0], 9);
	ck_assert(env.sample_ratio == 0);
	env__free(&env);
}
END_TEST

START_TEST(quiet_and_verbose)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "attach --pid 1 -q"), 0);
	ck_assert(env.quiet);
	ck_assert_int_eq(log_level, LOG_QUIET);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --pid 1 --quiet"), 0);
	ck_assert_int_eq(log_level, LOG_QUIET);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --pid 1 -vv"), 0);
	ck_assert_int_eq(env.verbose, 2);
	ck_assert_int_eq(log_level, LOG_DEBUG);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "check --verbose"), 0);
	ck_assert_int_eq(log_level, LOG_VERBOSE);
	env__free(&env);
	ck_usage(&env, "attach --pid 1 -q -v", "obsprobe: attach: -q and -v contradict each other (give one)");
	ck_assert_int_eq(parse(&env, "symbols -q --binary /bin/true"), 0);
	ck_assert(env.quiet);
	env__free(&env);
	/* check --json, and only check */
	ck_assert_int_eq(parse(&env, "check"), 0);
	ck_assert(!env.json);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "check --json"), 0);
	ck_assert(env.json);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --pid 1 --json"), 2);
	env__free(&env);
}
END_TEST

START_TEST(pids)
{
	struct env env;
	char line[1536];
	int n;

	ck_assert_int_eq(parse(&env, "attach --pid 812,813 --pid 812 --pid 4194304"), 0);
	ck_assert_int_eq(env.npids, 3); /* repeats folded */
	ck_assert_int_eq(env.pids[0], 812);
	ck_assert_int_eq(env.pids[1], 813);
	ck_assert_int_eq(env.pids[2], 4194304);
	env__free(&env);
	ck_usage(&env, "attach --pid abc",
		 "obsprobe: attach: --pid 'abc' is not a process id (a positive number, e.g. --pid $(pgrep -o nginx))");
	ck_usage_has(&env, "attach --pid 0", "--pid '0' is not a process id");
	ck_usage_has(&env, "attach --pid -3", "--pid '-3' is not a process id");
	ck_usage_has(&env, "attach --pid 12x", "'12x'");
	ck_usage_has(&env, "attach --pid 1,", "'1,'");
	ck_usage_has(&env, "attach --pid 99999999999", "'99999999999'");
	ck_usage_has(&env, "attach --pid 1,,2", "'1,,2'");
	ck_usage(&env, "attach",
		 "obsprobe: attach: which process? give --pid PID (e.g. --pid $(pgrep -o nginx)), or select them: --exe GLOB, --port N, --cgroup PATH");
	ck_usage(&env, "attach --pid 812 813",
		 "obsprobe: attach: unexpected argument '813' (give each process its own --pid, e.g. --pid 813)");
	ck_usage(&env, "attach --pid 1 -- ls",
		 "obsprobe: attach: unexpected argument 'ls' (to start a command: obsprobe run -- CMD)");
	n = snprintf(line, sizeof(line), "attach");
	for (int i = 1; i <= ENV_MAX_PIDS + 1; i++)
		n += snprintf(line + n, sizeof(line) - n, " --pid %d", i);
	ck_usage(&env, line, "obsprobe: attach: --pid: more than 64 processes");
}
END_TEST

START_TEST(bad_options)
{
	struct env env;

	ck_usage(&env, "attach --pid 1 --frob", "obsprobe: unknown option '--frob' (see obsprobe --help)");
	ck_usage(&env, "attach --frob=3 --pid 1", "obsprobe: unknown option '--frob' (see obsprobe --help)");
	ck_usage(&env, "attach --pid 1 -x", "obsprobe: unknown option '-x' (see obsprobe --help)");
	ck_usage(&env, "attach -pid 1", "obsprobe: unknown option '-pid' (long options take two dashes: '--pid')");
	ck_usage(&env, "attach --pid 1 --no", "obsprobe: option '--no' is ambiguous (see obsprobe attach --help)");
	ck_usage(&env, "attach --pid 1 --preload=yes",
		 "obsprobe: attach: --preload takes no value (see obsprobe attach --help)");
	ck_usage(&env, "attach --pid", "obsprobe: attach: --pid needs a value (see obsprobe attach --help)");
	ck_usage(&env, "serve --listen", "obsprobe: serve: --listen needs a value (see obsprobe serve --help)");
	ck_usage(&env, "check --func x", "obsprobe: check: --func does not apply (see obsprobe check --help)");
	ck_usage(&env, "serve --func x", "obsprobe: serve: --func does not apply (see obsprobe serve --help)");
	ck_usage(&env, "serve --preload", "obsprobe: serve: --preload does not apply (see obsprobe serve --help)");
	ck_usage(&env, "symbols --binary /bin/ls --listen :1",
		 "obsprobe: symbols: --listen does not apply (see obsprobe symbols --help)");
	ck_usage(&env, "serve --binary /bin/ls",
		 "obsprobe: serve: --binary does not apply (see obsprobe serve --help)");
	ck_usage(&env, "run --pid 3 -- ls",
		 "obsprobe: run: --pid does not apply (to trace a running process: obsprobe attach --pid PID)");
	ck_usage(&env, "version --pid 3",
		 "obsprobe: version: --pid does not apply (to trace a running process: obsprobe attach --pid PID)");
	ck_usage(&env, "check extra", "obsprobe: check: unexpected argument 'extra' (see obsprobe check --help)");
	ck_usage(&env, "attach --pid 1 --tls-cert /a",
		 "obsprobe: attach: --tls-cert and --tls-key go together (give both, or neither for plain HTTP)");
	ck_usage_has(&env, "attach --pid 1 --tls-key /a", "go together");
	ck_usage(&env, "attach --pid 1 --service",
		 "obsprobe: attach: --service needs a value (see obsprobe attach --help)");
	ck_usage(&env, "attach --pid 1 --log-file=", "obsprobe: --log-file: empty value");
}
END_TEST

START_TEST(commands)
{
	struct env env;

	ck_usage(&env, "",
		 "obsprobe: no command (usage: obsprobe attach|run|serve|symbols|check|version ...; "
		 "see obsprobe --help)");
	ck_usage(&env, "frob",
		 "obsprobe: unknown command 'frob' (commands: attach, run, serve, symbols, check, "
		 "version; see obsprobe --help)");
	ck_usage(&env, "--pid 1",
		 "obsprobe: no command before '--pid' (usage: obsprobe attach --pid PID [options]; see obsprobe --help)");
	ck_usage_has(&env, "help frob", "help: unknown command 'frob'");
	ck_assert_int_eq(parse(&env, "--help"), 0);
	ck_assert_int_eq(env.cmd, CMD_HELP);
	ck_assert_int_eq(env.help_cmd, CMD_NONE);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "-h"), 0);
	ck_assert_int_eq(env.cmd, CMD_HELP);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "help"), 0);
	ck_assert_int_eq(env.cmd, CMD_HELP);
	ck_assert_int_eq(env.help_cmd, CMD_NONE);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "help symbols"), 0);
	ck_assert_int_eq(env.help_cmd, CMD_SYMBOLS);
	env__free(&env);
	/* CMD --help wins over what is missing, but not over a bad option before it */
	ck_assert_int_eq(parse(&env, "attach --help"), 0);
	ck_assert_int_eq(env.cmd, CMD_HELP);
	ck_assert_int_eq(env.help_cmd, CMD_ATTACH);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "run -h"), 0);
	ck_assert_int_eq(env.help_cmd, CMD_RUN);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --config /nonexistent --help"), 0);
	ck_assert_int_eq(env.help_cmd, CMD_SERVE);
	env__free(&env);
	ck_usage_has(&env, "attach --frob --help", "unknown option '--frob'");
	ck_assert_int_eq(parse(&env, "--version"), 0);
	ck_assert_int_eq(env.cmd, CMD_VERSION);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "version"), 0);
	ck_assert_int_eq(env.cmd, CMD_VERSION);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --version"), 0);
	ck_assert_int_eq(env.cmd, CMD_VERSION);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "check"), 0);
	ck_assert_int_eq(env.cmd, CMD_CHECK);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert_int_eq(env.cmd, CMD_SERVE);
	env__free(&env);
}
END_TEST

START_TEST(run_command)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "run --preload --func f -- ls -l --func /"), 0);
	ck_assert_int_eq(env.cmd, CMD_RUN);
	ck_assert(env.preload);
	ck_assert_int_eq(env.nfuncs, 1);
	ck_assert_int_eq(env.argc, 4); /* CMD's options are CMD's */
	ck_assert_str_eq(env.argv[0], "ls");
	ck_assert_str_eq(env.argv[2], "--func");
	ck_assert_ptr_null(env.argv[4]);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "run -q python3 -m http.server"), 0); /* "--" may be left out */
	ck_assert_int_eq(env.argc, 3);
	ck_assert_str_eq(env.argv[0], "python3");
	ck_assert_str_eq(env.argv[1], "-m");
	env__free(&env);
	ck_assert_int_eq(parse(&env, "run --user nobody -- id -u"), 0);
	ck_assert_str_eq(env.run_user, "nobody");
	ck_assert_str_eq(env.argv[0], "id");
	env__free(&env);
	ck_usage_has(&env, "attach --pid 1 --user nobody", "--user");
	ck_usage_has(&env, "run --user= -- id", "--user: empty user name");
	ck_usage(&env, "run", "obsprobe: run: no command given (usage: obsprobe run [options] -- CMD [ARG...])");
	ck_usage_has(&env, "run --preload --", "run: no command given");
}
END_TEST

START_TEST(symbols_command)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "symbols --binary /usr/sbin/nginx ngx_http_*"), 0);
	ck_assert_int_eq(env.cmd, CMD_SYMBOLS);
	ck_assert_str_eq(env.binary, "/usr/sbin/nginx");
	ck_assert_str_eq(env.glob, "ngx_http_*");
	env__free(&env);
	ck_assert_int_eq(parse(&env, "symbols handle_* --pid 812"), 0);
	ck_assert_int_eq(env.pids[0], 812);
	ck_assert_str_eq(env.glob, "handle_*");
	ck_assert_ptr_null(env.binary);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "symbols --binary /bin/true"), 0);
	ck_assert_ptr_null(env.glob);
	env__free(&env);
	ck_usage_has(&env, "symbols", "symbols: give exactly one of --pid PID or --binary PATH");
	ck_usage_has(&env, "symbols --pid 1 --binary /bin/ls", "exactly one of");
	ck_usage_has(&env, "symbols --pid 1,2", "exactly one of");
	ck_usage_has(&env, "symbols --binary /bin/ls a* b*", "symbols: unexpected argument 'b*'");
}
END_TEST

/* every form is in test_optval; here: what reaches struct env, and the message */
START_TEST(listen_forms)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "serve --listen [::1]:9000"), 0);
	ck_assert_str_eq(env.listen_host, "::1");
	ck_assert_int_eq(env.listen_port, 9000);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --listen :9001"), 0);
	ck_assert_str_eq(env.listen_host, "127.0.0.1");
	ck_assert_int_eq(env.listen_port, 9001);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --listen localhost:9002"), 0);
	ck_assert_str_eq(env.listen_host, "localhost");
	env__free(&env);
	ck_usage(&env, "serve --listen 127.0.0.1:70000",
		 "obsprobe: --listen: '127.0.0.1:70000' has no port from 1 to 65535 (e.g. 127.0.0.1:9464)");
	ck_usage(&env, "serve --listen nonsense",
		 "obsprobe: --listen: 'nonsense' is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)");
	ck_usage(&env, "serve --listen ::1:9000",
		 "obsprobe: --listen: '::1:9000' is ambiguous: IPv6 addresses go in brackets (e.g. [::1]:9464)");
}
END_TEST

START_TEST(otlp)
{
	struct env env;

	ck_usage(&env, "serve --otlp-endpoint foo",
		 "obsprobe: --otlp-endpoint: 'foo' is not a URL (expected http://host:port)");
	ck_usage(&env, "serve --otlp-endpoint http://h:4318/v1/traces?a=b",
		 "obsprobe: --otlp-endpoint: 'http://h:4318/v1/traces?a=b' has a query or fragment "
		 "(give the base URL; /v1/traces and /v1/logs are appended)");
	ck_assert_int_eq(parse(&env, "serve --otlp-endpoint http://h:4318/base//"), 0);
	ck_assert_str_eq(env.otlp_endpoint, "http://h:4318/base"); /* "/v1/traces" is appended to it */
	env__free(&env);

	ck_assert_int_eq(parse(&env, "serve --otlp-protocol http/protobuf"), 0);
	ck_assert(!env.otlp_json);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --otlp-protocol grpc"), 0);
	ck_assert(env.otlp_grpc && !env.otlp_json);
	env__free(&env);
	ck_usage(&env, "serve --otlp-protocol json",
		 "obsprobe: --otlp-protocol: 'json' is not http/protobuf, http/json or grpc");
	ck_usage(&env, "serve --otlp-protocol GRPC",
		 "obsprobe: --otlp-protocol: 'GRPC' is not http/protobuf, http/json or grpc");
	ck_assert_int_eq(parse(&env, "serve --otlp-compression none"), 0);
	ck_assert(env.otlp_no_gzip);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --otlp-compression gzip"), 0);
	ck_assert(!env.otlp_no_gzip);
	env__free(&env);
	ck_usage(&env, "serve --otlp-compression zstd", "obsprobe: --otlp-compression: 'zstd' is not gzip or none");

	ck_assert_int_eq(parsev(&env, (const char *[]){ "serve", "--otlp-header", "Authorization=Bearer abc=", NULL }),
			 0);
	ck_assert_str_eq(env.otlp_headers[0], "Authorization=Bearer abc=");
	env__free(&env);
	ck_usage(&env, "serve --otlp-header novalue",
		 "obsprobe: --otlp-header: 'novalue...' expected KEY=VALUE (e.g. Authorization=Bearer TOKEN)");
	ck_usage_has(&env, "serve --otlp-header =v", "empty KEY");
	/* the value may be a secret: it is not echoed */
	ck_assert_int_eq(parsev(&env, (const char *[]){ "serve", "--otlp-header", "Bad Key=s3cr3t", NULL }), 2);
	ck_assert_str_eq(errbuf, "obsprobe: --otlp-header: 'Bad...' has a KEY that is not an HTTP header name "
				 "(expected KEY=VALUE)\n");
	env__free(&env);
	ck_assert_int_eq(parsev(&env, (const char *[]){ "serve", "--otlp-header", "k=a\r\nX: y", NULL }), 2);
	ck_assert_ptr_null(strstr(errbuf, "X: y"));
	env__free(&env);

	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert_int_eq(env.otlp_timeout_ms, 0); /* the exporter's default */
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --otlp-timeout 2500"), 0);
	ck_assert_int_eq(env.otlp_timeout_ms, 2500);
	env__free(&env);
	ck_usage(&env, "serve --otlp-timeout 0",
		 "obsprobe: --otlp-timeout: '0' is not a whole number of milliseconds from 1 to 3600000 (e.g. 10000)");
	ck_usage_has(&env, "serve --otlp-timeout 5s", "'5s' is not a whole number of milliseconds");
	ck_usage_has(&env, "serve --otlp-timeout 3600001", "from 1 to 3600000");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1500", 1);
	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert_int_eq(env.otlp_timeout_ms, 1500);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --otlp-timeout 700"), 0); /* the flag wins */
	ck_assert_int_eq(env.otlp_timeout_ms, 700);
	env__free(&env);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "-1", 1);
	ck_usage_has(&env, "serve", "$OTEL_EXPORTER_OTLP_TIMEOUT: '-1' is not a whole number of milliseconds");
	unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
}
END_TEST

START_TEST(max_overhead)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "attach --pid 1"), 0);
	ck_assert(env.max_overhead == 0); /* off */
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --pid 1 --max-overhead 5"), 0);
	ck_assert(env.max_overhead == 5);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "run --max-overhead 100 -- true"), 0);
	ck_assert(env.max_overhead == 100);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --pid 1 --max-overhead 0.5"), 0);
	ck_assert(env.max_overhead == 0.5);
	env__free(&env);
	ck_usage(&env, "attach --pid 1 --max-overhead 0",
		 "obsprobe: --max-overhead: '0' is not a percentage above 0 and at most 100 (e.g. 5)");
	ck_usage_has(&env, "attach --pid 1 --max-overhead 101", "'101' is not a percentage");
	ck_usage_has(&env, "attach --pid 1 --max-overhead -5", "'-5' is not a percentage");
	ck_usage_has(&env, "attach --pid 1 --max-overhead 5%", "'5%' is not a percentage");
	ck_usage_has(&env, "attach --pid 1 --max-overhead nan", "'nan' is not a percentage");
	ck_usage_has(&env, "run --preload --max-overhead 5 -- true", "the shim (--preload) has none to shed");
	ck_usage_has(&env, "run --preload --probe-stats -- true", "the shim (--preload) runs no BPF program");
	ck_usage_has(&env, "attach --pid 1 --max-containers 9",
		     "--max-containers caps the labels of --container-labels");
	ck_usage_has(&env, "serve --max-overhead 5", "--max-overhead does not apply");
}
END_TEST

START_TEST(numbers)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "serve --sample-ratio 1 --max-spans-per-second 1 --max-series 10000000 "
				     "--duration 0.001"),
			 0);
	ck_assert(env.sample_ratio == 1);
	ck_assert_int_eq(env.max_spans_per_second, 1);
	ck_assert_int_eq(env.max_series, 10000000);
	ck_assert(env.duration == 0.001);
	env__free(&env);
	ck_usage(&env, "serve --sample-ratio 2",
		 "obsprobe: --sample-ratio: '2' is not a number from 0 to 1 (e.g. 0.1 keeps one trace in ten)");
	ck_usage_has(&env, "serve --sample-ratio -0.1", "'-0.1' is not a number from 0 to 1");
	ck_usage_has(&env, "serve --sample-ratio nan", "'nan'");
	ck_usage_has(&env, "serve --sample-ratio 0.5x", "'0.5x'");
	ck_usage(&env, "serve --max-spans-per-second 0",
		 "obsprobe: --max-spans-per-second: '0' is not a positive whole number (e.g. 1000)");
	ck_usage_has(&env, "serve --max-spans-per-second 1.5", "'1.5'");
	ck_usage_has(&env, "serve --max-spans-per-second -5", "'-5'");
	ck_usage(&env, "serve --max-series 0", "obsprobe: --max-series: '0' is not a whole number from 1 to 10000000");
	ck_usage_has(&env, "serve --max-series 10000001", "'10000001'");
	ck_usage(&env, "serve --duration 0",
		 "obsprobe: --duration: '0' is not a positive number of seconds (e.g. 30 or 0.5)");
	ck_usage_has(&env, "serve --duration -1", "'-1'");
	ck_usage_has(&env, "serve --duration inf", "'inf'");
	ck_usage_has(&env, "serve --duration 5s", "'5s'");
}
END_TEST

START_TEST(buckets)
{
	struct env env;
	char line[1536];
	int n;

	ck_assert_int_eq(parsev(&env, (const char *[]){ "serve", "--buckets", "0.0000005, 0.25 3", NULL }), 0);
	ck_assert_int_eq(env.bounds.n, 3);
	ck_assert_uint_eq(env.bounds.ns[0], 500);
	ck_assert_uint_eq(env.bounds.ns[1], 250000000);
	ck_assert_uint_eq(env.bounds.ns[2], 3000000000ull);
	env__free(&env);
	ck_usage(&env, "serve --buckets 0.1,0.01",
		 "obsprobe: --buckets: boundaries must be strictly ascending (0.01 after 0.1) (e.g. 0.001,0.01,0.1,1)");
	ck_usage(&env, "serve --buckets x",
		 "obsprobe: --buckets: 'x' is not a number of seconds (e.g. 0.001,0.01,0.1,1)");
	ck_usage_has(&env, "serve --buckets 0,1", "positive");
	ck_usage_has(&env, "serve --buckets 1,+Inf", "implied");
	ck_usage_has(&env, "serve --buckets 0.0000000001", "whole number of nanoseconds");
	ck_usage_has(&env, "serve --buckets ,", "no boundaries");
	n = snprintf(line, sizeof(line), "serve --buckets 1");
	for (int i = 2; i <= 33; i++)
		n += snprintf(line + n, sizeof(line) - n, ",%d", i);
	ck_usage_has(&env, line, "more than 32 boundaries");
}
END_TEST

START_TEST(func_globs)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "run --func libstdc++.so.6:ns::f* --func ::g -- ls"), 0);
	ck_assert_int_eq(env.nfuncs, 2);
	ck_assert_str_eq(env.funcs[0], "libstdc++.so.6:ns::f*");
	ck_assert_str_eq(env.funcs[1], "::g");
	env__free(&env);
	ck_assert_int_eq(parsev(&env, (const char *[]){ "run", "--func", "", "ls", NULL }), 2);
	ck_assert_str_eq(errbuf, "obsprobe: --func: '' is empty (expected [OBJ:]GLOB, e.g. 'handle_*' or "
				 "'libc.so.6:malloc')\n");
	env__free(&env);
	ck_usage(&env, "run --func libc.so.6: ls",
		 "obsprobe: --func: 'libc.so.6:' has no GLOB after the ':' "
		 "(e.g. 'libc.so.6:malloc' or 'libssl.so.3:SSL_*')");
	ck_usage(&env, "run --func :malloc ls",
		 "obsprobe: --func: ':malloc' has no OBJ before the ':' (e.g. 'libc.so.6:malloc')");
	ck_assert_int_eq(parse(&env, "attach --pid 1 --kfunc tcp_sendmsg --kfunc vfs_*"), 0);
	ck_assert_int_eq(env.nkfuncs, 2);
	env__free(&env);
	ck_usage(&env, "attach --pid 1 --kfunc vmlinux:vfs_read",
		 "obsprobe: --kfunc: 'vmlinux:vfs_read' is not a kernel function GLOB (e.g. 'vfs_*' or 'tcp_sendmsg')");
}
END_TEST

START_TEST(config_file)
{
	struct env env;
	char line[1536];

	snprintf(line, sizeof(line), "attach --pid 7 --config %s", data("config-full.json"));
	ck_assert_msg(parse(&env, line) == 0, "%s", errbuf);
	ck_assert_str_eq(env.config_file, data("config-full.json"));
	ck_assert_int_eq(env.nfuncs, 2);
	ck_assert_str_eq(env.funcs[0], "handle_*");
	ck_assert_str_eq(env.funcs[1], "libc.so.6:malloc");
	ck_assert_int_eq(env.nkfuncs, 1);
	ck_assert_str_eq(env.kfuncs[0], "vfs_read");
	ck_assert(env.no_syscalls && env.no_net && !env.no_http && !env.no_logs);
	ck_assert_str_eq(env.listen_host, "127.0.0.1");
	ck_assert_int_eq(env.listen_port, 9500);
	ck_assert_str_eq(env.service, "fromfile");
	ck_assert_str_eq(env.otlp_endpoint, "http://127.0.0.1:4318");
	ck_assert(env.otlp_json);
	ck_assert_int_eq(env.notlp_headers, 2);
	ck_assert_str_eq(env.otlp_headers[1], "c=d");
	ck_assert_str_eq(env.spans_file, "/tmp/spans.jsonl");
	ck_assert_str_eq(env.log_file, "-");
	ck_assert(env.sample_ratio == 0.5);
	ck_assert_int_eq(env.max_spans_per_second, 250);
	ck_assert_int_eq(env.max_series, 100);
	ck_assert_int_eq(env.bounds.n, 3);
	ck_assert_uint_eq(env.bounds.ns[2], 100000000);
	ck_assert(env.duration == 5);
	ck_assert_str_eq(env.metrics_auth, "/etc/obsprobe/auth");
	ck_assert_str_eq(env.tls_key, "/etc/obsprobe/key.pem");
	ck_assert(env.preload);
	ck_assert(!env.follow_children);
	ck_assert_int_eq(env.verbose, 2);
	ck_assert_int_eq(log_level, LOG_DEBUG);
	ck_assert_int_eq(env.nredact_patterns, 2);
	ck_assert_str_eq(env.redact_patterns[1], "ssn=[0-9]{9}");
	env__free(&env);

	/* flags win; a list on the command line replaces the file's; -q replaces the file's verbosity */
	snprintf(line, sizeof(line),
		 "attach --pid 7 --func c_* --config=%s --service fromflag --listen :9600 "
		 "--otlp-header e=f -q --buckets 1",
		 data("config-full.json"));
	ck_assert_msg(parse(&env, line) == 0, "%s", errbuf);
	ck_assert_int_eq(env.nfuncs, 1);
	ck_assert_str_eq(env.funcs[0], "c_*");
	ck_assert_int_eq(env.nkfuncs, 1); /* not given as a flag: the file's */
	ck_assert_str_eq(env.service, "fromflag");
	ck_assert_int_eq(env.listen_port, 9600);
	ck_assert_int_eq(env.notlp_headers, 1);
	ck_assert_str_eq(env.otlp_headers[0], "e=f");
	ck_assert_int_eq(env.bounds.n, 1);
	ck_assert(env.quiet);
	ck_assert_int_eq(env.verbose, 0);
	ck_assert_int_eq(log_level, LOG_QUIET);
	ck_assert_int_eq(env.max_series, 100);
	env__free(&env);

	/* other value shapes: a list as one string, false, numbers as text, comma pid lists */
	snprintf(line, sizeof(line), "attach --conf %s", data("config-types.json"));
	ck_assert_msg(parse(&env, line) == 0, "%s", errbuf);
	ck_assert_int_eq(env.bounds.n, 3);
	ck_assert_uint_eq(env.bounds.ns[0], 5000000);
	ck_assert(env.quiet);
	ck_assert(env.follow_children);
	ck_assert_int_eq(env.npids, 3);
	ck_assert_int_eq(env.pids[2], 5);
	ck_assert_int_eq(env.listen_port, 9600);
	env__free(&env);
	/* keys of options another command takes are skipped, so one file serves several commands */
	snprintf(line, sizeof(line), "symbols --binary /bin/true --config %s", data("config-full.json"));
	ck_assert_msg(parse(&env, line) == 0, "%s", errbuf);
	ck_assert_int_eq(env.nfuncs, 0);
	ck_assert_int_eq(env.verbose, 2);
	env__free(&env);
}
END_TEST

START_TEST(config_errors)
{
	struct env env;
	char line[1536], want[1536];

	ck_assert_int_eq(parse(&env, "attach --pid 7 --config /nonexistent/x.json"), 1);
	ck_assert_str_eq(errbuf, "obsprobe: --config: cannot read '/nonexistent/x.json': No such file or directory\n");
	env__free(&env);
	ck_assert_int_eq(parse(&env, "attach --pid 7 --config /"), 1);
	ck_assert_str_eq(errbuf, "obsprobe: --config: cannot read '/': Is a directory\n");
	env__free(&env);

#define CK_CONFIG(file, fmt)                                                            \
	do {                                                                            \
		snprintf(line, sizeof(line), "attach --pid 7 --config %s", data(file)); \
		snprintf(want, sizeof(want), "obsprobe: " fmt "\n", data(file));        \
		ck_assert_int_eq(parse(&env, line), 2);                                 \
		ck_assert_str_eq(errbuf, want);                                         \
		env__free(&env);                                                        \
	} while (0)
	CK_CONFIG("config-invalid.json", "--config: '%s' is not valid JSON (line 4, byte 52)");
	CK_CONFIG("config-unknown-key.json",
		  "--config: unknown key \"frobnicate\" in '%s' (keys are long option names, e.g. \"func\", \"listen\")");
	CK_CONFIG("config-not-object.json",
		  "--config: '%s' is not a JSON object (expected {\"func\": [\"handle_*\"], ...})");
	CK_CONFIG("config-bad-value.json",
		  "--config %s: \"listen\": '127.0.0.1:70000' has no port from 1 to 65535 (e.g. 127.0.0.1:9464)");
	CK_CONFIG("config-duplicate.json", "--config: \"service\" is given twice in '%s'");
	CK_CONFIG("config-wrong-number.json",
		  "--config %s: \"max_series\": '1.5' is not a whole number from 1 to 10000000");
	CK_CONFIG("config-wrong-type.json", "--config %s: \"no_syscalls\": expected true or false");
	CK_CONFIG("config-bad-regex.json", "--config %s: \"redact_patterns\": '(unclosed' is not an extended regular "
					   "expression: Unmatched ( or \\(");

	snprintf(line, sizeof(line), "attach --pid 7 --config %s --config %s", data("config-full.json"),
		 data("config-types.json"));
	ck_assert_int_eq(parse(&env, line), 2);
	ck_assert_str_eq(errbuf, "obsprobe: --config: given more than once (one file; flags override its values)\n");
	env__free(&env);
}
END_TEST

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

START_TEST(config_edge_files)
{
	struct env env;
	char path[64], line[128];

	snprintf(path, sizeof(path), "/tmp/obsprobe-test-env-%d.json", (int)getpid());
	snprintf(line, sizeof(line), "attach --pid 7 --config %s", path);
	write_file(path, "{\"func\": \"a\"}\0{}", 16);
	ck_assert_int_eq(parse(&env, line), 2);
	ck_assert_msg(strstr(errbuf, "NUL byte at byte 13"), "%s", errbuf);
	env__free(&env);
	write_file(path, "{} {}", 5);
	ck_assert_int_eq(parse(&env, line), 2);
	ck_assert_msg(strstr(errbuf, "is not valid JSON (line 1, byte 3)"), "%s", errbuf);
	env__free(&env);
	write_file(path, "", 0);
	ck_assert_int_eq(parse(&env, line), 2);
	ck_assert_msg(strstr(errbuf, "is not valid JSON (line 1, byte 0)"), "%s", errbuf);
	env__free(&env);
	write_file(path, "{\"otlp_header\": []}", 19); /* an empty list set in the file beats the environment */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://e:4318", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "k=v", 1);
	ck_assert_int_eq(parse(&env, line), 0);
	ck_assert_int_eq(env.notlp_headers, 0);
	ck_assert_str_eq(env.otlp_endpoint, "http://e:4318");
	env__free(&env);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
	unlink(path);
}
END_TEST

/* env__config_text: the file parser on a buffer (what fuzz_config drives), for the command in env->cmd */
START_TEST(config_text)
{
	static const char ok[] = "{\"max_series\": 5, \"func\": [\"handle_*\"], \"pid\": 9}";
	static const char bad[] = "{\"listen\": \"nowhere\"}";
	struct env env;

	ck_assert_int_eq(parse(&env, "attach --pid 7"), 0);
	ck_assert_int_eq(env__config_text(&env, "t.json", ok, sizeof(ok) - 1), 0);
	ck_assert_int_eq(env.max_series, 5);
	ck_assert_int_eq(env.nfuncs, 1);
	ck_assert_str_eq(env.funcs[0], "handle_*");
	ck_assert_int_eq(env.npids, 2); /* a file's list adds to what is there: flags replace it in env__parse */
	ck_assert_int_eq(env__config_text(&env, "t.json", bad, sizeof(bad) - 1), 2);
	ck_assert_int_eq(env.listen_port, 9464);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "symbols --binary /bin/true"), 0);
	ck_assert_int_eq(env__config_text(&env, "t.json", ok, sizeof(ok) - 1), 0);
	ck_assert_int_eq(env.max_series, 2000); /* not a symbols option: skipped */
	ck_assert_int_eq(env.npids, 1);
	env__free(&env);
}
END_TEST

START_TEST(environment)
{
	struct env env;

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel.example:4318/", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", " api-key = a%3Db%2Cc , x=y,", 1);
	setenv("OBSPROBE_RUNTIME_DIR", "/run/obs", 1);
	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert_str_eq(env.otlp_endpoint, "http://otel.example:4318");
	ck_assert(env.otlp_json);
	ck_assert_int_eq(env.notlp_headers, 2);
	ck_assert_str_eq(env.otlp_headers[0], "api-key=a=b,c");
	ck_assert_str_eq(env.otlp_headers[1], "x=y");
	ck_assert_str_eq(env.runtime_dir, "/run/obs");
	env__free(&env);
	/* flags win over the environment */
	ck_assert_int_eq(parse(&env, "serve --otlp-endpoint https://flag:1 --otlp-protocol http/protobuf "
				     "--otlp-header a=b"),
			 0);
	ck_assert_str_eq(env.otlp_endpoint, "https://flag:1");
	ck_assert(!env.otlp_json);
	ck_assert_int_eq(env.notlp_headers, 1);
	env__free(&env);

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "otel:4318", 1);
	ck_usage(&env, "serve",
		 "obsprobe: $OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' is not a URL (expected http://host:port)");
	ck_assert_int_eq(parse(&env, "serve --otlp-endpoint http://ok:1"), 0); /* a flag replaces it */
	env__free(&env);
	ck_assert_int_eq(parse(&env, "check"), 0); /* commands that export nothing ignore it */
	env__free(&env);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4317", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert(env.otlp_grpc);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --otlp-protocol http/protobuf"), 0); /* a flag replaces it */
	ck_assert(!env.otlp_grpc);
	env__free(&env);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none", 1);
	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert(env.otlp_no_gzip);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --otlp-compression gzip"), 0); /* a flag replaces it */
	ck_assert(!env.otlp_no_gzip);
	env__free(&env);
	unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "h2", 1);
	ck_usage_has(&env, "serve", "$OTEL_EXPORTER_OTLP_PROTOCOL: 'h2' is not http/protobuf, http/json or grpc");
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	ck_assert_int_eq(parse(&env, "serve"), 0); /* no export: the protocol does not matter */
	ck_assert_ptr_null(env.otlp_endpoint);
	env__free(&env);
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");

	setenv("OBSPROBE_RUNTIME_DIR", "shm", 1);
	ck_usage(&env, "serve", "obsprobe: $OBSPROBE_RUNTIME_DIR: 'shm' is not an absolute path (e.g. /dev/shm)");
	setenv("OBSPROBE_RUNTIME_DIR", "", 1);
	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert_str_eq(env.runtime_dir, "/dev/shm");
	env__free(&env);
	unsetenv("OBSPROBE_RUNTIME_DIR");
}
END_TEST

static char *usage_text(enum command cmd)
{
	static char *buf;
	size_t len;
	FILE *f;

	free(buf);
	f = open_memstream(&buf, &len);
	env__usage(f, cmd);
	fclose(f);
	return buf;
}

START_TEST(usage)
{
	char *all = strdup(usage_text(CMD_NONE));
	const char *u = all;

	ck_assert_ptr_nonnull(strstr(u, "  sudo obsprobe attach --pid $(pgrep -o nginx) --func 'ngx_http_*'\n"));
	ck_assert_ptr_nonnull(strstr(u, "  obsprobe run --preload -- python3 -m http.server 8000\n"));
	ck_assert_ptr_nonnull(strstr(u, "  obsprobe symbols --binary /usr/sbin/nginx 'ngx_http_*'\n"));
	ck_assert_ptr_nonnull(strstr(u, "obsprobe symbols (--pid PID | --binary PATH) [GLOB]"));
	ck_assert_ptr_nonnull(strstr(u, "--max-spans-per-second N"));
	ck_assert_ptr_nonnull(strstr(u, "OTEL_EXPORTER_OTLP_ENDPOINT"));
	ck_assert_str_eq(usage_text(CMD_HELP), all);
	free(all);

	u = usage_text(CMD_ATTACH);
	ck_assert_msg(!strncmp(u, "usage: obsprobe attach --pid PID [--pid PID...] [options]\n", 58), "%s", u);
	ck_assert_ptr_nonnull(strstr(u, "  --no-follow-children"));
	ck_assert_ptr_nonnull(strstr(u, "  --pid PID"));
	ck_assert_ptr_null(strstr(u, "--binary"));
	ck_assert_ptr_nonnull(strstr(u, "sudo obsprobe attach --pid $(pgrep -o nginx)"));

	u = usage_text(CMD_RUN);
	ck_assert_ptr_nonnull(strstr(u, "usage: obsprobe run [options] -- CMD [ARG...]\n"));
	ck_assert_ptr_null(strstr(u, "--pid"));
	ck_assert_ptr_nonnull(strstr(u, "  --preload"));

	u = usage_text(CMD_SYMBOLS);
	ck_assert_ptr_nonnull(strstr(u, "  --binary PATH"));
	ck_assert_ptr_null(strstr(u, "  --func"));
	ck_assert_ptr_nonnull(strstr(u, "obsprobe symbols --binary /usr/sbin/nginx 'ngx_http_*'"));

	u = usage_text(CMD_CHECK);
	ck_assert_ptr_nonnull(strstr(u, "usage: obsprobe check [--json]\n"));
	ck_assert_ptr_nonnull(strstr(u, "  --json"));
	ck_assert_ptr_null(strstr(u, "--listen"));
}
END_TEST

/* the fixtures: ./tests/data from the repository root, else next to the binary (build/tests/../../tests/data) */
static void find_datadir(void)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (access("tests/data/config-full.json", R_OK) == 0) {
		snprintf(datadir, sizeof(datadir), "tests/data");
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (strrchr(exe, '/'))
		*strrchr(exe, '/') = '\0';
	snprintf(datadir, sizeof(datadir), "%.*s/../../tests/data", 400, exe);
}

/* the shim segment bounds (issue 10): defaults, flags, config keys, bad values */
START_TEST(segment_bounds)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "serve"), 0);
	ck_assert_int_eq(env.max_services, 256);
	ck_assert_int_eq(env.max_segments_per_uid, 4096);
	ck_assert_int_eq(env.max_rejected_segments, 65536);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "serve --max-services 3 --max-segments-per-uid 5 --max-rejected-segments 10"), 0);
	ck_assert_int_eq(env.max_services, 3);
	ck_assert_int_eq(env.max_segments_per_uid, 5);
	ck_assert_int_eq(env.max_rejected_segments, 10);
	env__free(&env);
	ck_usage(&env, "serve --max-services 0",
		 "obsprobe: --max-services: '0' is not a whole number from 1 to 10000000");
	ck_usage_has(&env, "serve --max-segments-per-uid x", "--max-segments-per-uid");
	ck_usage_has(&env, "serve --max-rejected-segments -1", "--max-rejected-segments");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("env");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	find_datadir();
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
	unsetenv("OBSPROBE_RUNTIME_DIR");
	unsetenv("POSIXLY_CORRECT");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_option);
	tcase_add_test(tc, quiet_and_verbose);
	tcase_add_test(tc, pids);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, commands);
	tcase_add_test(tc, run_command);
	tcase_add_test(tc, symbols_command);
	tcase_add_test(tc, listen_forms);
	tcase_add_test(tc, otlp);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, buckets);
	tcase_add_test(tc, func_globs);
	tcase_add_test(tc, config_file);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, config_edge_files);
	tcase_add_test(tc, config_text);
	tcase_add_test(tc, environment);
	tcase_add_test(tc, usage);
	tcase_add_test(tc, max_overhead);
	tcase_add_test(tc, segment_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
