/* test_reorder.c -- the causal reorder queue: key order, ties by arrival, the window, a full queue */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "proto/reorder.h"

struct out {
	int n;
	char recs[16][32];
};

static void take(void *ctx, const void *rec, size_t size)
{
	struct out *o = ctx;

	ck_assert_uint_lt(size, sizeof(o->recs[0]));
	ck_assert_uint_eq((uintptr_t)rec % 8, 0); /* records are events read in place */
	memcpy(o->recs[o->n], rec, size);
	o->recs[o->n++][size] = '\0';
}

static void push(struct reorder *q, uint64_t key, const char *s)
{
	ck_assert(reorder__push(q, key, s, strlen(s), NULL, 0));
}

/* a server's read can reach the ring before the client's write that fed it: the write's entry time
 * puts it first; equal keys keep the order they arrived in */
START_TEST(order_by_key_then_arrival)
{
	struct reorder *q = reorder__new(0);
	struct out o = { 0 };

	push(q, 300, "read-server");
	push(q, 100, "write-client");
	push(q, 200, "tie-1");
	push(q, 200, "tie-2");
	push(q, 200, "tie-3");
	ck_assert_uint_eq(reorder__pop(q, UINT64_MAX, take, &o), 5);
	ck_assert_str_eq(o.recs[0], "write-client");
	ck_assert_str_eq(o.recs[1], "tie-1");
	ck_assert_str_eq(o.recs[2], "tie-2");
	ck_assert_str_eq(o.recs[3], "tie-3");
	ck_assert_str_eq(o.recs[4], "read-server");
	ck_assert_uint_eq(reorder__len(q), 0);
	reorder__free(q);
}
END_TEST

/* only what is older than the window goes; the rest waits for its causes */
START_TEST(window_flush)
{
	struct reorder *q = reorder__new(0);
	struct out o = { 0 };

	push(q, 50, "c");
	push(q, 10, "a");
	push(q, 30, "b");
	ck_assert_uint_eq(reorder__pop(q, 30, take, &o), 2);
	ck_assert_int_eq(o.n, 2);
	ck_assert_str_eq(o.recs[0], "a");
	ck_assert_str_eq(o.recs[1], "b");
	ck_assert_uint_eq(reorder__len(q), 1);
	push(q, 40, "late"); /* arrived after the flush, still before c */
	ck_assert_uint_eq(reorder__pop(q, 45, take, &o), 1);
	ck_assert_str_eq(o.recs[2], "late");
	ck_assert_uint_eq(reorder__pop(q, UINT64_MAX, take, &o), 1);
	ck_assert_str_eq(o.recs[3], "c");
	reorder__free(q);
}
END_TEST

START_TEST(full_queue_drops)
{
	struct reorder *q = reorder__new(3);
	struct out o = { 0 };
	int dropped = 0;

	for (int i = 0; i < 5; i++)
		dropped += !reorder__push(q, 10 - i, "x", 1, NULL, 0);
	ck_assert_int_eq(dropped, 2); /* what the caller counts as obsprobe_events_lost_total{reason="reorder_full"} */
	ck_assert_uint_eq(reorder__len(q), 3);
	ck_assert_uint_eq(reorder__pop(q, UINT64_MAX, take, &o), 3);
	ck_assert(reorder__push(q, 1, "y", 1, NULL, 0)); /* room again */
	reorder__free(q);				 /* frees what it still holds */
}
END_TEST

START_TEST(head_and_tail_are_one_record)
{
	struct reorder *q = reorder__new(0);
	struct out o = { 0 };

	ck_assert(reorder__push(q, 1, "call", 4, "fn\0obj", 7));
	reorder__pop(q, 1, take, &o);
	ck_assert_int_eq(o.n, 1);
	ck_assert_mem_eq(o.recs[0], "callfn\0obj", 11);
	reorder__free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reorder");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, order_by_key_then_arrival);
	tcase_add_test(tc, window_flush);
	tcase_add_test(tc, full_queue_drops);
	tcase_add_test(tc, head_and_tail_are_one_record);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
