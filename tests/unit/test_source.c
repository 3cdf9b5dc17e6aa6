/* test_source.c -- the loops a session runs over its capture sources (source.h), with fake sources */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

/* what the fakes saw, in order */
static char trail[256];

static void note(const char *what)
{
	strncat(trail, what, sizeof(trail) - strlen(trail) - 1);
}

struct fake {
	const char *name;
	int traced_fd_seen;
	bool fail_targets;
};

static struct fake fa = { "a", 0, false }, fc = { "c", 0, false };

static void *new_a(const struct source_opts *o, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	fa.traced_fd_seen = o->traced_fd;
	note("new:a ");
	return &fa;
}

static void *new_unwanted(const struct source_opts *o, char *err, size_t errlen)
{
	(void)o, (void)err, (void)errlen;
	note("new:b ");
	return NULL; /* not wanted: @err stays empty */
}

static void *new_c(const struct source_opts *o, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	fc.traced_fd_seen = o->traced_fd;
	note("new:c ");
	return &fc;
}

static void *new_failing(const struct source_opts *o, char *err, size_t errlen)
{
	(void)o;
	snprintf(err, errlen, "cannot start");
	return NULL;
}

static void fake_free(void *s)
{
	note("free:");
	note(((struct fake *)s)->name);
	note(" ");
}

static void fake_poll(void *s)
{
	note("poll:");
	note(((struct fake *)s)->name);
	note(" ");
}

static void totals_a(void *s, struct source_totals *t)
{
	(void)s;
	t->events = 10;
	t->lost = 1;
}

static void totals_c(void *s, struct source_totals *t)
{
	(void)s;
	t->events = 5;
	t->lost = 2;
}

static int fake_add_target(void *s, pid_t pid, bool initial, char *err, size_t errlen)
{
	struct fake *f = s;

	(void)initial;
	if (!f->fail_targets)
		return 0;
	snprintf(err, errlen, "%s: pid %d refused", f->name, pid);
	return -1;
}

static int traced_fd_a(void *s)
{
	(void)s;
	return 42;
}

static void describe_a(void *s, char *buf, size_t len)
{
	(void)s;
	strncat(buf, "3 functions, ", len - strlen(buf) - 1);
}

static void needs_c(void *s, struct privs_need *need)
{
	(void)s;
	need->uprobes = true;
}

static int nprobes_both(void *s, pid_t pid)
{
	(void)s;
	return pid == 7 ? 2 : 0;
}

static const struct source_ops ops_a = { .name = "a",
					 .path = SOURCE_EBPF,
					 .new = new_a,
					 .free = fake_free,
					 .poll = fake_poll,
					 .totals = totals_a,
					 .add_target = fake_add_target,
					 .traced_fd = traced_fd_a,
					 .describe = describe_a,
					 .nprobes = nprobes_both };
static const struct source_ops ops_b = { .name = "b", .path = SOURCE_EBPF, .new = new_unwanted };
static const struct source_ops ops_c = { .name = "c",
					 .path = SOURCE_EBPF,
					 .new = new_c,
					 .free = fake_free,
					 .poll = fake_poll,
					 .totals = totals_c,
					 .add_target = fake_add_target,
					 .needs = needs_c,
					 .nprobes = nprobes_both };
static const struct source_ops ops_shim = { .name = "shim", .path = SOURCE_PRELOAD, .new = new_failing };
static const struct source_ops *const table[] = { &ops_a, &ops_b, &ops_shim, &ops_c, NULL };

START_TEST(made_in_table_order)
{
	struct source_set set;
	struct source_opts o = { 0 };
	struct source_totals t;
	struct privs_need need = { 0 };
	char err[128], what[64] = "";

	trail[0] = '\0';
	ck_assert_int_eq(source_set__start(&set, table, SOURCE_EBPF, &o, err, sizeof(err)), 0);
	ck_assert_str_eq(trail, "new:a new:b new:c "); /* the other path's source is not made */
	ck_assert_int_eq(set.n, 2);
	ck_assert_int_eq(fa.traced_fd_seen, -1);
	ck_assert_int_eq(fc.traced_fd_seen, 42); /* a later source gets an earlier one's traced-process map */
	ck_assert_ptr_eq(source_set__find(&set, &ops_c), &fc);
	ck_assert_ptr_null(source_set__find(&set, &ops_b));

	trail[0] = '\0';
	source_set__poll(&set);
	source_set__drain(&set); /* no drain op: nothing */
	ck_assert_str_eq(trail, "poll:a poll:c ");
	source_set__totals(&set, &t);
	ck_assert_uint_eq(t.events, 15);
	ck_assert_uint_eq(t.lost, 3);
	ck_assert_int_eq(source_set__nprobes(&set, 7), 4);
	source_set__describe(&set, what, sizeof(what));
	ck_assert_str_eq(what, "3 functions, ");
	source_set__needs(&set, &need);
	ck_assert(need.uprobes);

	fc.fail_targets = true;
	ck_assert_int_eq(source_set__add_target(&set, 9, false, err, sizeof(err)), 0); /* a child: best effort */
	ck_assert_int_eq(source_set__add_target(&set, 9, true, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "c: pid 9 refused");
	fc.fail_targets = false;

	trail[0] = '\0';
	source_set__free(&set);
	ck_assert_str_eq(trail, "free:c free:a "); /* in reverse: c may use what a made */
	ck_assert_int_eq(set.n, 0);
}
END_TEST

START_TEST(a_failing_source_stops_the_start)
{
	struct source_set set;
	struct source_opts o = { 0 };
	char err[128];

	ck_assert_int_eq(source_set__start(&set, table, SOURCE_PRELOAD, &o, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "cannot start");
	ck_assert_int_eq(set.n, 0);
	source_set__free(&set);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, made_in_table_order);
	tcase_add_test(tc, a_failing_source_stops_the_start);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
