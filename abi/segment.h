/* segment.h -- the shared-memory segment the shim writes and the collector reads: one layout, one header */
#ifndef OBSPROBE_SEGMENT_H
#define OBSPROBE_SEGMENT_H

#include <asm/unistd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi/hist.h"
#include "abi/exchange.h"
#include "lib/proto/h2.h"

#define OBS_SEG_MAGIC 0x3130474553424f00ull /* "\0OBSSEG01" little-endian */
/* Bump when the meaning of a field changes while the layout stays (a unit, an enum's order, the syscall a slot
 * is): the layout itself is in OBS_SEG_VERSION already (OBS_SEG_LAYOUT, below). */
#define OBS_SEG_EPOCH 5
#define OBS_SEG_STRIPES 16     /* threads hash onto stripes: no shared cache line per update */
#define OBS_SEG_WORK_SAMPLE 64 /* the shim times its own work on 1 in this many of a thread's calls */
#define OBS_SEG_ERRS 256       /* distinct (syscall, errno) pairs */
#define OBS_SEG_RING 8192      /* event records: HTTP exchanges, log writes (8 MiB: ~0.4 s of a busy server) */
#define OBS_SEG_REC 1024       /* bytes per event record */

/* the syscalls the shim sees, as this architecture's kernel numbers them (<asm/unistd.h>: the numbers the eBPF
 * path reads and the collector's syscall table names), so both paths label alike */
enum obs_seg_slot {
	SEG_READ,
	SEG_WRITE,
	SEG_READV,
	SEG_WRITEV,
	SEG_PREAD,
	SEG_PWRITE,
	SEG_SENDTO,
	SEG_RECVFROM,
	SEG_SENDMSG,
	SEG_RECVMSG,
	SEG_CONNECT,
	SEG_ACCEPT,
	SEG_ACCEPT4,
	SEG_CLOSE,
	SEG_NSLOTS,
};

static const uint16_t obs_seg_slot_nr[SEG_NSLOTS] = {
	[SEG_READ] = __NR_read,	      [SEG_WRITE] = __NR_write,	      [SEG_READV] = __NR_readv,
	[SEG_WRITEV] = __NR_writev,   [SEG_PREAD] = __NR_pread64,     [SEG_PWRITE] = __NR_pwrite64,
	[SEG_SENDTO] = __NR_sendto,   [SEG_RECVFROM] = __NR_recvfrom, [SEG_SENDMSG] = __NR_sendmsg,
	[SEG_RECVMSG] = __NR_recvmsg, [SEG_CONNECT] = __NR_connect,   [SEG_ACCEPT] = __NR_accept,
	[SEG_ACCEPT4] = __NR_accept4, [SEG_CLOSE] = __NR_close,
};
#if defined(__x86_64__)
_Static_assert(__NR_read == 0 && __NR_readv == 19 && __NR_pread64 == 17 && __NR_sendto == 44 && __NR_accept4 == 288 &&
		       __NR_close == 3,
	       "x86_64 syscall numbers as the segment has always carried them");
#endif

/* socket I/O, by direction and protocol (obsprobe_socket_*, obsprobe_tcp_connections_*) */
enum obs_seg_dir { SEG_RECEIVE, SEG_TRANSMIT, SEG_NDIRS };
enum obs_seg_proto { SEG_TCP, SEG_UDP, SEG_UNIX, SEG_NPROTOS };
enum obs_seg_conn { SEG_INBOUND, SEG_OUTBOUND, SEG_NCONNS };

/* what became of a request the shim would have added traceparent to */
enum obs_seg_inject {
	SEG_INJ_DONE,
	SEG_INJ_NO_ROOM,
	SEG_INJ_CUT,
	SEG_INJ_NO_SLOT,	 /* TLS: no stable buffer for the write (all in use, or the write larger than one) */
	SEG_INJ_NOT_EXACT,	 /* TLS: the program's byte counts could not be kept exact (partial-write mode) */
	SEG_INJ_FAILED,		 /* TLS: the write carrying the lines did not complete (the program gave it up) */
	SEG_INJ_H2_CONTINUATION, /* HTTP/2: the header block goes on in CONTINUATION frames */
	SEG_INJ_H2_TOO_BIG,	 /* HTTP/2: the HEADERS frame would pass 16384 bytes with the field */
	SEG_INJ_H2_NOT_WHOLE,	 /* HTTP/2: the HEADERS frame does not end in the write */
	SEG_INJ__COUNT
};

