/* shim.c -- libobsshim.so: times libc I/O calls of an unmodified program into a shared-memory segment */
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "preload/inject.h"
#include "preload/segfile.h"
#include "abi/segment.h"
#include "preload/shim.h"
#include "lib/buckets.h"
#include "lib/clock.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- the real functions, resolved once ---- */
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_close)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_close_range)(unsigned int, unsigned int, int);
static void (*real_closefrom)(int);
static int (*real_fclose)(FILE *);
static FILE *(*real_freopen)(const char *, const char *, FILE *);
static FILE *(*real_freopen64)(const char *, const char *, FILE *);
static ssize_t (*real_read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t (*real_recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
static ssize_t (*real_pread64_chk)(int, void *, size_t, off64_t, size_t);

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
#define R(var, name) var = dlsym(RTLD_NEXT, name)
	R(real_read, "read");
	R(real_write, "write");
	R(real_readv, "readv");
	R(real_writev, "writev");
	R(real_pread, "pread");
	R(real_pread64, "pread64");
	R(real_pwrite, "pwrite");
	R(real_pwrite64, "pwrite64");
	R(real_send, "send");
	R(real_recv, "recv");
	R(real_sendto, "sendto");
	R(real_recvfrom, "recvfrom");
	R(real_sendmsg, "sendmsg");
	R(real_recvmsg, "recvmsg");
	R(real_connect, "connect");
	R(real_accept, "accept");
	R(real_accept4, "accept4");
	R(real_close, "close");
	R(real_dup2, "dup2");
	R(real_dup3, "dup3");
	R(real_close_range, "close_range");
	R(real_closefrom, "closefrom");
	R(real_fclose, "fclose");
	R(real_freopen, "freopen");
	R(real_freopen64, "freopen64");
	R(real_read_chk, "__read_chk");
	R(real_recv_chk, "__recv_chk");
	R(real_recvfrom_chk, "__recvfrom_chk");
	R(real_pread_chk, "__pread_chk");
	R(real_pread64_chk, "__pread64_chk");
#undef R
}

/* ---- per-process and per-thread state ---- */
static bool armed;			/* false: pass-through (disabled, or the segment could not be made) */
static struct obs_segment *seg;		/* NULL until the first recorded event creates it (seg_get) */
enum { SEG_ARMED, SEG_CREATING, SEG_READY, SEG_FAILED };
static int seg_state;			/* a once-flag: one thread creates, the others skip that event */
static bool seg_quiet;			/* a forked child: its parent already said what fails */
static uint64_t seg_given_up;		/* calls skipped while another thread made the segment */
static struct segfile_opts seg_opts;
static struct hist_bounds_shim {
	uint64_t ns[OBS_MAX_BOUNDS];
	uint32_t n;
} bounds;
static bool disabled;
/* TSC clock, invariant TSC only (CPUID): ns = base_ns + (tsc - base_tsc) * mult >> 32, once calibrated from two
 * (TSC, CLOCK_MONOTONIC) pairs TSC_CALIB_NS apart; until then clock_gettime. Nothing waits for it, and CPUID
 * (a VM exit: ~20 us under KVM) runs only then, never in the constructor. */
#define TSC_CALIB_NS 50000000ull
static bool tsc_ok;			/* the first pair was taken */
static int tsc_calibrating;
static uint64_t tsc_first_tsc, tsc_first_ns, tsc_base_tsc, tsc_base_ns;
static uint64_t tsc_mult;		/* published last (release): the bases are set when it is non-zero */
static __thread int in_shim;		/* recursion guard */
static __thread int stripe = -1;

__thread struct obs_current_request obs_current_request;
uint8_t obs_fd_class[OBS_FD_MAX];

static inline uint64_t rdtsc(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#else
	return 0;
#endif
}

/* CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant rate in every C-/P-state */
static bool tsc_invariant(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;

	__cpuid(0x80000000, a, b, c, d);
	if (a < 0x80000007)
		return false;
	__cpuid(0x80000007, a, b, c, d);
	return d & (1u << 8);
#else
	return false;
#endif
}

/* clock_gettime until the TSC is calibrated; the first caller past TSC_CALIB_NS takes the second pair */
static __attribute__((noinline)) uint64_t stamp_slow(void)
{
	uint64_t t = mono_ns(), c;
	int zero = 0;

	if (!tsc_ok || t - tsc_first_ns < TSC_CALIB_NS ||
	    !__atomic_compare_exchange_n(&tsc_calibrating, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return t;
	if (!tsc_invariant())
		return t; /* tsc_calibrating stays set: clock_gettime for good */
	t = mono_ns();
	c = rdtsc();
	if (c > tsc_first_tsc) {
		tsc_base_tsc = c;
		tsc_base_ns = t;
		__atomic_store_n(&tsc_mult, (uint64_t)((((unsigned __int128)(t - tsc_first_ns)) << 32) / (c - tsc_first_tsc)),
				 __ATOMIC_RELEASE);
	}
	return t;
}

/* now, in CLOCK_MONOTONIC ns: from the TSC once calibrated (a multiply), else clock_gettime */
static inline uint64_t stamp(void)
{
	uint64_t m = __atomic_load_n(&tsc_mult, __ATOMIC_ACQUIRE);
	int64_t d;

	if (__builtin_expect(!m, 0))
		return stamp_slow();
	d = (int64_t)(rdtsc() - tsc_base_tsc);
	return d <= 0 ? tsc_base_ns : tsc_base_ns + (uint64_t)(((unsigned __int128)d * m) >> 32);
}

/* a duration between two stamps (a call that spans the switch to the TSC may come out slightly negative) */
static inline uint64_t to_ns(uint64_t d)
{
	return (int64_t)d < 0 ? 0 : d;
}

static struct obs_segment *seg_create(bool count_skip);

/* the segment, created by the first event worth recording; NULL: another thread is making it (or it could not
 * be made), and with @count_skip this event is counted lost (segment_being_made) */
static inline struct obs_segment *seg_get(bool count_skip)
{
	struct obs_segment *s = __atomic_load_n(&seg, __ATOMIC_ACQUIRE);

	return __builtin_expect(s != NULL, 1) ? s : seg_create(count_skip);
}

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
static int staging_dirty;

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

static void record_error(struct obs_segment *seg, uint16_t nr, int err)
{
	uint32_t key = ((uint32_t)nr << 16) | (uint32_t)(err & 0xffff);

	if (!errs_add(seg->errs, OBS_SEG_ERRS, key, 1))
		__atomic_fetch_add(&seg->h.lost[SEG_LOST_ERRS_FULL], 1, __ATOMIC_RELAXED);
}

static inline void hist_add(struct obs_seg_hist *h, uint64_t ns)
{
	__atomic_fetch_add(&h->buckets[obs_hist_bucket(bounds.ns, bounds.n, ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

/* a call that completed while the segment was being made */
static void record_staged(enum obs_seg_slot slot, uint64_t ns, long ret, int err)
{
	hist_add(&staging.hist[slot], ns);
	if (ret < 0 && !errs_add(staging.errs, STAGING_ERRS, ((uint32_t)obs_seg_slot_nr[slot] << 16) | (err & 0xffff), 1))
		__atomic_fetch_add(&staging.errs_full, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&staging_dirty, 1, __ATOMIC_RELEASE);
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

static __attribute__((noinline)) void staging_fold(struct obs_segment *s)
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

static inline void record(enum obs_seg_slot slot, uint64_t t0, long ret, int err)
{
	struct obs_segment *seg = seg_get(false);
	uint64_t ns = to_ns(stamp() - t0);

	if (__builtin_expect(!seg, 0)) {
		if (__atomic_load_n(&seg_state, __ATOMIC_ACQUIRE) == SEG_CREATING) {
			record_staged(slot, ns, ret, err);
			return;
		}
		seg = __atomic_load_n(&seg, __ATOMIC_ACQUIRE); /* made in the meantime (or could not be made) */
		if (!seg)
			return;
	}
	if (__builtin_expect(__atomic_load_n(&staging_dirty, __ATOMIC_RELAXED), 0) &&
	    __atomic_exchange_n(&staging_dirty, 0, __ATOMIC_ACQ_REL))
		staging_fold(seg);
	if (__builtin_expect(stripe < 0, 0))
		stripe = (int)(syscall(SYS_gettid) % OBS_SEG_STRIPES);
	hist_add(&seg->hist[stripe][slot], ns);
	if (ret < 0)
		record_error(seg, obs_seg_slot_nr[slot], err);
}

static const uint8_t slot_dir[SEG_NSLOTS] = {
	[SEG_READ] = SEG_RECEIVE, [SEG_READV] = SEG_RECEIVE, [SEG_RECVFROM] = SEG_RECEIVE, [SEG_RECVMSG] = SEG_RECEIVE,
	[SEG_WRITE] = SEG_TRANSMIT, [SEG_WRITEV] = SEG_TRANSMIT, [SEG_SENDTO] = SEG_TRANSMIT,
	[SEG_SENDMSG] = SEG_TRANSMIT,
};

/* socket I/O: only on descriptors the shim saw accepted or connected */
static inline void record_io(enum obs_seg_slot slot, int fd, uint64_t t0, long ret, int err)
{
	uint8_t cls = fd >= 0 && fd < OBS_FD_MAX ? obs_fd_class[fd] : 0;

	record(slot, t0, ret, err);
	if (cls && ret >= 0 && armed) {
		struct obs_segment *s = __atomic_load_n(&seg, __ATOMIC_ACQUIRE);
		struct obs_seg_sock *sk;

		if (s)
			sk = &s->sock[stripe < 0 ? 0 : stripe][slot_dir[slot]][(cls & 0xf) - 1];
		else if (__atomic_load_n(&seg_state, __ATOMIC_ACQUIRE) == SEG_CREATING)
			sk = &staging.sock[slot_dir[slot]][(cls & 0xf) - 1]; /* folded in by a later call */
		else
			return;
		__atomic_fetch_add(&sk->bytes, (uint64_t)ret, __ATOMIC_RELAXED);
		hist_add(&sk->io, to_ns(stamp() - t0));
		if (!s)
			__atomic_store_n(&staging_dirty, 1, __ATOMIC_RELEASE);
	}
}

struct obs_segment *obs_shim_segment(void)
{
	return armed ? seg_get(true) : NULL;
}

/* bytes that crossed a descriptor: HTTP parsing on sockets, log records on stdout/stderr */
static inline void data_hook(int fd, int dir, const struct iovec *iov, int cnt, ssize_t r)
{
	if (r <= 0 || fd < 0 || fd >= OBS_FD_MAX)
		return;
	if (obs_conn_of[fd])
		obs_http_data(fd, dir, iov, cnt, r);
	else if (dir && (fd == 1 || fd == 2) && !obs_fd_class[fd])
		obs_log_write(fd, iov, cnt, r);
}

/* ---- the segment: made on the first recorded event, never in the constructor ---- */

static struct obs_segment *seg_create(bool count_skip)
{
	struct obs_segment *s;
	int expect = SEG_ARMED;

	/* Another thread is making it (a few syscalls): never wait for it -- the shim must not hold the host's
	 * thread longer than its own call -- this call goes unrecorded and is counted (lost{creating}) once the
	 * segment exists. The winner's own signal handlers never get here: in_shim is set around every record. */
	if (!__atomic_compare_exchange_n(&seg_state, &expect, SEG_CREATING, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		s = __atomic_load_n(&seg, __ATOMIC_ACQUIRE);
		if (!s && expect == SEG_CREATING) {
			if (!count_skip)
				return NULL; /* the caller stages it */
			__atomic_fetch_add(&seg_given_up, 1, __ATOMIC_RELAXED);
			s = __atomic_load_n(&seg, __ATOMIC_ACQUIRE);
			if (s) /* it came after all: count it there now, the winner may have missed it */
				__atomic_fetch_add(&s->h.lost[SEG_LOST_CREATING],
						   __atomic_exchange_n(&seg_given_up, 0, __ATOMIC_ACQ_REL), __ATOMIC_RELAXED);
			return NULL;
		}
		return s;
	}
	s = segfile__create(&seg_opts, seg_quiet);
	if (s)
		__atomic_store_n(&seg, s, __ATOMIC_RELEASE);
	else
		armed = false; /* said once (obsshim:), then pass-through */
	__atomic_store_n(&seg_state, s ? SEG_READY : SEG_FAILED, __ATOMIC_RELEASE);
	if (s)
		__atomic_fetch_add(&s->h.lost[SEG_LOST_CREATING], __atomic_exchange_n(&seg_given_up, 0, __ATOMIC_ACQ_REL),
				   __ATOMIC_RELAXED);
	return s;
}

/* OBSPROBE_BUCKETS (obsprobe run passes its validated --buckets), else (unset or malformed) the defaults */
static void parse_bounds(const char *list)
{
	int n = list && *list ? buckets__parse(list, bounds.ns, NULL) : -1;

	bounds.n = (uint32_t)(n > 0 ? n : buckets__parse(OBS_DEFAULT_BUCKETS, bounds.ns, NULL));
}

/* the first (TSC, CLOCK_MONOTONIC) pair; the second, and the CPUID check, come later (stamp_slow) */
static void calibrate_tsc(void)
{
#if defined(__x86_64__)
	tsc_first_ns = mono_ns();
	tsc_first_tsc = rdtsc();
	tsc_ok = true;
#endif
}

static void atfork_child(void)
{
	/* the parent's segment stays the parent's: the child makes its own when it first records */
	struct obs_segment *old = seg;

	seg = NULL;
	seg_given_up = 0;
	memset(&staging, 0, sizeof(staging)); /* the parent's, folded by the parent */
	staging_dirty = 0;
	stripe = -1;
	if (old)
		seg_quiet = true; /* the parent could make one: the same failing here is not news */
	if (__atomic_load_n(&seg_state, __ATOMIC_ACQUIRE) != SEG_FAILED)
		seg_state = SEG_ARMED; /* also when another parent thread was creating it at the fork */
	if (old)
		munmap(old, sizeof(*old));
	memset(obs_fd_class, 0, sizeof(obs_fd_class));
	obs_http_atfork_child();
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *b;

	in_shim++;
	pthread_once(&resolve_once, resolve);
	disabled = getenv("OBSPROBE_DISABLE") && !strcmp(getenv("OBSPROBE_DISABLE"), "1");
	if (!disabled) {
		b = getenv("OBSPROBE_BUCKETS");
		parse_bounds(b);
		segfile__opts_from_env(&seg_opts);
		seg_opts.bounds_ns = bounds.ns;
		seg_opts.nbounds = bounds.n;
		calibrate_tsc();
		obs_http_init();
		pthread_atfork(NULL, NULL, atfork_child);
		armed = true;
	}
	in_shim--;
}

/* ---- wrappers: time the real call; errno and the return value are the real call's ---- */

#define ENSURE(fn)                                                        \
	do {                                                              \
		if (__builtin_expect(!real_##fn, 0))                      \
			pthread_once(&resolve_once, resolve);             \
		if (__builtin_expect(!real_##fn, 0)) {                    \
			errno = ENOSYS;                                   \
			return -1;                                        \
		}                                                         \
	} while (0)

/* time the real call, then record it with @rec (sees t0, r, saved); errno and r are the real call's */
#define TIMED_CALL(type, call, rec)                                       \
	do {                                                              \
		uint64_t t0;                                              \
		type r;                                                   \
		int saved;                                                \
		if (!armed || in_shim)                                    \
			return call;                                      \
		t0 = stamp();                                             \
		r = call;                                                 \
		saved = errno;                                            \
		in_shim++;                                                \
		rec;                                                      \
		in_shim--;                                                \
		errno = saved;                                            \
		return r;                                                 \
	} while (0)

#define TIMED(slot, type, call) TIMED_CALL(type, call, record(slot, t0, (long)r, saved))
/* I/O that moved the bytes in IOV/CNT: timed, then parsed (HTTP) or logged (stdout/stderr) */
#define TIMED_DATA(slot, fd, call, dir, ...) \
	TIMED_CALL(ssize_t, call, (record_io(slot, fd, t0, (long)r, saved), data_hook(fd, dir, __VA_ARGS__, r)))
#define ONE(buf, n) (&(struct iovec){ .iov_base = (void *)(buf), .iov_len = (n) }), 1
/* received bytes: what @flags say about them decides whether they are parsed (recv_hook) */
#define TIMED_RECV(slot, fd, call, flags, ...) \
	TIMED_CALL(ssize_t, call, (record_io(slot, fd, t0, (long)r, saved), recv_hook(fd, __VA_ARGS__, r, flags)))
#define OBS_IOV_INJECT_MAX (INJECT_IOV_MAX - 2) /* the program's iovecs a write injected into may have */

static inline int iov_count(size_t n)
{
	return n > 1024 ? 1024 : (int)n; /* the kernel's UIO_MAXIOV: more is EINVAL, never a success */
}

/* a request written while this thread serves one: traceparent goes in (httpshim.c) */
static inline bool injectable(int fd)
{
	return armed && !in_shim && obs_current_request.active && fd >= 0 && fd < OBS_FD_MAX &&
	       (obs_fd_class[fd] & OBS_FD_OUTBOUND) && obs_conn_of[fd];
}

static bool inject(enum obs_seg_slot slot, int fd, const struct iovec *iov, int cnt, int flags, bool use_send,
		   ssize_t *out)
{
	uint64_t t0 = stamp();
	int saved = errno;
	bool done;

	in_shim++;
	done = obs_http_inject(fd, iov, cnt, flags, use_send, out, real_writev, real_sendmsg);
	if (done) {
		saved = errno; /* the real call's */
		record_io(slot, fd, t0, (long)*out, saved);
	}
	in_shim--;
	errno = saved;
	return done;
}

/* bytes received with @flags: MSG_TRUNC on TCP discards them unwritten (a gap); peeked, out-of-band and
 * error-queue bytes are not the stream */
static inline void recv_hook(int fd, const struct iovec *iov, int cnt, ssize_t r, int flags)
{
	if (r <= 0 || fd < 0 || fd >= OBS_FD_MAX || (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE)))
		return;
	if (flags & MSG_TRUNC) {
		if (obs_conn_of[fd])
			obs_http_gap(fd, 0, r);
		return;
	}
	data_hook(fd, 0, iov, cnt, r);
}

/* @fd is closed (by close, dup2 onto it, close_range, fclose): its socket and connection state end */
static void fd_forget(int fd)
{
	if (fd < 0 || fd >= OBS_FD_MAX)
		return;
	obs_log_fd_reset(fd);
	if (obs_fd_class[fd]) {
		if (seg && (obs_fd_class[fd] & 0xf) == OBS_FD_TCP)
			__atomic_fetch_add(&seg->h.conns_closed[obs_fd_class[fd] & OBS_FD_INBOUND ? SEG_INBOUND : SEG_OUTBOUND],
					   1, __ATOMIC_RELAXED);
		obs_fd_class[fd] = 0;
	}
	if (obs_conn_of[fd] && !in_shim) {
		in_shim++;
		obs_http_close(fd);
		in_shim--;
	}
}

/* I/O on a descriptor that may be a socket */
#define TIMED_IO(slot, fd, call) TIMED_CALL(ssize_t, call, record_io(slot, fd, t0, (long)r, saved))

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	ENSURE(read);
	TIMED_DATA(SEG_READ, fd, real_read(fd, buf, n), 0, ONE(buf, r));
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t r;

	ENSURE(write);
	if (injectable(fd) && inject(SEG_WRITE, fd, ONE(buf, n), 0, false, &r))
		return r;
	if ((fd == 1 || fd == 2) && armed && !in_shim && obs_current_request.active && obs_log_tag_enabled()) {
		uint64_t t0 = stamp();
		int saved = errno;

		in_shim++;
		if (obs_log_tag(fd, buf, n, &r, real_write)) { /* wrote the tagged line and logged it */
			saved = errno;
			record(SEG_WRITE, t0, r, saved);
			in_shim--;
			errno = saved;
			return r;
		}
		in_shim--;
		errno = saved; /* not one whole line: as it is, below */
	}
	TIMED_DATA(SEG_WRITE, fd, real_write(fd, buf, n), 1, ONE(buf, r));
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	ENSURE(readv);
	TIMED_DATA(SEG_READV, fd, real_readv(fd, iov, cnt), 0, iov, cnt);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t r;

	ENSURE(writev);
	if (injectable(fd) && cnt > 0 && cnt <= OBS_IOV_INJECT_MAX && inject(SEG_WRITEV, fd, iov, cnt, 0, false, &r))
		return r;
	TIMED_DATA(SEG_WRITEV, fd, real_writev(fd, iov, cnt), 1, iov, cnt);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ENSURE(pread);
	TIMED(SEG_PREAD, ssize_t, real_pread(fd, buf, n, off));
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	ENSURE(pread64);
	TIMED(SEG_PREAD, ssize_t, real_pread64(fd, buf, n, off));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ENSURE(pwrite);
	TIMED(SEG_PWRITE, ssize_t, real_pwrite(fd, buf, n, off));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	ENSURE(pwrite64);
	TIMED(SEG_PWRITE, ssize_t, real_pwrite64(fd, buf, n, off));
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	ssize_t r;

	ENSURE(send);
	if (injectable(fd) && inject(SEG_SENDTO, fd, ONE(buf, n), flags, true, &r))
		return r;
	TIMED_DATA(SEG_SENDTO, fd, real_send(fd, buf, n, flags), 1, ONE(buf, r));
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	ENSURE(recv);
	TIMED_RECV(SEG_RECVFROM, fd, real_recv(fd, buf, n, flags), flags, ONE(buf, r));
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a, socklen_t al)
{
	ssize_t r;

	ENSURE(sendto);
	if (!a && injectable(fd) && inject(SEG_SENDTO, fd, ONE(buf, n), flags, true, &r))
		return r;
	TIMED_DATA(SEG_SENDTO, fd, real_sendto(fd, buf, n, flags, a, al), 1, ONE(buf, r));
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
	ENSURE(recvfrom);
	TIMED_RECV(SEG_RECVFROM, fd, real_recvfrom(fd, buf, n, flags, a, al), flags, ONE(buf, r));
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct msghdr mc;
	ssize_t r;

	ENSURE(sendmsg);
	if (injectable(fd) && obs_copy_in(&mc, m, sizeof(mc)) && !mc.msg_name && mc.msg_iovlen > 0 &&
	    mc.msg_iovlen <= OBS_IOV_INJECT_MAX && !mc.msg_controllen &&
	    inject(SEG_SENDMSG, fd, mc.msg_iov, (int)mc.msg_iovlen, flags, true, &r))
		return r;
	/* after a call that moved bytes the kernel has read *m and its iovecs: safe to read them */
	TIMED_CALL(ssize_t, real_sendmsg(fd, m, flags),
		   (record_io(SEG_SENDMSG, fd, t0, (long)r, saved),
		    r > 0 ? data_hook(fd, 1, m->msg_iov, iov_count(m->msg_iovlen), r) : (void)0));
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	ENSURE(recvmsg);
	TIMED_CALL(ssize_t, real_recvmsg(fd, m, flags),
		   (record_io(SEG_RECVMSG, fd, t0, (long)r, saved),
		    r > 0 ? recv_hook(fd, m->msg_iov, iov_count(m->msg_iovlen), r, flags) : (void)0));
}

static void classify(int fd, uint8_t dir, const struct sockaddr *peer, socklen_t plen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);

	if (fd < 0 || fd >= OBS_FD_MAX)
		return;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl))
		return;
	obs_fd_class[fd] = dir | (ss.ss_family == AF_UNIX ? OBS_FD_UNIX : type == SOCK_DGRAM ? OBS_FD_UDP : OBS_FD_TCP);
	if ((obs_fd_class[fd] & 0xf) == OBS_FD_TCP) {
		if (seg)
			__atomic_fetch_add(&seg->h.conns_opened[dir == OBS_FD_INBOUND ? SEG_INBOUND : SEG_OUTBOUND], 1,
					   __ATOMIC_RELAXED);
		obs_http_open(fd, peer, plen, dir == OBS_FD_INBOUND);
	}
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t al)
{
	int r, saved;
	uint64_t t0;

	ENSURE(connect);
	if (!armed || in_shim)
		return real_connect(fd, a, al);
	t0 = stamp();
	r = real_connect(fd, a, al);
	saved = errno;
	in_shim++;
	record(SEG_CONNECT, t0, r, saved);
	if (r == 0 || saved == EINPROGRESS)
		classify(fd, OBS_FD_OUTBOUND, a, al);
	in_shim--;
	errno = saved;
	return r;
}

static int accepted(enum obs_seg_slot slot, uint64_t t0, int r, struct sockaddr *a, socklen_t *al)
{
	int saved = errno;

	in_shim++;
	record(slot, t0, r, saved);
	(void)a;
	(void)al; /* the caller's buffer may hold a cut address: the peer is asked for (obs_http_open) */
	if (r >= 0)
		classify(r, OBS_FD_INBOUND, NULL, 0);
	in_shim--;
	errno = saved;
	return r;
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *al)
{
	uint64_t t0;

	ENSURE(accept);
	if (!armed || in_shim)
		return real_accept(fd, a, al);
	t0 = stamp();
	return accepted(SEG_ACCEPT, t0, real_accept(fd, a, al), a, al);
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *al, int flags)
{
	uint64_t t0;

	ENSURE(accept4);
	if (!armed || in_shim)
		return real_accept4(fd, a, al, flags);
	t0 = stamp();
	return accepted(SEG_ACCEPT4, t0, real_accept4(fd, a, al, flags), a, al);
}

EXPORT int close(int fd)
{
	ENSURE(close);
	fd_forget(fd);
	TIMED(SEG_CLOSE, int, real_close(fd));
}

/* calls that close a descriptor without close(): what the shim knew of it ends with it */
EXPORT int dup2(int old, int fd)
{
	int r, saved;

	ENSURE(dup2);
	r = real_dup2(old, fd);
	saved = errno;
	if (r >= 0 && old != fd)
		fd_forget(fd);
	errno = saved;
	return r;
}

EXPORT int dup3(int old, int fd, int flags)
{
	int r, saved;

	ENSURE(dup3);
	r = real_dup3(old, fd, flags);
	saved = errno;
	if (r >= 0)
		fd_forget(fd);
	errno = saved;
	return r;
}

static void forget_range(unsigned int first, unsigned int last)
{
	for (unsigned int fd = first; fd <= last && fd < OBS_FD_MAX; fd++)
		if (obs_fd_class[fd] || obs_conn_of[fd])
			fd_forget((int)fd);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int saved = errno;

	ENSURE(close_range);
	if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		forget_range(first, last);
	errno = saved;
	return real_close_range(first, last, flags);
}

EXPORT void closefrom(int first)
{
	int saved = errno;

	if (__builtin_expect(!real_closefrom, 0))
		pthread_once(&resolve_once, resolve);
	if (first >= 0)
		forget_range((unsigned int)first, ~0U);
	errno = saved;
	if (real_closefrom)
		real_closefrom(first);
}

EXPORT int fclose(FILE *f)
{
	int saved = errno, fd;

	ENSURE(fclose);
	fd = f ? fileno_unlocked(f) : -1; /* before the stream and its descriptor are gone */
	fd_forget(fd);
	errno = saved;
	return real_fclose(f);
}

/* freopen keeps the stream's fd number for another file (glibc dups inside, unseen) */
static FILE *reopen(FILE *(*const *real)(const char *, const char *, FILE *), const char *path, const char *mode,
		    FILE *f)
{
	FILE *r;
	int saved, old;

	if (__builtin_expect(!*real, 0))
		pthread_once(&resolve_once, resolve);
	if (!*real) {
		errno = ENOSYS;
		return NULL;
	}
	old = f ? fileno_unlocked(f) : -1;
	r = (*real)(path, mode, f);
	saved = errno;
	fd_forget(old);
	if (r)
		fd_forget(fileno_unlocked(r));
	errno = saved;
	return r;
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	return reopen(&real_freopen, path, mode, f);
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	return reopen(&real_freopen64, path, mode, f);
}

/* _FORTIFY_SOURCE variants that binaries built with it call instead */
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ENSURE(read_chk);
	TIMED_DATA(SEG_READ, fd, real_read_chk(fd, buf, n, buflen), 0, ONE(buf, r));
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	ENSURE(recv_chk);
	TIMED_RECV(SEG_RECVFROM, fd, real_recv_chk(fd, buf, n, buflen, flags), flags, ONE(buf, r));
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *a,
			      socklen_t *al)
{
	ENSURE(recvfrom_chk);
	TIMED_RECV(SEG_RECVFROM, fd, real_recvfrom_chk(fd, buf, n, buflen, flags, a, al), flags, ONE(buf, r));
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	ENSURE(pread_chk);
	TIMED(SEG_PREAD, ssize_t, real_pread_chk(fd, buf, n, off, buflen));
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	ENSURE(pread64_chk);
	TIMED(SEG_PREAD, ssize_t, real_pread64_chk(fd, buf, n, off, buflen));
}
