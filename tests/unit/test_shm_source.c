/* test_shm_source.c -- the collector's segment reader against hostile segments: truncated under it (SIGBUS),
 * a ring that never runs dry, claims of identity; and the pure parsers of /proc it trusts */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/procstat.h"
#include "signal/metrics.h"
#include "source/seg_reader.h"
#include "source/seg_trust.h"
#include "source/shm_source.h"

static char dir[64];
static char path[256];

/* state and start time of a /proc/PID/stat line, through lib/procstat.c; 0 or -1 */
static int stat_parse_start(const char *line, char *state, uint64_t *start)
{
	struct procstat ps;

	if (procstat__parse(line, strlen(line), &ps) < PROCSTAT_STARTTIME)
		return -1;
	*state = ps.state;
	*start = ps.starttime;
	return 0;
}
static struct metrics *m;

static uint64_t my_start_time(void)
{
	char line[1024], st;
	uint64_t start = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_int_eq(stat_parse_start(line, &st, &start), 0);
	return start;
}

/* a segment of this very process (so it is verified: same pid, start time, owner, and mapped here) */
static struct obs_segment *make_segment(pid_t pid, uint64_t start)
{
	struct hist_bounds b;
	char err[128];
	struct obs_segment *s;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/obsprobe-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/obsprobe-%d-%llu-1.seg", dir, pid, (unsigned long long)start);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, sizeof(*s)), 0);
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(s, MAP_FAILED);
	ck_assert_int_eq(hist_bounds__parse(&b, OBS_DEFAULT_BUCKETS, err, sizeof(err)), 0);
	s->h.version = OBS_SEG_VERSION;
	s->h.header_size = sizeof(s->h);
	s->h.total_size = sizeof(*s);
	s->h.pid = pid;
	s->h.start_time = start;
	strcpy(s->h.comm, "unit");
	strcpy(s->h.service, "unit-svc");
	s->h.nbounds = b.n;
	s->h.nslots = SEG_NSLOTS;
	memcpy(s->h.bounds_ns, b.ns, b.n * sizeof(uint64_t));
	s->h.magic = OBS_SEG_MAGIC;
	m = metrics__new(&(struct metrics_opts){ .bounds_ns = b.ns, .nbounds = b.n, .max_series = 100 });
	return s;
}

static struct shm_source *source(void)
{
	struct shm_source_opts o = { .runtime_dir = dir, .metrics = m };
	struct shm_source *src = shm_source__new(&o);

	ck_assert_ptr_nonnull(src);
	return src;
}

static void cleanup(struct obs_segment *s, struct shm_source *src)
{
	shm_source__free(src);
	metrics__free(m);
	if (s)
		munmap(s, sizeof(*s));
	unlink(path);
	rmdir(dir);
}

/* defect 8: a segment truncated after the collector mapped it must not kill the collector */
START_TEST(truncated_under_the_reader)
{
	struct obs_segment *s = make_segment(getpid(), my_start_time());
	struct shm_source *src = source();
	uint64_t refused, unverified;

	s->hist[0][SEG_WRITE].count = 3;
	s->hist[0][SEG_WRITE].buckets[0] = 3;
	shm_source__poll(src);
	ck_assert_int_eq(shm_source__ntargets(src), 1);
	ck_assert(shm_source__reads_pid(src, getpid()));
	/* the owner (or anyone who may) cuts the file: the mapping beyond 4 KiB is gone */
	ck_assert_int_eq(truncate(path, 4096), 0);
	shm_source__poll(src);
	shm_source__drain(src);
	ck_assert_int_eq(shm_source__ntargets(src), 0);
	shm_source__rejected(src, &refused, &unverified);
	ck_assert_uint_eq(refused, 1);
	ck_assert_uint_eq(unverified, 0);
	/* remembered: not mapped again */
	shm_source__poll(src);
	ck_assert_int_eq(shm_source__ntargets(src), 0);
	munmap(s, sizeof(*s));
	cleanup(NULL, src);
}
END_TEST

static volatile int stop;
static struct obs_segment *ring_seg;

