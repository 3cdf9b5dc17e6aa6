/* seg.c -- the shim's side of its segment: made on the first recorded event, counters and records written in */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/buckets.h"
#include "preload/seg.h"
#include "preload/segfile.h"

bool seg_armed;
struct obs_segment *seg_map;
int seg_state;
int seg_staging_dirty;
struct seg_bounds seg_bounds;
__thread int seg_stripe = -1;
__thread bool seg_own;

/* the owned stripes' threads (tid, 0: free); a thread gives its stripe back when it exits (stripe_key) */
static int stripe_owner[SEG_STRIPES_OWNED];
static pthread_key_t stripe_key;
static bool stripe_keyed;
__thread unsigned seg_work_tick;

static bool seg_quiet;	      /* a forked child: its parent already said what fails */
static uint64_t seg_given_up; /* calls skipped while another thread made the segment */
static struct segfile_opts seg_opts;

/* Calls that complete while another thread is making the segment are counted here (one stripe, no ring) and
 * folded into the segment by the next call that finds it made: a multi-threaded start loses no count and no
 * thread waits for another. */
#define STAGING_ERRS 64
static struct {
	struct obs_seg_hist hist[SEG_NSLOTS];
	struct obs_seg_sock sock[SEG_NDIRS][SEG_NPROTOS];
	struct obs_seg_err errs[STAGING_ERRS];
	uint64_t errs_full;
} staging;

/* a thread exits: its stripe is free for the next one (its counts stay: the collector sums the stripes) */
static void stripe_release(void *v)
{
	int i = (int)(intptr_t)v - 1;

	seg_own = false; /* anything this thread still records goes to a shared stripe */
	seg_stripe = (int)(syscall(SYS_gettid) % SEG_STRIPES_SHARED);
	if (i >= 0 && i < SEG_STRIPES_OWNED)
		__atomic_store_n(&stripe_owner[i], 0, __ATOMIC_RELEASE);
}

/* the key that gives a thread's stripe back at its exit; only one of glibc's first 32 (PTHREAD_KEY_2NDLEVEL_SIZE):
 * their pthread_setspecific stores into the thread itself, a later key's first use callocs, and the first
 * record of a thread may come from a signal handler that interrupted malloc.  Otherwise threads share stripes. */
static bool stripe_key_make(void)
{
	if (pthread_key_create(&stripe_key, stripe_release))
		return false;
	if (stripe_key < 32)
		return true;
	pthread_key_delete(stripe_key);
	return false;
}