enum obs_seg_lost {
	SEG_LOST_ERRS_FULL,
	SEG_LOST_RING_FULL,
	SEG_LOST_CONNS_FULL,
	SEG_LOST_BUSY,
	SEG_LOST_CREATING,	 /* calls of threads that gave up waiting (1 s) for another to make the segment */
	SEG_LOST_TLS_NO_SOCKET,	 /* TLS plaintext not tied to a socket with a parser */
	SEG_LOST_TLS_UNRESOLVED, /* an OpenSSL call whose real function the shim could not find */
	SEG_LOST__COUNT
};

/* ring record types */
enum obs_seg_rec_type {
	OBS_REC_EXCHANGE = 1, /* struct obs_exchange (abi/exchange.h): times CLOCK_MONOTONIC */
	OBS_REC_LOG = 2,      /* struct obs_seg_log: bytes a thread wrote to stdout/stderr */
	OBS_REC_H2 = 3,	      /* struct obs_seg_h2: an HTTP/2 connection's framed event (HPACK is the collector's) */
};

struct obs_seg_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t buckets[OBS_HIST_SLOTS];
};

struct obs_seg_sock {
	uint64_t bytes;
	struct obs_seg_hist io;
};

struct obs_seg_err {
	uint32_t key; /* syscall nr << 16 | errno; 0 = free */
	uint32_t pad;
	uint64_t count;
};

struct obs_seg_rec {
	uint64_t seq; /* = position + 1 once committed */
	uint32_t type, len;
	uint8_t data[OBS_SEG_REC - 16];
};

#define OBS_SEG_LOG_TEXT (OBS_SEG_REC - 16 - 48)

struct obs_seg_log {
	int32_t pid, tid;
	uint64_t time_ns;     /* CLOCK_MONOTONIC */
	uint8_t trace_id[16]; /* zero outside a request */
	uint8_t span_id[8];
	uint8_t stream; /* 1 stdout, 2 stderr */
	uint8_t cut;	/* the write was longer than this record: 1 continued in the next, 2 the rest not logged */
	uint16_t pad;
	uint32_t len;
	char text[OBS_SEG_LOG_TEXT];
};

/* One framed HTTP/2 event of a shim's connection (lib/proto/h2.h), in the order the bytes crossed it.  The
 * collector keeps one h2_session per (segment, @conn) and decodes the header blocks.
 *
 * @ev.type H2_EV_HEADERS: @ev.len bytes of the block follow in @block (at most OBS_SEG_H2_BLOCK); a piece longer
 * than that goes in several records, H2_EVF_MORE on every one but the block's last.  Other events carry no bytes.
 * @ev.type OBS_SEG_H2_CLOSE: the connection closed (or its parser started afresh): the collector ends its
 * streams and frees the session; a later event of @conn starts a new one.  When a record of a connection could
 * not be written (ring full, counted lost), the shim sends H2_EV_LOST for both directions as soon as it can and
 * nothing more of it but the close: the collector's HPACK state of it is gone.
 *
 * @trace_id/@parent_id/@sampled: what the writing thread served when it wrote a header block (zero: nothing):
 * a client stream the block opens is that span's child.  @span_id != 0: the shim put a traceparent with this
 * span id into the HEADERS frame of @ev.stream (preload/inject_h2.c): the client exchange takes it as its own,
 * so the server's span names it as parent. */
#define OBS_SEG_H2_CLOSE 0x80 /* ev.type: the connection closed; not one of h2.h's events */
#define OBS_SEG_H2_HEAD 120
#define OBS_SEG_H2_BLOCK (OBS_SEG_REC - 16 - OBS_SEG_H2_HEAD)

