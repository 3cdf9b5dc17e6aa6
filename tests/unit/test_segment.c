/* test_segment.c -- segment validation against good, truncated, garbage and foreign headers; the MPSC ring */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi/segment.h"

static struct obs_segment *good(void)
{
	struct obs_segment *s = calloc(1, sizeof(*s));

	s->h.magic = OBS_SEG_MAGIC;
	s->h.version = OBS_SEG_VERSION;
	s->h.header_size = sizeof(s->h);
	s->h.total_size = sizeof(*s);
	s->h.pid = 42;
	s->h.nbounds = 3;
	s->h.nslots = SEG_NSLOTS;
	return s;
}

START_TEST(validation)
{
	struct obs_segment *s = good();
	char err[256];

	ck_assert_int_eq(obs_seg_validate(s, sizeof(*s), err, sizeof(err)), 0);
	ck_assert_int_eq(obs_seg_validate(s, 10, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_eq(obs_seg_validate(s, sizeof(*s) - 8, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "size mismatch"));
	s->h.version = 99;
	ck_assert_int_eq(obs_seg_validate(s, sizeof(*s), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "version 99"));
	s->h.version = OBS_SEG_VERSION;
	s->h.nbounds = OBS_MAX_BOUNDS + 1;
	ck_assert_int_eq(obs_seg_validate(s, sizeof(*s), err, sizeof(err)), -1);
	s->h.nbounds = 3;
	s->h.pid = 0;
	ck_assert_int_eq(obs_seg_validate(s, sizeof(*s), err, sizeof(err)), -1);
	s->h.pid = 42;
	s->h.magic ^= 1;
	ck_assert_int_eq(obs_seg_validate(s, sizeof(*s), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "magic"));
	free(s);
}
END_TEST

START_TEST(garbage_never_validates)
{
	unsigned char *buf = malloc(sizeof(struct obs_segment));
	char err[256];

	srand(7);
	for (int round = 0; round < 2000; round++) {
		size_t n = round % 2 ? sizeof(struct obs_segment)
				     : (size_t)(rand() % sizeof(struct obs_seg_header) * 2);

		for (size_t i = 0; i < n && i < 256; i++)
			buf[i] = rand();
		ck_assert_int_eq(obs_seg_validate(buf, n, err, sizeof(err)), -1);
	}
	free(buf);
}
END_TEST

START_TEST(ring_fifo_and_full)
{
	struct obs_segment *s = good();
	struct obs_seg_rec r;
	char msg[32];
	int put = 0;

	ck_assert(!obs_seg_ring_get(s, &r));
	for (int i = 0; i < OBS_SEG_RING + 10; i++) {
		snprintf(msg, sizeof(msg), "rec %d", i);
		put += obs_seg_ring_put(s, 1, msg, strlen(msg) + 1) == 0;
	}
	ck_assert_int_eq(put, OBS_SEG_RING);
	ck_assert_uint_eq(s->h.lost[SEG_LOST_RING_FULL], 10);
	for (int i = 0; i < OBS_SEG_RING; i++) {
		snprintf(msg, sizeof(msg), "rec %d", i);
		ck_assert(obs_seg_ring_get(s, &r));
		ck_assert_str_eq((char *)r.data, msg);
	}
	ck_assert(!obs_seg_ring_get(s, &r));
	/* a length beyond the record is clamped, never trusted */
	{
		static char big[4096];

		ck_assert_int_eq(obs_seg_ring_put(s, 1, big, sizeof(big)), 0);
	}
	ck_assert(obs_seg_ring_get(s, &r));
	ck_assert_uint_le(r.len, sizeof(r.data));
	free(s);
}
END_TEST

static struct obs_segment *shared;
static void *producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;

	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t v[2] = { id, i };

		while (obs_seg_ring_put(shared, 2, v, sizeof(v)))
			; /* full: retry (the test's consumer drains) */
	}
	return NULL;
}

START_TEST(ring_mpsc)
{
	pthread_t t[4];
	uint32_t next[4] = { 0 };
	struct obs_seg_rec r;
	int got = 0;

	shared = good();
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, producer, (void *)i);
	while (got < 4 * 5000) {
		if (!obs_seg_ring_get(shared, &r))
			continue;
		{
			uint32_t v[2];

			memcpy(v, r.data, sizeof(v));
			ck_assert_uint_lt(v[0], 4);
			ck_assert_uint_eq(v[1], next[v[0]]); /* per producer, in order, none lost */
			next[v[0]]++;
		}
		got++;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	free(shared);
}
END_TEST

/* a slot's number is this kernel's for that call: the numbers called do what the slots say */
START_TEST(slot_numbers_are_this_kernels)
{
	int p[2];
	char c = 0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(syscall(obs_seg_slot_nr[SEG_WRITE], p[1], "x", 1), 1);
	ck_assert_int_eq(syscall(obs_seg_slot_nr[SEG_READ], p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	errno = 0;
	ck_assert_int_eq(syscall(obs_seg_slot_nr[SEG_SENDTO], p[1], "x", 1, 0, NULL, 0), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	errno = 0;
	ck_assert_int_eq(syscall(obs_seg_slot_nr[SEG_ACCEPT4], p[0], NULL, NULL, 0), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	ck_assert_int_eq(syscall(obs_seg_slot_nr[SEG_CLOSE], p[0]), 0);
	ck_assert_int_eq(syscall(obs_seg_slot_nr[SEG_CLOSE], p[0]), -1);
	ck_assert_int_eq(errno, EBADF);
	close(p[1]);
	/* the version carries its epoch, and the rest of it comes from the layout */
	ck_assert_uint_eq(OBS_SEG_VERSION >> 24, OBS_SEG_EPOCH);
	ck_assert_uint_ne(OBS_SEG_VERSION & 0xffffff, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, validation);
	tcase_add_test(tc, garbage_never_validates);
	tcase_add_test(tc, ring_fifo_and_full);
	tcase_add_test(tc, ring_mpsc);
	tcase_add_test(tc, slot_numbers_are_this_kernels);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