/* a producer that never lets the ring run dry: the slot at the tail always looks committed */
static void *endless(void *arg)
{
	(void)arg;
	while (!stop) {
		uint64_t tail = __atomic_load_n(&ring_seg->h.ring_tail, __ATOMIC_ACQUIRE);

		for (uint64_t p = tail; p < tail + OBS_SEG_RING; p++)
			__atomic_store_n(&ring_seg->ring[p % OBS_SEG_RING].seq, p + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* defect 11: one drain reads one ring's worth at most */
START_TEST(drain_has_a_budget)
{
	struct obs_segment *s = make_segment(getpid(), my_start_time());
	struct shm_source *src;
	pthread_t t;

	/* the first lap is committed before the reader starts: exactly one ring's worth is there for sure */
	for (uint64_t p = 0; p < OBS_SEG_RING; p++)
		s->ring[p].seq = p + 1;
	ring_seg = s;
	stop = 0;
	pthread_create(&t, NULL, endless, NULL);
	src = source();
	shm_source__poll(src); /* discovers, then reads counters and the ring */
	ck_assert_uint_eq(__atomic_load_n(&s->h.ring_tail, __ATOMIC_ACQUIRE), OBS_SEG_RING);
	shm_source__drain(src);
	ck_assert_uint_le(__atomic_load_n(&s->h.ring_tail, __ATOMIC_ACQUIRE), 2 * OBS_SEG_RING);
	stop = 1;
	pthread_join(t, NULL);
	cleanup(s, src);
}
END_TEST

/* defect 9: a segment claiming a live process that does not map it is not that process's */
START_TEST(false_claim_is_unverified)
{
	/* claims our parent (alive, same uid) but the parent does not map this file */
	pid_t parent = getppid();
	char p[64], line[1024], st;
	uint64_t start = 0;
	FILE *f;
	struct obs_segment *s;
	struct shm_source *src;
	uint64_t refused, unverified;
	struct hist h;

	snprintf(p, sizeof(p), "/proc/%d/stat", parent);
	f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_int_eq(stat_parse_start(line, &st, &start), 0);
	s = make_segment(parent, start);
	s->hist[0][SEG_WRITE].count = 5;
	s->hist[0][SEG_WRITE].buckets[0] = 5;
	src = source();
	shm_source__poll(src);
	ck_assert_int_eq(shm_source__ntargets(src), 0);
	ck_assert(!shm_source__reads_pid(src, parent));
	shm_source__rejected(src, &refused, &unverified);
	ck_assert_uint_eq(unverified, 1);
	{
		char uid[32];

		snprintf(uid, sizeof(uid), "uid:%u", (unsigned)getuid());
		ck_assert(metrics__get_hist(m, FAM_SYSCALL_DURATION, (const char *[]){ uid, "write" }, &h));
		ck_assert_uint_eq(h.count, 5);
		ck_assert(!metrics__get_hist(m, FAM_SYSCALL_DURATION, (const char *[]){ "unit-svc", "write" }, &h));
	}
	/* it claimed a live process: the file stays (it may be that process's), and is not read twice */
	ck_assert_int_eq(access(path, F_OK), 0);
	s->hist[0][SEG_WRITE].count = 7;
	s->hist[0][SEG_WRITE].buckets[0] = 7;
	shm_source__poll(src);
	{
		char uid[32];

		snprintf(uid, sizeof(uid), "uid:%u", (unsigned)getuid());
		ck_assert(metrics__get_hist(m, FAM_SYSCALL_DURATION, (const char *[]){ uid, "write" }, &h));
		ck_assert_uint_eq(h.count, 5);
	}
	cleanup(s, src);
}
END_TEST

START_TEST(proc_parsers)
{
	char st;
	uint64_t start;

	ck_assert_int_eq(stat_parse_start("12 (a) b) c) S 1 12 12 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
					  "98765 1000 10 18446744073709551615",
					  &st, &start),
			 0);
	ck_assert_int_eq(st, 'S');
	ck_assert_uint_eq(start, 98765);
	ck_assert_int_eq(stat_parse_start("garbage", &st, &start), -1);
	ck_assert_int_eq(stat_parse_start("1 (x) Z", &st, &start), -1);
	ck_assert(seg_trust__maps_line_is("7f00-7f10 rw-s 00000000 00:1a 4242 /dev/shm/obsprobe-1-2-3.seg\n", 0, 0x1a,
					  4242));
	ck_assert(!seg_trust__maps_line_is("7f00-7f10 rw-s 00000000 00:1a 4242 /x\n", 0, 0x1b, 4242));
	ck_assert(!seg_trust__maps_line_is("7f00-7f10 rw-s 00000000 00:1a 4243 /x\n", 0, 0x1a, 4242));
	ck_assert(!seg_trust__maps_line_is("7f00-7f10 rw-p 00000000 00:00 0 \n", 0, 0, 0));
	ck_assert(!seg_trust__maps_line_is("", 0, 0, 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shm_source");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, truncated_under_the_reader);
	tcase_add_test(tc, drain_has_a_budget);
	tcase_add_test(tc, false_claim_is_unverified);
	tcase_add_test(tc, proc_parsers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
