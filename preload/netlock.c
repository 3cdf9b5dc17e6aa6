/* netlock.c -- the shim's per-connection try-locks (netlock.h): whole, or one direction of an HTTP/2 connection */
#include "lib/clock.h"
#include "preload/netlock.h"
#include "preload/seg.h"

struct shim_conn *netcap_pool;

static struct shim_conn *conn_of(int fd)
{
	int idx;

	if (fd < 0 || fd >= OBS_FD_MAX || !(idx = __atomic_load_n(&netcap_conn_of[fd], __ATOMIC_ACQUIRE)))
		return NULL;
	return &netcap_pool[idx - 1];
}

/* take @want (LK_WHOLE, or LK_DIR: the other direction's holder may stay), never waiting */
static bool take(struct shim_conn *c, int want)
{
	int old = want == LK_WHOLE ? 0 : __atomic_load_n(&c->lock, __ATOMIC_RELAXED);

	if (want == LK_WHOLE)
		return __atomic_compare_exchange_n(&c->lock, &old, LK_WHOLE, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
	for (int tries = 0; tries < 4; tries++) { /* (a CAS fails when the other direction came or went) */
		if (old & (LK_WHOLE | want))
			return false;
		if (__atomic_compare_exchange_n(&c->lock, &old, old | want, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

/* The one wait: on a connection still detecting its protocol, or HTTP/2 not yet claimed (h2dir), the whole lock
 * is held elsewhere for one chunk's parse (a few µs), and a chunk skipped there would lose an HTTP/2 connection
 * (its preface, its first SETTINGS and header blocks: HPACK state) — grpcio's reader and writer threads meet
 * exactly there.  So it is waited for, bounded: a holder that was preempted (or this thread itself, from a signal
 * handler) costs the caller at most TAKE_WAIT_NS, and the chunk is then skipped.  Elsewhere: try-locks only */
#define TAKE_WAIT_NS 20000

static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static bool take_wait(struct shim_conn *c, int want)
{
	uint64_t until;

	if (take(c, want))
		return true;
	until = mono_ns() + TAKE_WAIT_NS;
	do {
		for (int i = 0; i < 32; i++)
			spin_pause();
		if (take(c, want))
			return true;
	} while (mono_ns() < until);
	return false;
}

/* detecting, or HTTP/2 before its claim (all three change under LK_WHOLE only: a stale read waits or not once) */
static bool early(struct shim_conn *c)
{
	const struct proto *p = __atomic_load_n(&c->pc.proto, __ATOMIC_RELAXED);

	return !__atomic_load_n(&c->h2dir, __ATOMIC_RELAXED) && !__atomic_load_n(&c->pc.off, __ATOMIC_RELAXED) &&
	       (!p || p->id == OBS_PROTO_HTTP2);
}

/* the connection of @fd for an operation in @dir (-1: on the whole of it), what was taken in @held.  A direction
 * alone when HTTP/2 claimed it (and for TLS plaintext, @tls, once its parser started on it) */
struct shim_conn *netlock__dir(int fd, int dir, bool tls, int *held)
{
	struct shim_conn *c = conn_of(fd);

	if (!c)
		return NULL;
	if (dir >= 0 && __atomic_load_n(&c->h2dir, __ATOMIC_ACQUIRE) &&
	    (!tls || __atomic_load_n(&c->tls, __ATOMIC_RELAXED))) {
		if (!take(c, LK_DIR(dir))) {
			seg__count_lost(SEG_LOST_BUSY);
			return NULL;
		}
		/* both change under LK_WHOLE only, which cannot come while this is held: checked again */
		if (__atomic_load_n(&c->h2dir, __ATOMIC_ACQUIRE) &&
		    (!tls || __atomic_load_n(&c->tls, __ATOMIC_RELAXED))) {
			*held = LK_DIR(dir);
			return c;
		}
		__atomic_fetch_and(&c->lock, ~LK_DIR(dir), __ATOMIC_RELEASE); /* reset meanwhile: whole, below */
	}
	if (!(early(c) ? take_wait(c, LK_WHOLE) : take(c, LK_WHOLE))) {
		seg__count_lost(SEG_LOST_BUSY);
		return NULL;
	}
	*held = LK_WHOLE;
	return c;
}

struct shim_conn *netlock__conn(int fd, int *held)
{
	return netlock__dir(fd, -1, false, held);
}

/* ... for @n bytes that crossed it in @dir.  Busy: the chunk is skipped, and told as a gap of its length before
 * the next one (a parser that knows of a gap resynchronises or gives up, counted; one that does not would misparse),
 * and written bytes it cannot see end HTTP/2 injection on it */
struct shim_conn *netlock__io(int fd, int dir, bool tls, size_t n, int *held)
{
	struct shim_conn *c = netlock__dir(fd, dir, tls, held);

	if (!c) {
		if ((c = conn_of(fd))) {
			if (dir)
				h2cap__missed(&c->h2);
			__atomic_add_fetch(&c->skipped[dir & 1], (uint32_t)n, __ATOMIC_RELAXED);
		}
		return NULL;
	}
	for (int d = 0; d < 2; d++) {
		uint32_t k;

		if (*held != LK_WHOLE && d != dir)
			continue; /* the other direction's: its holder may be feeding it now */
		/* read first: a locked exchange only when a chunk was skipped (one added after the read is seen by the
		 * next call, as it would be after an exchange) */
		k = __atomic_load_n(&c->skipped[d], __ATOMIC_RELAXED)
			    ? __atomic_exchange_n(&c->skipped[d], 0, __ATOMIC_RELAXED)
			    : 0;
		if (k)
			netcap__parser_feed(c, d, NULL, 0, k, mono_ns());
	}
	return c;
}

/* A parser HTTP/2 claimed under the whole lock: from now on its directions are locked apart.  An answer held
 * (h2cap.c) goes once its request is recorded: by the reader, or by the writer that recorded it (taking the
 * incoming side if it is free; if not, its holder sees the request when it checks after letting go) */
void netlock__unlock(struct shim_conn *c, int held)
{
	int in;

	if (held == LK_WHOLE && !c->h2dir && c->pc.proto && c->pc.proto->id == OBS_PROTO_HTTP2 &&
	    !__atomic_load_n(&c->pc.off, __ATOMIC_RELAXED)) {
		h2cap__claim(&c->h2);
		__atomic_store_n(&c->h2dir, 1, __ATOMIC_RELEASE);
	}
	if (held != LK_DIR(1) && h2cap__holding(&c->h2))
		h2cap__settle(&c->h2);
	__atomic_fetch_and(&c->lock, ~held, __ATOMIC_SEQ_CST);
	if (!h2cap__holding(&c->h2))
		return;
	in = __atomic_load_n(&c->h2dir, __ATOMIC_ACQUIRE) ? LK_DIR(0) : LK_WHOLE;
	if (!take(c, in))
		return; /* its holder settles them */
	if (in == LK_WHOLE || __atomic_load_n(&c->h2dir, __ATOMIC_ACQUIRE))
		h2cap__settle(&c->h2);
	__atomic_fetch_and(&c->lock, ~in, __ATOMIC_SEQ_CST);
}
