/* seg.h -- the shim's side of its segment: made on the first recorded event, counters and records written in
 *
 * Everything the capture code writes into shared memory goes through here: syscall latency histograms and
 * errors (seg__record), socket bytes and I/O time (seg__record_io), connection and injection counters, losses,
 * and the event ring (exchanges, log writes).  Calls that complete while another thread is making the segment
 * are staged in-process and folded in by the next call: no thread ever waits for another.  The hot path is
 * inline (the wrappers record every call); creation, staging and errors are out of line in seg.c. */
#ifndef OBSPROBE_PRELOAD_SEG_H
#define OBSPROBE_PRELOAD_SEG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "abi/segment.h"
#include "preload/tsc.h"

/* the state the inline hot path reads (seg.c owns it) */
struct seg_bounds {
	uint64_t ns[OBS_MAX_BOUNDS];
	uint32_t n;
};
enum { SEG_ARMED, SEG_CREATING, SEG_READY, SEG_FAILED };
extern bool seg_armed;		    /* false: pass-through (disabled, or the segment could not be made) */
extern struct obs_segment *seg_map; /* NULL until the first recorded event creates it (seg__get) */
extern int seg_state;		    /* a once-flag: one thread creates, the others skip that event */
extern int seg_staging_dirty;	    /* staged counts wait to be folded in */
extern struct seg_bounds seg_bounds;
extern __thread int seg_stripe; /* this thread's stripe of the counters, -1 until its first record */
extern __thread bool seg_own;	/* ... and it is this thread's alone: its counters are added without a locked op */

/* the constructor: OBSPROBE_BUCKETS and the segment file's options (read once: creation may run later, in any
 * thread or a signal handler), then armed */
void seg__init(void);
/* a forked child: the parent's segment stays the parent's, the child makes its own when it first records */
void seg__atfork_child(void);
/* use @s (already made, its header filled) as this process's segment, with the bounds of OBSPROBE_BUCKETS: the
 * unit tests drive the capture code on a segment in memory this way */
void seg__use(struct obs_segment *s);

/* out of line (seg.c): the slow paths */
struct obs_segment *seg__create(bool count_skip);
void seg__record_staged(enum obs_seg_slot slot, uint64_t ns, long ret, int err);
void seg__staging_fold(struct obs_segment *s);
void seg__record_error(struct obs_segment *s, uint16_t nr, int err);
void seg__count_lost(enum obs_seg_lost what);		  /* the segment made if need be */
void seg__count_inject(enum obs_seg_inject outcome);	  /* the segment made if need be */
void seg__count_conn(bool opened, enum obs_seg_conn dir); /* only once the segment exists */
/* a ring record (OBS_REC_*); false when there is no segment or the ring is full (counted lost) */
bool seg__put(uint32_t type, const void *data, uint32_t len);

static inline bool seg__armed(void)
{
	return seg_armed;
}

/* the segment, created by the first event worth recording; NULL: another thread is making it (or it could not
 * be made), and with @count_skip this event is counted lost (segment_being_made) */
static inline struct obs_segment *seg__get_or_make(bool count_skip)
{
	struct obs_segment *s = __atomic_load_n(&seg_map, __ATOMIC_ACQUIRE);

	return __builtin_expect(s != NULL, 1) ? s : seg__create(count_skip);
}

/* the segment for an event record or a counter: NULL when disarmed or not available now */
static inline struct obs_segment *seg__get(void)
{
	return seg_armed ? seg__get_or_make(true) : NULL;
}

/* Stripes: the first SEG_STRIPES_OWNED threads alive each take one of the upper half alone (seg_own) and add to it
 * with plain loads and stores -- no locked instruction, no cache line another thread writes; the others hash onto
 * the lower half and add atomically (as does the staging area, and the fold into stripe 0).  The collector reads
 * either kind the same way (aligned 64-bit words).  A thread records with in_shim raised, so a signal handler that
 * interrupts it never records into its stripe meanwhile. */
#define SEG_STRIPES_SHARED (OBS_SEG_STRIPES / 2)
#define SEG_STRIPES_OWNED (OBS_SEG_STRIPES - SEG_STRIPES_SHARED)

/* out of line (seg.c): the calling thread's stripe chosen */
void seg__pick_stripe(void);

static inline void seg__add(uint64_t *p, uint64_t v, bool own)
{
	if (own)
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* @ns into @h: @own, @h is in this thread's own stripe */
static inline void seg__hist_add(struct obs_seg_hist *h, uint64_t ns, bool own)
{
	seg__add(&h->buckets[obs_hist_bucket(seg_bounds.ns, seg_bounds.n, ns)], 1, own);
	seg__add(&h->sum_ns, ns, own);
	seg__add(&h->count, 1, own);
}

/* a call of @slot that started at @t0 (tsc__now) returned @ret (errno @err when < 0) */
static inline void seg__record(enum obs_seg_slot slot, uint64_t t0, long ret, int err)
{
	struct obs_segment *s = seg__get_or_make(false);
	uint64_t ns = tsc__ns(tsc__now() - t0);

	if (__builtin_expect(!s, 0)) {
		if (__atomic_load_n(&seg_state, __ATOMIC_ACQUIRE) == SEG_CREATING) {
			seg__record_staged(slot, ns, ret, err);
			return;
		}
		s = __atomic_load_n(&seg_map, __ATOMIC_ACQUIRE); /* made in the meantime (or could not be made) */
		if (!s)
			return;
	}
	if (__builtin_expect(__atomic_load_n(&seg_staging_dirty, __ATOMIC_RELAXED), 0) &&
	    __atomic_exchange_n(&seg_staging_dirty, 0, __ATOMIC_ACQ_REL))
		seg__staging_fold(s);
	if (__builtin_expect(seg_stripe < 0, 0))
		seg__pick_stripe();
	seg__hist_add(&s->hist[seg_stripe][slot], ns, seg_own);
	if (ret < 0)
		seg__record_error(s, obs_seg_slot_nr[slot], err);
}

/* the shim's own work after a real call: timed on 1 in OBS_SEG_WORK_SAMPLE calls of a thread (0: not this one) */
extern __thread unsigned seg_work_tick;

static inline uint64_t seg__work_begin(void)
{
	return __builtin_expect(++seg_work_tick % OBS_SEG_WORK_SAMPLE, 1) ? 0 : tsc__now();
}

static inline void seg__work_end(uint64_t t1)
{
	struct obs_segment *s;

	if (__builtin_expect(!t1, 1))
		return;
	s = __atomic_load_n(&seg_map, __ATOMIC_ACQUIRE);
	if (s && seg_stripe >= 0)
		__atomic_fetch_add(&s->h.work_ns[seg_stripe], tsc__ns(tsc__now() - t1) * OBS_SEG_WORK_SAMPLE,
				   __ATOMIC_RELAXED);
}

/* socket bytes and I/O time of @slot on a socket of protocol @proto (enum obs_seg_proto; -1: not a socket the
 * shim saw accepted or connected, only the call is recorded) */
void seg__record_sock(enum obs_seg_slot slot, int proto, uint64_t t0, long ret);

static inline void seg__record_io(enum obs_seg_slot slot, int proto, uint64_t t0, long ret, int err)
{
	seg__record(slot, t0, ret, err);
	if (proto >= 0 && ret >= 0 && seg_armed)
		seg__record_sock(slot, proto, t0, ret);
}

#endif