struct obs_seg_h2 {
	uint64_t conn; /* the shim's connection id: never repeats within the segment's life (never 0) */
	int32_t pid, tid;
	struct obs_addr local, peer;
	struct h2_ev ev;
	uint8_t trace_id[16];
	uint8_t parent_id[8];
	uint8_t span_id[8];
	uint8_t sampled;
	uint8_t pad[7];
	uint8_t block[OBS_SEG_H2_BLOCK];
};

struct obs_seg_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size; /* sizeof(struct obs_seg_header) */
	uint64_t total_size;  /* sizeof(struct obs_segment) == the file's size */
	int32_t pid;
	int32_t ppid;
	uint64_t start_time; /* /proc/PID/stat field 22: tells a reused pid apart */
	uint64_t created_ns; /* CLOCK_MONOTONIC at creation: several per pid after exec */
	char comm[16];
	char service[64];
	uint32_t nbounds;
	uint32_t nslots;
	uint64_t bounds_ns[OBS_MAX_BOUNDS];
	uint64_t lost[SEG_LOST__COUNT];
	uint64_t conns_opened[SEG_NCONNS]; /* TCP connections accepted / connected */
	uint64_t conns_closed[SEG_NCONNS]; /* ... and closed through close() */
	uint64_t ring_head;		   /* next position to reserve (producers) */
	uint64_t ring_tail;		   /* next position to read (the collector) */
	uint64_t expired_segments;	   /* unread segments of exited processes this shim removed (and theirs) */
	uint64_t inject[SEG_INJ__COUNT];   /* traceparent injection outcomes (obsprobe_context_injections_total) */
	/* the shim's own work after the real calls (recording, parsing, logs), ns, per stripe: 1 in
	 * OBS_SEG_WORK_SAMPLE calls of a thread timed, counted that many times (obsprobe_probe_cpu_seconds_total) */
	uint64_t work_ns[OBS_SEG_STRIPES];
	uint8_t reserved[8];
};

struct obs_segment {
	struct obs_seg_header h;
	struct obs_seg_hist hist[OBS_SEG_STRIPES][SEG_NSLOTS];
	struct obs_seg_sock sock[OBS_SEG_STRIPES][SEG_NDIRS][SEG_NPROTOS];
	struct obs_seg_err errs[OBS_SEG_ERRS];
	struct obs_seg_rec ring[OBS_SEG_RING];
};

/* ---- the layout, pinned ----
 *
 * The shim and the collector are separate builds that meet in a file: every record's size and the offsets the
 * other side reads are asserted here, and the version a segment carries is derived from them.  Each item of
 * OBS_SEG_LAYOUT_ITEMS (an index, a value) is weighted by its index and summed into OBS_SEG_LAYOUT, so moving,
 * resizing, adding or removing any field listed (or a record's size, or the exchange payload's) changes
 * OBS_SEG_VERSION by itself: a layout cannot drift under an unchanged version, and a collector refuses a
 * segment of any other layout ("segment version X, this collector reads Y").  A new field goes into the list
 * (any unused index) and the asserts below; a change of meaning with the same layout bumps OBS_SEG_EPOCH. */
