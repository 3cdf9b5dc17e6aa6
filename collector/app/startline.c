/* startline.c -- the line a session says when it starts: who is traced, with what, where the metrics are */
#include <stdio.h>
#include <string.h>

#include "app/startline.h"
#include "base/log.h"

static void add(char *what, size_t len, const char *s)
{
	snprintf(what + strlen(what), len - strlen(what), "%s", s);
}

void startline__print(const struct app_opts *opts, const struct targets *targets, struct source_set *sources,
		      struct startline_what w, const char *url)
{
	const struct target *first = &targets->t[0];
	char what[512] = "", who[256];
	int children = 0, initial = 0;

	for (int i = 0; i < targets->n; i++) {
		children += !targets->t[i].initial && targets->t[i].alive;
		initial += targets->t[i].initial;
	}
	if (opts->cmd == APP_SERVE)
		snprintf(who, sizeof(who), "every process running with libobsshim.so in %s", opts->runtime_dir);
	else if (w.who)
		snprintf(who, sizeof(who), "%s", w.who);
	else if (initial == 1)
		snprintf(who, sizeof(who), "%s (pid %d%s%.0d%s)", first->comm, first->pid, children ? " + " : "",
			 children, children ? (children == 1 ? " child" : " children") : "");
	else
		snprintf(who, sizeof(who), "%d processes%s%.0d%s", initial, children ? " + " : "", children,
			 children ? (children == 1 ? " child" : " children") : "");
	source_set__describe(sources, what, sizeof(what));
	if (!opts->no_syscalls)
		add(what, sizeof(what), "syscalls, ");
	if (!opts->no_syscalls && !opts->no_net)
		add(what, sizeof(what), "net, ");
	if (w.http && (!w.ebpf || (!opts->no_syscalls && !opts->no_net)))
		add(what, sizeof(what), "http, ");
	if (w.logs && (!w.ebpf || !opts->no_syscalls))
		add(what, sizeof(what), "logs, ");
	if (what[0])
		what[strlen(what) - 2] = '\0';
	else
		snprintf(what, sizeof(what), "process lifecycle only");
	ilog("tracing %s with %s: %s; metrics at %s/metrics", who, w.ebpf ? "eBPF" : "the shim", what, url);
	if (opts->otlp_endpoint || opts->spans_file || opts->log_file)
		vlog("spans/logs to%s%s%s%s%s%s", opts->otlp_endpoint ? " OTLP " : "",
		     opts->otlp_endpoint ? opts->otlp_endpoint : "", opts->spans_file ? " --spans-file " : "",
		     opts->spans_file ? opts->spans_file : "", opts->log_file ? " --log-file " : "",
		     opts->log_file ? opts->log_file : "");
}
