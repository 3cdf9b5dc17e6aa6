/* discsess.h -- discovery in a session: the selectors' matches become targets (at the start from /proc, later
 * from the exec/listen/cgroup candidate events), and whether a target's --func uprobes are per binary */
#ifndef OBSPROBE_DISCSESS_H
#define OBSPROBE_DISCSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app/app.h"
#include "app/discover.h"
#include "app/targets.h"
#include "source/source.h"

struct disc_session {
	struct discover *d; /* NULL: no selectors */
	struct targets *ts;
	struct source_set *set;
	bool exe_only; /* only --exe selectors: a matched binary runs in targets alone (per-binary uprobes) */
	bool funcs;    /* --func given */
	bool follow;   /* follow children: a match's children join with it */
	int at_start;  /* matched when it started */
	int later;     /* matched since */
};

/* selectors in @o (attach): check them (eBPF only); @service gets a name from --exe when it is empty.  0, or 1
 * after printing why */
int disc_session__init(struct disc_session *ds, const struct app_opts *o, bool ebpf, struct targets *ts,
		       struct source_set *set, char *service, size_t servicelen);
void disc_session__free(struct disc_session *ds);
/* the candidate events the sources must report (OBS_DISC_*), 0 without selectors */
uint32_t disc_session__events(const struct disc_session *ds);
/* the sources are up: the running processes that match join the targets table (the session adds their probes) */
void disc_session__start(struct disc_session *ds);
/* a candidate event: a match becomes a target with its probes */
void disc_session__candidate(struct disc_session *ds, uint32_t why, pid_t pid, uint32_t port);
/* @t exec'd: what matched may have changed (its per-binary uprobes too) */
void disc_session__rematch(struct disc_session *ds, struct target *t);
/* the start line's "tracing ..." part; false without selectors */
bool disc_session__who(const struct disc_session *ds, char *out, size_t len);

#endif