/* clang-format off */
#define OBS_SEG_LAYOUT_ITEMS(X)                                                                                        \
	X(1, OBS_SEG_EPOCH) X(2, OBS_SEG_MAGIC & 0xffffffff)                                                         \
	X(10, sizeof(struct obs_seg_hist)) X(11, offsetof(struct obs_seg_hist, sum_ns))                                \
	X(12, offsetof(struct obs_seg_hist, buckets)) X(13, OBS_HIST_SLOTS)                                            \
	X(20, sizeof(struct obs_seg_sock)) X(21, offsetof(struct obs_seg_sock, io))                                    \
	X(30, sizeof(struct obs_seg_err)) X(31, offsetof(struct obs_seg_err, count))                                   \
	X(40, sizeof(struct obs_seg_rec)) X(41, offsetof(struct obs_seg_rec, type))                                    \
	X(42, offsetof(struct obs_seg_rec, len)) X(43, offsetof(struct obs_seg_rec, data))                             \
	X(50, sizeof(struct obs_seg_log)) X(51, offsetof(struct obs_seg_log, tid))                                     \
	X(52, offsetof(struct obs_seg_log, time_ns)) X(53, offsetof(struct obs_seg_log, trace_id))                     \
	X(54, offsetof(struct obs_seg_log, span_id)) X(55, offsetof(struct obs_seg_log, stream))                       \
	X(56, offsetof(struct obs_seg_log, cut)) X(57, offsetof(struct obs_seg_log, len))                              \
	X(58, offsetof(struct obs_seg_log, text))                                                                      \
	X(60, sizeof(struct obs_exchange))                                                                            \
	X(61, sizeof(struct obs_seg_h2)) X(62, offsetof(struct obs_seg_h2, pid))                                       \
	X(63, offsetof(struct obs_seg_h2, local)) X(64, offsetof(struct obs_seg_h2, peer))                             \
	X(65, offsetof(struct obs_seg_h2, ev)) X(66, offsetof(struct obs_seg_h2, trace_id))                            \
	X(67, offsetof(struct obs_seg_h2, parent_id)) X(68, offsetof(struct obs_seg_h2, span_id))                      \
	X(69, offsetof(struct obs_seg_h2, sampled)) X(111, offsetof(struct obs_seg_h2, block))                          \
	X(112, sizeof(struct h2_ev)) X(113, OBS_SEG_H2_CLOSE)                                                            \
	X(70, sizeof(struct obs_seg_header)) X(71, offsetof(struct obs_seg_header, version))                           \
	X(72, offsetof(struct obs_seg_header, header_size)) X(73, offsetof(struct obs_seg_header, total_size))         \
	X(74, offsetof(struct obs_seg_header, pid)) X(75, offsetof(struct obs_seg_header, ppid))                       \
	X(76, offsetof(struct obs_seg_header, start_time)) X(77, offsetof(struct obs_seg_header, created_ns))          \
	X(78, offsetof(struct obs_seg_header, comm)) X(79, offsetof(struct obs_seg_header, service))                   \
	X(80, offsetof(struct obs_seg_header, nbounds)) X(81, offsetof(struct obs_seg_header, nslots))                 \
	X(82, offsetof(struct obs_seg_header, bounds_ns)) X(83, offsetof(struct obs_seg_header, lost))                 \
	X(84, offsetof(struct obs_seg_header, conns_opened)) X(85, offsetof(struct obs_seg_header, conns_closed))      \
	X(86, offsetof(struct obs_seg_header, ring_head)) X(87, offsetof(struct obs_seg_header, ring_tail))            \
	X(88, offsetof(struct obs_seg_header, expired_segments)) X(89, offsetof(struct obs_seg_header, inject))        \
	X(90, offsetof(struct obs_seg_header, reserved)) X(91, SEG_LOST__COUNT) X(92, SEG_INJ__COUNT)                  \
	X(93, offsetof(struct obs_seg_header, work_ns)) X(94, OBS_SEG_WORK_SAMPLE)                                     \
	X(100, sizeof(struct obs_segment)) X(101, offsetof(struct obs_segment, hist))                                  \
	X(102, offsetof(struct obs_segment, sock)) X(103, offsetof(struct obs_segment, errs))                          \
	X(104, offsetof(struct obs_segment, ring)) X(105, OBS_SEG_STRIPES) X(106, SEG_NSLOTS)                          \
	X(107, SEG_NDIRS) X(108, SEG_NPROTOS) X(109, OBS_SEG_ERRS) X(110, OBS_SEG_RING)
