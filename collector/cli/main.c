/* main.c -- obsprobe's commands: wires capture sources, the registry and the HTTP server together */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "app/discover.h"
#include "app/run.h"
#include "source/bpfutil.h"
#include "cli/check.h"
#include "cli/env.h"
#include "base/log.h"
#include "base/privs.h"
#include "source/symbols.h"
#include "lib/clock.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* what the session needs of the configuration; it borrows the strings, which live as long as @env */
static struct app_opts app_opts(const struct env *env)
{
	return (struct app_opts){
		.cmd = env->cmd == CMD_RUN     ? APP_RUN
		       : env->cmd == CMD_SERVE ? APP_SERVE
					       : APP_ATTACH,
		.preload = env->preload,
		.service = env->service,
		.bounds = &env->bounds,
		.max_series = env->max_series,
		.container_labels = env->container_labels,
		.max_containers = env->max_containers,
		.runtime_dir = env->runtime_dir,
		.no_syscalls = env->no_syscalls,
		.no_net = env->no_net,
		.no_tls = env->no_tls,
		.no_http = env->no_http,
		.no_logs = env->no_logs,
		.follow_children = env->follow_children,
		.quiet = env->quiet,
		.funcs = env->funcs,
		.nfuncs = env->nfuncs,
		.kfuncs = env->kfuncs,
		.nkfuncs = env->nkfuncs,
		.redact_patterns = env->redact_patterns,
		.nredact_patterns = env->nredact_patterns,
		.otlp_endpoint = env->otlp_endpoint,
		.otlp_json = env->otlp_json,
		.otlp_grpc = env->otlp_grpc,
		.otlp_no_gzip = env->otlp_no_gzip,
		.otlp_headers = env->otlp_headers,
		.notlp_headers = env->notlp_headers,
		.otlp_timeout_ms = env->otlp_timeout_ms,
		.otlp_metrics = env->otlp_metrics,
		.otlp_metrics_interval_ms = env->otlp_metrics_interval_ms,
		.service_instance_id = env->service_instance_id,
		.spans_file = env->spans_file,
		.log_file = env->log_file,
		.sample_ratio = env->sample_ratio,
		.max_overhead = env->max_overhead,
		.payload_ring_mb = env->payload_ring_mb,
		.probe_stats = env->probe_stats,
		.max_spans_per_second = env->max_spans_per_second,
		.max_services = env->max_services,
		.max_segments_per_uid = env->max_segments_per_uid,
		.max_rejected_segments = env->max_rejected_segments,
		.listen_host = env->listen_host,
		.listen_port = env->listen_port,
		.web = env->web,
		.metrics_auth = env->metrics_auth,
		.tls_cert = env->tls_cert,
		.tls_key = env->tls_key,
		.run_user = env->run_user,
	};
}

#define POLL_NS (200 * 1000 * 1000ull)

/* attach and serve: the shared loop of attach/run/serve. @child is run's CMD (or 0). */
static int serve_loop(struct app *a, const struct env *env, pid_t child, int *child_status)
{
	double start = mono_ns() / 1e9;
	bool said_gone = false;

	uint64_t next_poll = mono_ns() + POLL_NS;

	for (;;) {
		/* rings every 20 ms (they must not fill) or at once when a process forked or exec'd (its uprobes are
		 * attached before it runs far), everything else every 200 ms */
		app__nap(a, 20);
		if (mono_ns() < next_poll) {
			app__drain(a);
			continue;
		}
		next_poll = mono_ns() + POLL_NS;
		app__poll(a);
		if (child) {
			int st;
			pid_t w = waitpid(child, &st, WNOHANG);

			if (w == child) {
				*child_status = st;
				return 0;
			}
			if (got_signal) {
				/* run: the command decides; pass the signal on and wait for it */
				kill(child, got_signal);
				got_signal = 0;
			}
		} else if (got_signal) {
			return 0;
		}
		if (env->duration > 0 && mono_ns() / 1e9 - start >= env->duration)
			return 0;
		/* with selectors, processes may come: nothing to say */
		if (!child && env->cmd == CMD_ATTACH && !said_gone && app__nalive(a) == 0 && env->npids &&
		    !env->nexes && !env->nports && !env->ncgroups) {
			ilog("every traced process has exited; still serving the last values at %s/metrics (Ctrl-C to stop)",
			     app__url(a));
			said_gone = true;
		}
	}
}

static int cmd_attach(struct env *env)
{
	struct app_opts ao = app_opts(env);
	struct app *a = NULL;
	int err = 1;

	struct disc_sel sel = { .exes = env->exes,
				.nexes = env->nexes,
				.ports = env->ports,
				.nports = env->nports,
				.cgroups = env->cgroups,
				.ncgroups = env->ncgroups };

	ao.select = &sel;
	a = app__new(&ao);
	if (!a)
		return 1;
	for (int i = 0; i < env->npids; i++)
		if (app__add_initial(a, env->pids[i]))
			goto cleanup;
	if (app__start(a))
		goto cleanup;
	install_signals();
	serve_loop(a, env, 0, NULL);
	err = 0;
cleanup:
	app__finish(a, err == 0);
	return err;
}

