/* test_budget.c -- the overhead budget's decision (source/budget.c): one window's probe and target CPU in, the
 * step to shed out, in the documented order, one per window, none when idle or under budget */
#include <check.h>
#include <string.h>

#include "source/budget.h"
#include "source/source.h"

#define MS 1000000ull

static struct budget_window win(uint64_t probe_ms, uint64_t target_ms)
{
	return (struct budget_window){
		.probe_ns = probe_ms * MS, .target_ns = target_ms * MS, .uprobe_hit_ns = -1, .min_target_ns = 20 * MS
	};
}

START_TEST(under_and_over)
{
	struct budget_window w = win(40, 1000);
	struct budget_verdict v;

	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert(!v.over);
	ck_assert_int_eq(v.step, -1);
	ck_assert_uint_eq(v.cost_ns, 40 * MS);
	ck_assert_double_eq_tol(v.pct, 4.0, 1e-9);
	/* at the budget exactly: not over it */
	w = win(50, 1000);
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert(!v.over);
	w = win(51, 1000);
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert(v.over);
	ck_assert_int_eq(v.step, SHED_PAYLOAD);
	/* the probes may cost more than the targets themselves */
	w = win(1500, 1000);
	budget__decide(100, &w, SHED_ALL, &v);
	ck_assert(v.over);
	ck_assert_double_eq_tol(v.pct, 150.0, 1e-9);
	/* no budget: never over */
	budget__decide(0, &w, SHED_ALL, &v);
	ck_assert(!v.over);
	ck_assert_int_eq(v.step, -1);
}
END_TEST

START_TEST(idle_targets_give_no_verdict)
{
	struct budget_window w = win(500, 0);
	struct budget_verdict v;

	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert(!v.over);
	ck_assert(v.pct < 0);
	ck_assert_int_eq(v.step, -1);
	ck_assert_uint_eq(v.cost_ns, 500 * MS); /* the cost is still known */
	/* less than the minimum the tick counts can tell (two ticks) */
	w = win(500, 19);
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert(!v.over);
	ck_assert(v.pct < 0);
	w = win(500, 20);
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert(v.over);
}
END_TEST

START_TEST(order)
{
	struct budget_window w = win(100, 1000);
	struct budget_verdict v;

	budget__decide(5, &w, SHED_ALL & ~(1u << SHED_PAYLOAD), &v);
	ck_assert_int_eq(v.step, SHED_LOGS);
	budget__decide(5, &w, (1u << SHED_SYSCALLS) | (1u << SHED_FUNC), &v);
	ck_assert_int_eq(v.step, SHED_SYSCALLS);
	budget__decide(5, &w, 1u << SHED_FUNC, &v);
	ck_assert_int_eq(v.step, SHED_FUNC);
	budget__decide(5, &w, 0, &v);
	ck_assert(v.over);
	ck_assert_int_eq(v.step, -1);
	ck_assert_str_eq(shed_step__name(SHED_PAYLOAD), "payload");
	ck_assert_str_eq(shed_step__name(SHED_LOGS), "logs");
	ck_assert_str_eq(shed_step__name(SHED_SYSCALLS), "syscalls");
	ck_assert_str_eq(shed_step__name(SHED_FUNC), "functions");
	ck_assert_str_eq(shed_step__name(SHED__COUNT), "unknown");
}
END_TEST

START_TEST(uprobe_trap_estimate)
{
	struct budget_window w = win(10, 1000);
	struct budget_verdict v;

	/* 100 hits of 15 us each, of which the programs' own run time (0.5 ms) is already in probe_ns */
	w.uprobe_hit_ns = 15000;
	w.uprobe_hits = 100;
	w.uprobe_run_ns = MS / 2;
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert_uint_eq(v.trap_ns, MS);
	ck_assert_uint_eq(v.cost_ns, 11 * MS);
	ck_assert(!v.over);
	/* 10,000 hits: 150 ms of traps, over 5% */
	w.uprobe_hits = 10000;
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert_uint_eq(v.trap_ns, 150 * MS - MS / 2);
	ck_assert(v.over);
	/* the programs ran longer than the calibrated cost: no negative trap */
	w.uprobe_hits = 10;
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert_uint_eq(v.trap_ns, 0);
	/* not calibrated: the run time alone */
	w.uprobe_hits = 10000;
	w.uprobe_hit_ns = -1;
	budget__decide(5, &w, SHED_ALL, &v);
	ck_assert_uint_eq(v.trap_ns, 0);
	ck_assert_uint_eq(v.cost_ns, 10 * MS);
}
END_TEST

/* without the kernel's statistics (no --probe-stats, no --max-overhead) the programs' run times are 0: the uprobe
 * cost the --func line reports is then the whole calibrated cost per call, and no budget judges */