/* clang-format on */
#define OBS_SEG_LAYOUT_TERM(i, v) +(uint64_t)(v) * (0x9e3779b97f4a7c15ull * (2 * (i) + 1))
#define OBS_SEG_LAYOUT ((uint64_t)0 OBS_SEG_LAYOUT_ITEMS(OBS_SEG_LAYOUT_TERM))
/* the epoch in the top byte (readable), the layout's 24-bit fold below it */
#define OBS_SEG_LAYOUT_FOLD ((OBS_SEG_LAYOUT ^ OBS_SEG_LAYOUT >> 24 ^ OBS_SEG_LAYOUT >> 48) & 0xffffff)
#define OBS_SEG_VERSION ((uint32_t)(OBS_SEG_EPOCH << 24 | OBS_SEG_LAYOUT_FOLD))

_Static_assert(sizeof(struct obs_seg_hist) == 280 && offsetof(struct obs_seg_hist, buckets) == 16, "hist layout");
_Static_assert(sizeof(struct obs_seg_sock) == 288 && offsetof(struct obs_seg_sock, io) == 8, "sock layout");
_Static_assert(sizeof(struct obs_seg_err) == 16 && offsetof(struct obs_seg_err, count) == 8, "err layout");
_Static_assert(sizeof(struct obs_seg_rec) == OBS_SEG_REC && offsetof(struct obs_seg_rec, type) == 8 &&
		       offsetof(struct obs_seg_rec, len) == 12 && offsetof(struct obs_seg_rec, data) == 16,
	       "ring record layout");
_Static_assert(sizeof(struct obs_seg_log) == OBS_SEG_REC - 16 && offsetof(struct obs_seg_log, time_ns) == 8 &&
		       offsetof(struct obs_seg_log, trace_id) == 16 && offsetof(struct obs_seg_log, span_id) == 32 &&
		       offsetof(struct obs_seg_log, stream) == 40 && offsetof(struct obs_seg_log, cut) == 41 &&
		       offsetof(struct obs_seg_log, len) == 44 && offsetof(struct obs_seg_log, text) == 48,
	       "log record layout");
_Static_assert(sizeof(struct obs_exchange) <= OBS_SEG_REC - 16, "an exchange fits a record");
_Static_assert(sizeof(struct obs_seg_h2) == OBS_SEG_REC - 16 && offsetof(struct obs_seg_h2, pid) == 8 &&
		       offsetof(struct obs_seg_h2, local) == 16 && offsetof(struct obs_seg_h2, peer) == 36 &&
		       offsetof(struct obs_seg_h2, ev) == 56 && offsetof(struct obs_seg_h2, trace_id) == 80 &&
		       offsetof(struct obs_seg_h2, parent_id) == 96 && offsetof(struct obs_seg_h2, span_id) == 104 &&
		       offsetof(struct obs_seg_h2, sampled) == 112 &&
		       offsetof(struct obs_seg_h2, block) == OBS_SEG_H2_HEAD && OBS_SEG_H2_BLOCK == 888,
	       "h2 record layout");
_Static_assert(OBS_SEG_H2_CLOSE > H2_EV_PREFACE, "the close marker is none of h2.h's events");
_Static_assert(sizeof(struct obs_seg_header) == 712 && sizeof(struct obs_seg_header) % 8 == 0 &&
		       offsetof(struct obs_seg_header, version) == 8 &&
		       offsetof(struct obs_seg_header, total_size) == 16,
	       "header layout");
_Static_assert(offsetof(struct obs_seg_header, pid) == 24 && offsetof(struct obs_seg_header, start_time) == 32 &&
		       offsetof(struct obs_seg_header, service) == 64,
	       "the header fields tests/integration/test_segments.sh patches");
_Static_assert(offsetof(struct obs_seg_header, nbounds) == 128 && offsetof(struct obs_seg_header, bounds_ns) == 136 &&
		       offsetof(struct obs_seg_header, lost) == 392 &&
		       offsetof(struct obs_seg_header, ring_head) == 480 &&
		       offsetof(struct obs_seg_header, ring_tail) == 488 &&
		       offsetof(struct obs_seg_header, inject) == 504 &&
		       offsetof(struct obs_seg_header, work_ns) == 576 &&
		       offsetof(struct obs_seg_header, reserved) == 704,
	       "header fields the collector reads");
