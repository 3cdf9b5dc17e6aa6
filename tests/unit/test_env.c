/* test_env.c -- option and --config parsing: defaults, every option, precedence, each usage error */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "log.h"

static int parse(struct env *env, const char *line)
{
	char *copy = strdup(line), *argv[64], *tok, *save;
	int argc = 0, rc;

	for (tok = strtok_r(copy, " ", &save); tok && argc < 63; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	/* silence the one-line errors: their text is checked by the integration test */
	{
		FILE *saved = stderr;

		stderr = fopen("/dev/null", "w");
		rc = env__parse(env, argc, argv);
		fclose(stderr);
		stderr = saved;
	}
	/* strings point into copy only for run's argv; keep it alive for the test */
	if (env->cmd != CMD_RUN)
		free(copy);
	return rc;
}

START_TEST(defaults)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "obsprobe attach --pid 42"), 0);
	ck_assert_int_eq(env.cmd, CMD_ATTACH);
	ck_assert_int_eq(env.npids, 1);
	ck_assert_int_eq(env.pids[0], 42);
	ck_assert_str_eq(env.listen_host, "127.0.0.1");
	ck_assert_int_eq(env.listen_port, 9464);
	ck_assert(env.follow_children);
	ck_assert_int_eq(env.max_series, 2000);
	ck_assert_int_eq(env.max_spans_per_second, 10000);
	ck_assert(env.sample_ratio == 1.0);
	ck_assert_int_eq(env.bounds.n, 22);
	ck_assert_uint_eq(env.bounds.ns[0], 1000);
	ck_assert(!env.quiet);
	env__free(&env);
}
END_TEST

START_TEST(every_option)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "obsprobe attach --pid 1 --pid 2 --func handle_* --func libc.so.6:malloc "
				     "--kfunc vfs_* --no-syscalls --no-net --no-http --no-logs --listen 0.0.0.0:9500 "
				     "--service api --otlp-endpoint http://127.0.0.1:4318 --otlp-protocol http/json "
				     "--otlp-header a=b --spans-file /tmp/s --log-file - --sample-ratio 0.25 "
				     "--max-spans-per-second 5 --max-series 10 --buckets 0.001,0.1 --duration 2.5 "
				     "--metrics-auth /tmp/a --no-follow-children -q -v"),
			 0);
	ck_assert_int_eq(env.npids, 2);
	ck_assert_int_eq(env.nfuncs, 2);
	ck_assert_str_eq(env.funcs[1], "libc.so.6:malloc");
	ck_assert_str_eq(env.kfuncs[0], "vfs_*");
	ck_assert(env.no_syscalls && env.no_net && env.no_http && env.no_logs);
	ck_assert_str_eq(env.listen_host, "0.0.0.0");
	ck_assert_int_eq(env.listen_port, 9500);
	ck_assert_str_eq(env.service, "api");
	ck_assert_str_eq(env.otlp_endpoint, "http://127.0.0.1:4318");
	ck_assert(env.otlp_json);
	ck_assert_str_eq(env.otlp_headers[0], "a=b");
	ck_assert_str_eq(env.log_file, "-");
	ck_assert(env.sample_ratio == 0.25);
	ck_assert_int_eq(env.max_spans_per_second, 5);
	ck_assert_int_eq(env.max_series, 10);
	ck_assert_int_eq(env.bounds.n, 2);
	ck_assert(env.duration == 2.5);
	ck_assert(!env.follow_children);
	ck_assert(env.quiet);
	ck_assert_int_eq(log_level, LOG_QUIET);
	env__free(&env);
}
END_TEST

START_TEST(listen_forms)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "obsprobe serve --listen [::1]:9000"), 0);
	ck_assert_str_eq(env.listen_host, "::1");
	ck_assert_int_eq(env.listen_port, 9000);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "obsprobe serve --listen :9001"), 0);
	ck_assert_str_eq(env.listen_host, "127.0.0.1");
	ck_assert_int_eq(env.listen_port, 9001);
	env__free(&env);
	ck_assert_int_eq(parse(&env, "obsprobe serve --listen localhost:9002"), 0);
	ck_assert_str_eq(env.listen_host, "localhost");
	env__free(&env);
}
END_TEST

START_TEST(run_and_symbols)
{
	struct env env;

	ck_assert_int_eq(parse(&env, "obsprobe run --preload --func f -- ls -l /"), 0);
	ck_assert_int_eq(env.cmd, CMD_RUN);
	ck_assert(env.preload);
	ck_assert_int_eq(env.argc, 3);
	ck_assert_str_eq(env.argv[0], "ls");
	ck_assert_str_eq(env.argv[1], "-l");
	env__free(&env);
	ck_assert_int_eq(parse(&env, "obsprobe symbols --binary /bin/true main*"), 0);
	ck_assert_str_eq(env.binary, "/bin/true");
	ck_assert_str_eq(env.glob, "main*");
	env__free(&env);
}
END_TEST

