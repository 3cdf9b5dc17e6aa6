/* discsess.c -- discovery in a session: selector matches become targets, now and as processes come */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/syscalls.h"
#include "app/discsess.h"
#include "base/log.h"
#include "source/funclat.h"
#include "source/procs.h"

/* funclat's question: are @pid's main-binary uprobes to be its binary's (pid -1, once per file)? */
static bool per_binary(void *ctx, pid_t pid)
{
	struct disc_session *ds = ctx;
	struct target *t = targets__find(ds->ts, pid);

	return t && t->alive && t->per_binary;
}

int disc_session__init(struct disc_session *ds, const struct app_opts *o, bool ebpf, struct targets *ts,
		       struct source_set *set, char *service, size_t servicelen)
{
	char err[512];

	memset(ds, 0, sizeof(*ds));
	ds->ts = ts;
	ds->set = set;
	if (disc_sel__empty(o->select))
		return 0;
	if (!ebpf || o->cmd != APP_ATTACH) {
		elog("attach --exe/--port/--cgroup: discovery needs eBPF (root, without --preload): new processes are seen at exec");
		return 1;
	}
	ds->d = discover__new(o->select, err, sizeof(err));
	if (!ds->d) {
		elog("%s", err);
		return 1;
	}
	ds->exe_only = o->select->nexes && !o->select->nports && !o->select->ncgroups;
	ds->funcs = o->nfuncs > 0;
	ds->follow = o->follow_children;
	/* the service: the --exe name when it is one ("nginx"), not a pattern */
	if (!service[0] && o->select->nexes) {
		const char *g = o->select->exes[0], *base = strrchr(g, '/') ? strrchr(g, '/') + 1 : g;

		if (*base && !strpbrk(base, "*?[\\"))
			snprintf(service, servicelen, "%s", base);
	}
	return 0;
}

void disc_session__free(struct disc_session *ds)
{
	discover__free(ds->d);
	ds->d = NULL;
}

uint32_t disc_session__events(const struct disc_session *ds)
{
	return ds->d ? discover__events(ds->d) : 0;
}

/* a match joins the table (a pid the user named keeps "pid"); NULL when the table is full */
static struct target *join(struct disc_session *ds, pid_t pid, const char *why, bool by_binary)
{
	char comm[64] = "";
	struct target *t;

	proc_comm(pid, comm, sizeof(comm));
	t = targets__add(ds->ts, pid, comm, false);
	if (!t) {
		vlog("discovery: pid %d (%s) matches (%s) but the target table is full", pid, comm, why);
		return NULL;
	}
	if (!t->initial)
		snprintf(t->why, sizeof(t->why), "%s", why);
	t->per_binary = by_binary && ds->exe_only && ds->funcs;
	return t;
}

static void found(void *ctx, pid_t pid, const char *why, bool by_binary)
{
	struct disc_session *ds = ctx;

	if (join(ds, pid, why, by_binary))
		ds->at_start++;
}

void disc_session__start(struct disc_session *ds)
{
	void *fl;

	if (!ds->d)
		return;
	fl = source_set__find(ds->set, &funclat_source);
	if (fl)
		funclat__per_binary(fl, per_binary, ds);
	discover__scan(ds->d, found, ds);
}

void disc_session__candidate(struct disc_session *ds, uint32_t why, pid_t pid, uint32_t port)
{
	struct target *t = targets__find(ds->ts, pid);
	char because[DISC_WHY_LEN], err[512];
	bool bin;

	if (!ds->d || (t && t->alive) || !discover__check(ds->d, pid, port, because, sizeof(because), &bin))
		return;
	t = join(ds, pid, because, bin);
	if (!t)
		return;
	ds->later++;
	vlog("discovered pid %d (%s) at its %s: %s", pid, t->comm,
	     why == OBS_DISC_EXEC     ? "exec"
	     : why == OBS_DISC_LISTEN ? "listen"
				      : "cgroup move",
	     because);
	if (source_set__add_target(ds->set, pid, false, err, sizeof(err)))
		vlog("%s", err);
	if (ds->follow) {
		/* children it forked before it was traced (a prefork server's workers, right after its exec or listen);
		 * the ones it forks from now on are followed by the fork tracepoint */
		pid_t kids[256];
		int nk = proc_descendants(pid, kids, 256);

		for (int k = 0; k < nk; k++) {
			char comm[64] = "";

			if (targets__find(ds->ts, kids[k]))
				continue;
			proc_comm(kids[k], comm, sizeof(comm));
			if (targets__add(ds->ts, kids[k], comm, false))
				source_set__add_target(ds->set, kids[k], false, err, sizeof(err));
		}
	}
}

void disc_session__rematch(struct disc_session *ds, struct target *t)
{
	char because[DISC_WHY_LEN];
	bool bin;

	if (!ds->d || !t->why[0])
		return;
	/* still traced either way (it was a target); what it matches now, and its uprobes' kind */
	if (discover__check(ds->d, t->pid, 0, because, sizeof(because), &bin)) {
		snprintf(t->why, sizeof(t->why), "%s", because);
		t->per_binary = bin && ds->exe_only && ds->funcs;
	} else {
		snprintf(t->why, sizeof(t->why), "exec after a match");
		t->per_binary = false;
	}
}

bool disc_session__who(const struct disc_session *ds, char *out, size_t len)
{
	char sel[512];
	int n;

	if (!ds->d)
		return false;
	n = targets__nalive(ds->ts);
	discover__describe(ds->d, sel, sizeof(sel));
	snprintf(out, len, "%d process%s (%d matching %s at start, new ones at exec%s%s)", n, n == 1 ? "" : "es",
		 ds->at_start, sel, disc_session__events(ds) & OBS_DISC_LISTEN ? "/listen" : "",
		 disc_session__events(ds) & OBS_DISC_CGROUP ? "/cgroup move" : "");
	return true;
}