/* run: start CMD held at a gate until its probes are attached, then let it exec */
static int cmd_run(struct env *env)
{
	struct app_opts ao = app_opts(env);
	struct app *a = NULL;
	struct run_push *push = NULL;
	int gate[2] = { -1, -1 }, status = 0, err = 1;
	struct run_user user;
	char c = 'g', why[256];
	pid_t child;

	if (env->run_user) {
		if (privs__lookup_user(env->run_user, &user, why, sizeof(why))) {
			elog("%s", why);
			return 2;
		}
		if (geteuid() != 0) {
			elog("run: --user needs root: obsprobe switches to '%s' for CMD (sudo obsprobe run --user %s -- ...)",
			     env->run_user, env->run_user);
			return 2;
		}
	}
	if (env->pushgateway) {
		push = run__push_new(env->pushgateway, env->push_job, env->argv[0], env->push_interval);
		if (!push)
			return 1;
		ao.at_finish = run__push_at_finish;
		ao.at_finish_ctx = push;
	}
	a = app__new(&ao);
	if (!a) {
		run__push_free(push);
		return 1;
	}
	if (app__prepare_run(a, env->argv[0]))
		goto cleanup;
	if (pipe2(gate, O_CLOEXEC)) {
		elog("run: pipe: %s", strerror(errno));
		goto cleanup;
	}
	child = fork();
	if (child < 0) {
		elog("run: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (child == 0) {
		close(gate[1]);
		if (read(gate[0], &c, 1) != 1)
			_exit(127); /* obsprobe gave up before the start */
		/* traced from here on whoever it becomes */
		if (env->run_user && privs__become(&user)) {
			fprintf(stderr, "obsprobe: run: cannot become user '%s': %s\n", env->run_user, strerror(errno));
			_exit(126);
		}
		execvp(env->argv[0], env->argv);
		fprintf(stderr, "obsprobe: run: cannot execute '%s': %s\n", env->argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(gate[0]);
	gate[0] = -1;
	if (app__add_run_child(a, child, env->argv[0]) || app__start(a)) {
		close(gate[1]); /* the child exits 127 without running CMD */
		waitpid(child, NULL, 0);
		goto cleanup;
	}
	if (push)
		run__push_start(push, a);
	install_signals();
	if (write(gate[1], &c, 1) != 1) {
		elog("run: cannot start '%s': %s", env->argv[0], strerror(errno));
		goto cleanup;
	}
	close(gate[1]);
	gate[1] = -1;
	serve_loop(a, env, child, &status);
	if (env->duration > 0 && waitpid(child, &status, WNOHANG) == 0) {
		/* --duration ended the trace before CMD: it keeps running untraced */
		ilog("run: --duration reached; '%s' (pid %d) keeps running", env->argv[0], child);
		status = 0;
	}
	err = 0;
cleanup:
	if (gate[1] >= 0)
		close(gate[1]);
	run__push_stop(push);
	app__finish(a, err == 0); /* the last push, when --pushgateway */
	run__push_free(push);
	if (err)
		return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int cmd_serve(struct env *env)
{
	struct app_opts ao = app_opts(env);
	struct app *a = app__new(&ao);
	int err = 1;

	if (!a)
		return 1;
	if (app__start(a))
		goto cleanup;
	install_signals();
	serve_loop(a, env, 0, NULL);
	err = 0;
cleanup:
	app__finish(a, err == 0);
	return err;
}

int main(int argc, char **argv)
{
	struct env env;
	int rc;

	setvbuf(stderr, NULL, _IOLBF, 0);
	rc = env__parse(&env, argc, argv);
	if (rc) {
		env__free(&env);
		return rc;
	}
	bpfutil_setup_libbpf_logging();
	switch (env.cmd) {
	case CMD_ATTACH:
		rc = cmd_attach(&env);
		break;
	case CMD_RUN:
		rc = cmd_run(&env);
		break;
	case CMD_SERVE:
		rc = cmd_serve(&env);
		break;
	case CMD_SYMBOLS:
		rc = symbols_cmd_list(env.npids ? env.pids[0] : 0, env.binary, env.glob, stdout);
		break;
	case CMD_CHECK:
		rc = check_cmd(stdout, env.json);
		break;
	case CMD_VERSION:
		printf("obsprobe %s (libbpf %s)\n", OBSPROBE_VERSION, libbpf_version_str());
		rc = 0;
		break;
	default:
		env__usage(stdout, env.help_cmd);
		rc = 0;
		break;
	}
	env__free(&env);
	return rc;
}
