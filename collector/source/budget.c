/* budget.c -- the overhead budget's decision: is the probes' CPU over PCT of the traced processes', what next */
#include "source/budget.h"

static const char *const shed_names[SHED__COUNT] = {
	[SHED_PAYLOAD] = "payload",
	[SHED_LOGS] = "logs",
	[SHED_SYSCALLS] = "syscalls",
	[SHED_FUNC] = "functions",
};

const char *shed_step__name(enum shed_step step)
{
	return (unsigned)step < SHED__COUNT ? shed_names[step] : "unknown";
}

void budget__decide(double max_pct, const struct budget_window *w, unsigned left, struct budget_verdict *v)
{
	double trap = w->uprobe_hit_ns > 0 ? w->uprobe_hit_ns * (double)w->uprobe_hits : 0;

	/* the calibrated hit cost includes the program's run: only the rest is the trap */
	v->trap_ns = trap > (double)w->uprobe_run_ns ? (uint64_t)(trap - (double)w->uprobe_run_ns) : 0;
	v->cost_ns = w->probe_ns + v->trap_ns;
	v->step = -1;
	v->over = false;
	if (!w->target_ns || w->target_ns < w->min_target_ns) {
		v->pct = -1;
		return;
	}
	v->pct = (double)v->cost_ns * 100.0 / (double)w->target_ns;
	v->over = max_pct > 0 && v->pct > max_pct;
	if (!v->over)
		return;
	for (int s = 0; s < SHED__COUNT; s++)
		if (left & (1u << s)) {
			v->step = s;
			return;
		}
}

int budget__step(double max_pct, const struct budget_window *w, unsigned *left,
		 int (*try_step)(void *ctx, enum shed_step step), void *ctx, struct budget_verdict *v)
{
	budget__decide(max_pct, w, *left, v);
	while (v->over && v->step >= 0) {
		if (try_step(ctx, v->step))
			return v->step;
		*left &= ~(1u << v->step);
		budget__decide(max_pct, w, *left, v);
	}
	return -1;
}