START_TEST(no_statistics)
{
	struct budget_window w = win(0, 1000);
	struct budget_verdict v;

	w.uprobe_hit_ns = 15000;
	w.uprobe_hits = 4000;
	budget__decide(0, &w, SHED_ALL, &v);
	ck_assert_uint_eq(v.trap_ns, 60 * MS);
	ck_assert_uint_eq(v.cost_ns, 60 * MS);
	ck_assert_double_eq_tol(v.pct, 6.0, 1e-9);
	ck_assert(!v.over);
	ck_assert_int_eq(v.step, -1);
	/* and nothing known at all: a cost of 0, never over */
	w = win(0, 1000);
	budget__decide(0, &w, SHED_ALL, &v);
	ck_assert_uint_eq(v.cost_ns, 0);
	ck_assert(!v.over);
}
END_TEST

/* a session's sources as the budget sees them: what each step still has to shed */
struct fake {
	int have[SHED__COUNT]; /* how many times each step can still be taken */
	int taken[SHED__COUNT];
	int tries;
};

static int try_step(void *ctx, enum shed_step step)
{
	struct fake *f = ctx;

	f->tries++;
	if (!f->have[step])
		return 0;
	f->have[step]--;
	f->taken[step]++;
	return 1;
}

START_TEST(one_step_per_window)
{
	/* no log capture; two --func functions */
	struct fake f = { .have = { [SHED_PAYLOAD] = 1, [SHED_LOGS] = 0, [SHED_SYSCALLS] = 1, [SHED_FUNC] = 2 } };
	struct budget_window over = win(100, 1000), under = win(10, 1000), idle = win(100, 0);
	struct budget_verdict v;
	unsigned left = SHED_ALL;

	ck_assert_int_eq(budget__step(5, &over, &left, try_step, &f, &v), SHED_PAYLOAD);
	ck_assert_int_eq(f.tries, 1);
	/* under budget, or idle: nothing is tried */
	ck_assert_int_eq(budget__step(5, &under, &left, try_step, &f, &v), -1);
	ck_assert_int_eq(budget__step(5, &idle, &left, try_step, &f, &v), -1);
	ck_assert_int_eq(f.tries, 1);
	/* the payload step has nothing more, logs never had: both leave, syscalls is shed in the same window */
	ck_assert_int_eq(budget__step(5, &over, &left, try_step, &f, &v), SHED_SYSCALLS);
	ck_assert_int_eq(f.tries, 4);
	ck_assert_uint_eq(left, (1u << SHED_SYSCALLS) | (1u << SHED_FUNC));
	ck_assert_int_eq(budget__step(5, &over, &left, try_step, &f, &v), SHED_FUNC);
	ck_assert_int_eq(budget__step(5, &over, &left, try_step, &f, &v), SHED_FUNC);
	/* everything shed: over, with nothing left */
	ck_assert_int_eq(budget__step(5, &over, &left, try_step, &f, &v), -1);
	ck_assert(v.over);
	ck_assert_int_eq(v.step, -1);
	ck_assert_uint_eq(left, 0);
	ck_assert_int_eq(f.taken[SHED_PAYLOAD], 1);
	ck_assert_int_eq(f.taken[SHED_LOGS], 0);
	ck_assert_int_eq(f.taken[SHED_SYSCALLS], 1);
	ck_assert_int_eq(f.taken[SHED_FUNC], 2);
}
END_TEST

/* source_set__shed: the first source that has the step takes it */
static int shed_none(void *s, enum shed_step step, char *what, size_t len)
{
	(void)s;
	(void)step;
	(void)what;
	(void)len;
	return 0;
}

static int shed_funcs(void *s, enum shed_step step, char *what, size_t len)
{
	int *n = s;

	if (step != SHED_FUNC || !*n)
		return 0;
	(*n)--;
	snprintf(what, len, "f%d", *n);
	return 1;
}

START_TEST(set_shed)
{
	static const struct source_ops a = { .name = "a", .shed = shed_none }, b = { .name = "b" },
				       c = { .name = "c", .shed = shed_funcs };
	int nfuncs = 1;
	struct source_set set = { .ops = { &a, &b, &c }, .s = { NULL, NULL, &nfuncs }, .n = 3 };
	char what[32] = "";

	ck_assert_int_eq(source_set__shed(&set, SHED_PAYLOAD, what, sizeof(what)), 0);
	ck_assert_int_eq(source_set__shed(&set, SHED_FUNC, what, sizeof(what)), 1);
	ck_assert_str_eq(what, "f0");
	ck_assert_int_eq(source_set__shed(&set, SHED_FUNC, what, sizeof(what)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, under_and_over);
	tcase_add_test(tc, idle_targets_give_no_verdict);
	tcase_add_test(tc, order);
	tcase_add_test(tc, uprobe_trap_estimate);
	tcase_add_test(tc, no_statistics);
	tcase_add_test(tc, one_step_per_window);
	tcase_add_test(tc, set_shed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
