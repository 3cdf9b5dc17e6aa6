/* test_reorder.c -- the causal reorder queue: key order, ties by arrival, the window, a full queue */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
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

/* a long run against a stable sort: keys nearly in order (as one ring gives them) with some far behind, sizes
 * from 1 byte to more than an arena chunk, popped through a moving window; every record comes out once, whole,
 * in (key, arrival) order, and the queue ends empty */
struct rec {
	uint64_t key;
	uint32_t seq, size;
};

static struct {
	struct rec *got;
	size_t n;
	uint8_t *scratch;
} run;

static void take_rec(void *ctx, const void *p, size_t size)
{
	struct rec r;

	(void)ctx; /* (no ck_assert per record: each one is a write to Check's pipe) */
	if (size < sizeof(r) || (uintptr_t)p % 8)
		ck_abort_msg("record of %zu bytes at %p", size, p);
	memcpy(&r, p, sizeof(r));
	if (size != r.size)
		ck_abort_msg("record %u: %zu bytes, pushed %u", r.seq, size, r.size);
	for (size_t i = sizeof(r); i < size; i++) /* the bytes behind it are its own */
		if (((const uint8_t *)p)[i] != (uint8_t)(r.seq + i))
			ck_abort_msg("record %u: byte %zu", r.seq, i);
	run.got[run.n++] = r;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

START_TEST(long_run_matches_a_stable_sort)
{
	enum { N = 60000 };
	struct reorder *q = reorder__new(0);
	struct rec *want = calloc(N, sizeof(*want));
	uint64_t now = 1000;
	unsigned seed = 7;

	run.got = calloc(N, sizeof(*run.got));
	run.n = 0;
	run.scratch = malloc(300 * 1024);
	for (uint32_t i = 0; i < N; i++) {
		struct rec r = { .seq = i };

		seed = seed * 1103515245u + 12345u;
		now += (seed >> 16) % 50;
		r.key = (seed >> 8) % 100 == 0 ? now - (seed >> 12) % 5000
					       : now - (seed >> 20) % 30; /* a few far back */
		r.size = (seed >> 4) % 1000 == 0 ? 300 * 1024 - (seed >> 24) : sizeof(r) + (seed >> 10) % 2100;
		memcpy(run.scratch, &r, sizeof(r));
		for (size_t b = sizeof(r); b < r.size; b++)
			run.scratch[b] = (uint8_t)(r.seq + b);
		if (!reorder__push(q, r.key, run.scratch, sizeof(r), run.scratch + sizeof(r), r.size - sizeof(r)))
			ck_abort_msg("push %u refused", i);
		want[i] = r;
		if (i % 97 == 0 && now > 6000)
			reorder__pop(q, now - 6000, take_rec, NULL); /* the window: nothing later can come before it */
	}
	reorder__pop(q, UINT64_MAX, take_rec, NULL);
	ck_assert_uint_eq(reorder__len(q), 0);
	ck_assert_uint_eq(reorder__bytes(q), 0);
	ck_assert_uint_eq(run.n, N);
	qsort(want, N, sizeof(*want), cmp_rec);
	for (size_t i = 0; i < N; i++)
		if (run.got[i].seq != want[i].seq || run.got[i].key != want[i].key)
			ck_abort_msg("%zu: record %u (key %llu), not %u (key %llu)", i, run.got[i].seq,
				     (unsigned long long)run.got[i].key, want[i].seq, (unsigned long long)want[i].key);
	/* and once more after it emptied: the arena is reused */
	ck_assert(reorder__push(q, 5, &want[0], sizeof(want[0]), NULL, 0));
	ck_assert(reorder__push(q, 4, &want[1], sizeof(want[1]), NULL, 0));
	ck_assert_uint_eq(reorder__len(q), 2);
	ck_assert_uint_eq(reorder__bytes(q), 2 * sizeof(want[0]));
	reorder__free(q); /* with records still held */
	free(want);
	free(run.got);
	free(run.scratch);
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
	tcase_add_test(tc, long_run_matches_a_stable_sort);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