START_TEST(usage_errors)
{
	struct env env;
	const char *bad[] = {
		"obsprobe",
		"obsprobe frob",
		"obsprobe attach",
		"obsprobe attach --pid 0",
		"obsprobe attach --pid -3",
		"obsprobe attach --pid 12x",
		"obsprobe attach --pid 1 --frob",
		"obsprobe attach --pid 1 --listen 1.2.3.4",
		"obsprobe attach --pid 1 --listen 1.2.3.4:0",
		"obsprobe attach --pid 1 --listen a/b:80",
		"obsprobe attach --pid 1 --buckets x",
		"obsprobe attach --pid 1 --sample-ratio 2",
		"obsprobe attach --pid 1 --duration -1",
		"obsprobe attach --pid 1 --max-series 0",
		"obsprobe attach --pid 1 --otlp-endpoint ftp://x",
		"obsprobe attach --pid 1 --otlp-endpoint http://",
		"obsprobe attach --pid 1 --otlp-protocol grpc",
		"obsprobe attach --pid 1 --otlp-header novalue",
		"obsprobe attach --pid 1 --tls-cert /a",
		"obsprobe attach --pid 1 --func lib.so:",
		"obsprobe attach --pid 1 extra",
		"obsprobe attach --pid",
		"obsprobe run",
		"obsprobe run --pid 3 -- ls",
		"obsprobe symbols",
		"obsprobe symbols --pid 1 --binary /bin/ls",
		"obsprobe check extra",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(&env, bad[i]);

		ck_assert_msg(rc == 2, "'%s' gave %d, want 2", bad[i], rc);
		env__free(&env);
	}
}
END_TEST

static char *write_config(const char *json)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/obsprobe-test-config-%d.json", getpid());
	f = fopen(path, "w");
	fputs(json, f);
	fclose(f);
	return path;
}

START_TEST(config_and_precedence)
{
	struct env env;
	char line[256];
	char *path = write_config("{\"func\": [\"a_*\", \"b_*\"], \"listen\": \"127.0.0.1:9700\", \"buckets\": [0.001, 0.01],"
				  " \"duration\": 5, \"no_syscalls\": true, \"sample-ratio\": 0.5,"
				  " \"redact_patterns\": [\"x[0-9]+\"], \"service\": \"fromfile\"}");

	snprintf(line, sizeof(line), "obsprobe attach --pid 7 --config %s --func c_* --service fromflag", path);
	ck_assert_int_eq(parse(&env, line), 0);
	ck_assert_int_eq(env.nfuncs, 1); /* the flag's list replaces the file's */
	ck_assert_str_eq(env.funcs[0], "c_*");
	ck_assert_str_eq(env.service, "fromflag");
	ck_assert_int_eq(env.listen_port, 9700);
	ck_assert_int_eq(env.bounds.n, 2);
	ck_assert_uint_eq(env.bounds.ns[1], 10000000);
	ck_assert(env.duration == 5);
	ck_assert(env.no_syscalls);
	ck_assert(env.sample_ratio == 0.5);
	ck_assert_int_eq(env.nredact_patterns, 1);
	env__free(&env);

	path = write_config("{\"func\": [\"a_*\"]}");
	snprintf(line, sizeof(line), "obsprobe attach --pid 7 --config %s", path);
	ck_assert_int_eq(parse(&env, line), 0);
	ck_assert_int_eq(env.nfuncs, 1);
	ck_assert_str_eq(env.funcs[0], "a_*");
	env__free(&env);

	path = write_config("{\"func\": [\"a_*\",");
	snprintf(line, sizeof(line), "obsprobe attach --pid 7 --config %s", path);
	ck_assert_int_eq(parse(&env, line), 2);
	env__free(&env);
	path = write_config("{\"frob\": 1}");
	ck_assert_int_eq(parse(&env, line), 2);
	env__free(&env);
	path = write_config("[1,2]");
	ck_assert_int_eq(parse(&env, line), 2);
	env__free(&env);
	path = write_config("{\"listen\": \"nope\"}");
	ck_assert_int_eq(parse(&env, line), 2);
	env__free(&env);
	unlink(path);
	ck_assert_int_eq(parse(&env, "obsprobe attach --pid 7 --config /nonexistent/x.json"), 1);
	env__free(&env);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("env");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_option);
	tcase_add_test(tc, listen_forms);
	tcase_add_test(tc, run_and_symbols);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, config_and_precedence);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
