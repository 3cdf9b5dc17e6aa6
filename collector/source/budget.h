/* budget.h -- the overhead budget's decision (--max-overhead): one window's probe and target CPU in, the step to
 * shed out; pure (docs/SPEC.md "Overhead budget") */
#ifndef OBSPROBE_BUDGET_H
#define OBSPROBE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* what the budget sheds, in this order, one step per window while over */
enum shed_step {
	SHED_PAYLOAD,  /* payload capture sampled per connection (1 in 8 of those not captured yet) */
	SHED_LOGS,     /* stdout/stderr log capture */
	SHED_SYSCALLS, /* per-syscall histograms and errno counts (socket counters stay) */
	SHED_FUNC,     /* the hottest --func function's uprobes (one function per step; the step repeats) */
	SHED__COUNT,
};
#define SHED_ALL ((1u << SHED__COUNT) - 1)

/* the `what` label of obsprobe_shed_total: "payload", "logs", "syscalls", "functions" */
const char *shed_step__name(enum shed_step step);

/* one window's numbers */
struct budget_window {
	uint64_t probe_ns;	/* the BPF programs' run time (kernel statistics), all of them */
	uint64_t uprobe_run_ns; /* the part of probe_ns that uprobe programs ran */
	uint64_t uprobe_hits;	/* uprobe hits counted (function calls) */
	double uprobe_hit_ns;	/* calibrated cost of one hit, trap included; < 0: not calibrated */
	uint64_t target_ns;	/* the traced processes' CPU, user + system */
	uint64_t min_target_ns; /* below this the targets were idle: no verdict (their CPU is counted in ticks) */
};

struct budget_verdict {
	uint64_t trap_ns; /* uprobe trap cost beyond the programs' own run time: hit cost x hits - uprobe_run_ns */
	uint64_t cost_ns; /* probe_ns + trap_ns */
	double pct;	  /* cost_ns as a percentage of target_ns; < 0 when the targets were idle */
	bool over;	  /* pct > the budget */
	int step;	  /* over: the first step of @left in SHED order (-1: nothing left to shed); else -1 */
};

/* The verdict on @w under a budget of @max_pct percent (0 < max_pct <= 100), with @left the steps still
 * possible (bit 1 << enum shed_step). */
void budget__decide(double max_pct, const struct budget_window *w, unsigned left, struct budget_verdict *v);

/* One window's step: budget__decide, then @try_step(@ctx, step) on the step it names; a step that has nothing
 * (more) to shed (@try_step returns 0) leaves @left and the next one is tried, in the same window.  Returns the
 * step shed, or -1 (under budget, idle, or nothing left: @v says which). */
int budget__step(double max_pct, const struct budget_window *w, unsigned *left,
		 int (*try_step)(void *ctx, enum shed_step step), void *ctx, struct budget_verdict *v);

#endif