void seg__pick_stripe(void)
{
	int tid = (int)syscall(SYS_gettid);

	/* a stripe of its own when one is free and the thread can give it back at its exit (a key value to hold) */
	for (int i = 0; stripe_keyed && i < SEG_STRIPES_OWNED; i++) {
		int free = 0;

		if (__atomic_load_n(&stripe_owner[i], __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&stripe_owner[i], &free, tid, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		if (pthread_setspecific(stripe_key, (void *)(intptr_t)(i + 1))) {
			__atomic_store_n(&stripe_owner[i], 0, __ATOMIC_RELEASE);
			break;
		}
		seg_stripe = SEG_STRIPES_SHARED + i;
		seg_own = true;
		return;
	}
	seg_stripe = tid % SEG_STRIPES_SHARED;
	seg_own = false;
}

/* OBSPROBE_BUCKETS (obsprobe run passes its validated --buckets), else (unset or malformed) the defaults */
static void read_bounds(void)
{
	const char *list = getenv("OBSPROBE_BUCKETS");
	int n = list && *list ? buckets__parse(list, seg_bounds.ns, NULL) : -1;

	seg_bounds.n = (uint32_t)(n > 0 ? n : buckets__parse(OBS_DEFAULT_BUCKETS, seg_bounds.ns, NULL));
}

void seg__init(void)
{
	read_bounds();
	segfile__opts_from_env(&seg_opts);
	seg_opts.bounds_ns = seg_bounds.ns;
	seg_opts.nbounds = seg_bounds.n;
	stripe_keyed = stripe_key_make();
	seg_armed = true;
}

void seg__use(struct obs_segment *s)
{
	read_bounds();
	if (!stripe_keyed)
		stripe_keyed = stripe_key_make();
	seg_map = s;
	seg_state = SEG_READY;
	seg_armed = true;
}

void seg__atfork_child(void)
{
	struct obs_segment *old = seg_map;

	seg_map = NULL;
	seg_given_up = 0;
	memset(&staging, 0, sizeof(staging)); /* the parent's, folded by the parent */
	seg_staging_dirty = 0;
	seg_stripe = -1; /* the forking thread is the child's only one: every stripe is free */
	seg_own = false;
	memset(stripe_owner, 0, sizeof(stripe_owner));
	if (stripe_keyed)
		pthread_setspecific(stripe_key, NULL);
	if (old)
		seg_quiet = true; /* the parent could make one: the same failing here is not news */
	if (__atomic_load_n(&seg_state, __ATOMIC_ACQUIRE) != SEG_FAILED)
		seg_state = SEG_ARMED; /* also when another parent thread was creating it at the fork */
	if (old)
		munmap(old, sizeof(*old));
}

struct obs_segment *seg__create(bool count_skip)
{
	struct obs_segment *s;
	int expect = SEG_ARMED;

	/* Another thread is making it (a few syscalls): never wait for it -- the shim must not hold the host's
	 * thread longer than its own call -- this call goes unrecorded and is counted (lost{creating}) once the
	 * segment exists. The winner's own signal handlers never get here: in_shim is set around every record. */
	if (!__atomic_compare_exchange_n(&seg_state, &expect, SEG_CREATING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		s = __atomic_load_n(&seg_map, __ATOMIC_ACQUIRE);
		if (!s && expect == SEG_CREATING) {
			if (!count_skip)
				return NULL; /* the caller stages it */
			__atomic_fetch_add(&seg_given_up, 1, __ATOMIC_RELAXED);
			s = __atomic_load_n(&seg_map, __ATOMIC_ACQUIRE);
			if (s) /* it came after all: count it there now, the winner may have missed it */
				__atomic_fetch_add(&s->h.lost[SEG_LOST_CREATING],
						   __atomic_exchange_n(&seg_given_up, 0, __ATOMIC_ACQ_REL),
						   __ATOMIC_RELAXED);
			return NULL;
		}
		return s;
	}
	s = segfile__create(&seg_opts, seg_quiet);
	if (s)
		__atomic_store_n(&seg_map, s, __ATOMIC_RELEASE);
	else
		seg_armed = false; /* said once (obsshim:), then pass-through */
	__atomic_store_n(&seg_state, s ? SEG_READY : SEG_FAILED, __ATOMIC_RELEASE);
	if (s)
		__atomic_fetch_add(&s->h.lost[SEG_LOST_CREATING],
				   __atomic_exchange_n(&seg_given_up, 0, __ATOMIC_ACQ_REL), __ATOMIC_RELAXED);
	return s;
}

/* add @n to the (key) entry of an open-addressed table of @size; false when the table is full */
static bool errs_add(struct obs_seg_err *errs, uint32_t size, uint32_t key, uint64_t n)
{
	uint32_t i = (key * 2654435761u) % size;

	for (uint32_t probe = 0; probe < size; probe++, i = (i + 1) % size) {
		uint32_t cur = __atomic_load_n(&errs[i].key, __ATOMIC_ACQUIRE);

		if (cur == 0) {
			uint32_t zero = 0;

			if (__atomic_compare_exchange_n(&errs[i].key, &zero, key, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				cur = key;
			else
				cur = zero;
		}
		if (cur == key) {
			__atomic_fetch_add(&errs[i].count, n, __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

void seg__record_error(struct obs_segment *s, uint16_t nr, int err)
{
	uint32_t key = ((uint32_t)nr << 16) | (uint32_t)(err & 0xffff);

	if (!errs_add(s->errs, OBS_SEG_ERRS, key, 1))
		__atomic_fetch_add(&s->h.lost[SEG_LOST_ERRS_FULL], 1, __ATOMIC_RELAXED);
}

void seg__record_staged(enum obs_seg_slot slot, uint64_t ns, long ret, int err)
{
	seg__hist_add(&staging.hist[slot], ns, false);
	if (ret < 0 &&
	    !errs_add(staging.errs, STAGING_ERRS, ((uint32_t)obs_seg_slot_nr[slot] << 16) | (err & 0xffff), 1))
		__atomic_fetch_add(&staging.errs_full, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&seg_staging_dirty, 1, __ATOMIC_RELEASE);
}

/* move what was staged into the segment (each counter taken with an exchange: a straggler's later add stays
 * staged, marks it dirty again, and is folded by the next call) */
static void fold_u64(uint64_t *from, uint64_t *to)
{
	uint64_t v = __atomic_exchange_n(from, 0, __ATOMIC_ACQ_REL);

	if (v)
		__atomic_fetch_add(to, v, __ATOMIC_RELAXED);
}

static void fold_hist(struct obs_seg_hist *from, struct obs_seg_hist *to)
{
	for (int b = 0; b < OBS_HIST_SLOTS; b++)
		fold_u64(&from->buckets[b], &to->buckets[b]);
	fold_u64(&from->sum_ns, &to->sum_ns);
	fold_u64(&from->count, &to->count);
}

__attribute__((noinline)) void seg__staging_fold(struct obs_segment *s)
{
	for (int slot = 0; slot < SEG_NSLOTS; slot++)
		fold_hist(&staging.hist[slot], &s->hist[0][slot]);
	for (int d = 0; d < SEG_NDIRS; d++) {
		for (int p = 0; p < SEG_NPROTOS; p++) {
			fold_u64(&staging.sock[d][p].bytes, &s->sock[0][d][p].bytes);
			fold_hist(&staging.sock[d][p].io, &s->sock[0][d][p].io);
		}
	}
	for (int i = 0; i < STAGING_ERRS; i++) {
		uint32_t key = __atomic_load_n(&staging.errs[i].key, __ATOMIC_ACQUIRE);
		uint64_t v = key ? __atomic_exchange_n(&staging.errs[i].count, 0, __ATOMIC_ACQ_REL) : 0;

		if (v && !errs_add(s->errs, OBS_SEG_ERRS, key, v))
			__atomic_fetch_add(&s->h.lost[SEG_LOST_ERRS_FULL], v, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&s->h.lost[SEG_LOST_ERRS_FULL], __atomic_exchange_n(&staging.errs_full, 0, __ATOMIC_ACQ_REL),
			   __ATOMIC_RELAXED);
}

static const uint8_t slot_dir[SEG_NSLOTS] = {
	[SEG_READ] = SEG_RECEIVE,    [SEG_READV] = SEG_RECEIVE,	   [SEG_RECVFROM] = SEG_RECEIVE,
	[SEG_RECVMSG] = SEG_RECEIVE, [SEG_WRITE] = SEG_TRANSMIT,   [SEG_WRITEV] = SEG_TRANSMIT,
	[SEG_SENDTO] = SEG_TRANSMIT, [SEG_SENDMSG] = SEG_TRANSMIT,
};

void seg__record_sock(enum obs_seg_slot slot, int proto, uint64_t t0, long ret)
{
	struct obs_segment *s = __atomic_load_n(&seg_map, __ATOMIC_ACQUIRE);
	struct obs_seg_sock *sk;

	bool own = false;

	if (s) {
		own = seg_stripe >= 0 && seg_own;
		sk = &s->sock[seg_stripe < 0 ? 0 : seg_stripe][slot_dir[slot]][proto];
	} else if (__atomic_load_n(&seg_state, __ATOMIC_ACQUIRE) == SEG_CREATING) {
		sk = &staging.sock[slot_dir[slot]][proto]; /* folded in by a later call */
	} else {
		return;
	}
	seg__add(&sk->bytes, (uint64_t)ret, own);
	seg__hist_add(&sk->io, tsc__ns(tsc__now() - t0), own);
	if (!s)
		__atomic_store_n(&seg_staging_dirty, 1, __ATOMIC_RELEASE);
}

void seg__count_lost(enum obs_seg_lost what)
{
	struct obs_segment *s = seg__get();

	if (s)
		__atomic_fetch_add(&s->h.lost[what], 1, __ATOMIC_RELAXED);
}

void seg__count_inject(enum obs_seg_inject outcome)
{
	struct obs_segment *s = seg__get();

	if (s)
		__atomic_fetch_add(&s->h.inject[outcome], 1, __ATOMIC_RELAXED);
}

void seg__count_conn(bool opened, enum obs_seg_conn dir)
{
	struct obs_segment *s = seg_map;

	if (s)
		__atomic_fetch_add(opened ? &s->h.conns_opened[dir] : &s->h.conns_closed[dir], 1, __ATOMIC_RELAXED);
}

bool seg__put(uint32_t type, const void *data, uint32_t len)
{
	struct obs_segment *s = seg__get();

	return s && obs_seg_ring_put(s, type, data, len) == 0;
}