_Static_assert(offsetof(struct obs_segment, hist) == sizeof(struct obs_seg_header) &&
		       offsetof(struct obs_segment, ring) % 8 == 0 && sizeof(struct obs_segment) == 8483784,
	       "segment layout");
_Static_assert(OBS_SEG_VERSION >> 24 == OBS_SEG_EPOCH, "the epoch reads in the version");

/* Validate a mapped segment before trusting a byte beyond its header.
 * Returns 0, or -1 with a one-line reason in @err. Pure: safe on garbage. */
static inline int obs_seg_validate(const void *map, size_t filesize, char *err, size_t errlen)
{
	const struct obs_seg_header *h = map;

	if (filesize < sizeof(*h)) {
		snprintf(err, errlen, "truncated: %zu bytes, a header is %zu", filesize, sizeof(*h));
		return -1;
	}
	if (h->magic != OBS_SEG_MAGIC) {
		snprintf(err, errlen, "not an obsprobe segment (bad magic)");
		return -1;
	}
	if (h->version != OBS_SEG_VERSION) {
		snprintf(err, errlen, "segment version %u, this collector reads %u", h->version, OBS_SEG_VERSION);
		return -1;
	}
	if (h->header_size != sizeof(*h) || h->total_size != sizeof(struct obs_segment) ||
	    filesize != sizeof(struct obs_segment)) {
		snprintf(err, errlen, "size mismatch: header %u, total %llu, file %zu (expected %zu/%zu)",
			 h->header_size, (unsigned long long)h->total_size, filesize, sizeof(*h),
			 sizeof(struct obs_segment));
		return -1;
	}
	if (h->nbounds == 0 || h->nbounds > OBS_MAX_BOUNDS || h->nslots != SEG_NSLOTS || h->pid <= 0) {
		snprintf(err, errlen, "corrupt header: %u bounds, %u slots, pid %d", h->nbounds, h->nslots, h->pid);
		return -1;
	}
	return 0;
}

/* ---- MPSC event ring: producers reserve with one atomic add, commit by publishing seq ---- */

/* 0 when written; -1 when full (the caller counts it lost) */
static inline int obs_seg_ring_put(struct obs_segment *s, uint32_t type, const void *data, uint32_t len)
{
	uint64_t pos = __atomic_load_n(&s->h.ring_head, __ATOMIC_RELAXED);
	struct obs_seg_rec *r;

	if (len > sizeof(r->data))
		len = sizeof(r->data);
	do {
		if (pos - __atomic_load_n(&s->h.ring_tail, __ATOMIC_ACQUIRE) >= OBS_SEG_RING) {
			__atomic_fetch_add(&s->h.lost[SEG_LOST_RING_FULL], 1, __ATOMIC_RELAXED);
			return -1;
		}
	} while (
		!__atomic_compare_exchange_n(&s->h.ring_head, &pos, pos + 1, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	r = &s->ring[pos % OBS_SEG_RING];
	r->type = type;
	r->len = len;
	memcpy(r->data, data, len);
	__atomic_store_n(&r->seq, pos + 1, __ATOMIC_RELEASE);
	return 0;
}

/* the collector: copy the next committed record out; false when none is ready */
static inline bool obs_seg_ring_get(struct obs_segment *s, struct obs_seg_rec *out)
{
	uint64_t pos = __atomic_load_n(&s->h.ring_tail, __ATOMIC_RELAXED);
	struct obs_seg_rec *r = &s->ring[pos % OBS_SEG_RING];

	if (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) != pos + 1)
		return false;
	memcpy(out, r, sizeof(*out));
	if (out->len > sizeof(out->data))
		out->len = sizeof(out->data); /* never trust a length from shared memory */
	__atomic_store_n(&s->h.ring_tail, pos + 1, __ATOMIC_RELEASE);
	return true;
}

#endif
