/* netlock.h -- the shim's connections (netcap.c) and their try-locks (netlock.c).  Private to the two. */
#ifndef OBSPROBE_PRELOAD_NETLOCK_H
#define OBSPROBE_PRELOAD_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/conn.h"
#include "preload/h2cap.h"
#include "preload/netcap.h"

/* The connection's try-lock: bits of who holds it.  WHOLE: everything (detection, close, reuse, HTTP/1's parser,
 * which both directions share); IN/OUT: one direction of a connection HTTP/2 claimed (h2dir), whose two directions
 * are framed apart (lib/proto/h2_frame.c), so a read and a write of it proceed at once.  A thread that cannot take
 * what it needs skips its chunk (counted busy, a gap for the next one) — except for the whole lock while the
 * connection detects its protocol or is HTTP/2 not yet claimed, waited for at most 20 µs (netlock.c). */
#define LK_WHOLE 1
#define LK_DIR(dir) (2 << ((dir)&1))

struct shim_conn {
	int lock; /* LK_ bits */
	int used;
	uint8_t h2dir;		/* HTTP/2 claimed it: its directions lock apart (set and cleared under LK_WHOLE) */
	uint8_t inject_pending; /* ids for the next client request were put in its traceparent */
	uint8_t not_h1;		/* its outgoing bytes stopped being HTTP/1 requests (CONNECT): never inject */
	uint8_t tls;		/* its parser sees TLS plaintext (started afresh at the first) */
	uint8_t inj_trace_id[16];
	uint8_t inj_span_id[8];
	uint8_t inj_sampled;
	uint32_t skipped[2];  /* bytes of chunks skipped while another thread held it: a gap for the next one */
	struct h2cap_conn h2; /* HTTP/2: its records, its outgoing frames followed (h2cap.c) */
	struct proto_conn pc;
};

extern struct shim_conn *netcap_pool; /* NETCAP_CONNS entries, mmap'd at first use */

/* netcap.c: @len bytes of @total in @dir (0: a gap) to @c's parser, with its lock held */
void netcap__parser_feed(struct shim_conn *c, int dir, const void *buf, size_t len, size_t total, uint64_t t);

/* The connection of @fd for an operation in @dir (-1: on the whole of it; @tls: TLS plaintext), what was taken
 * in @held; NULL when busy (counted) or none */
struct shim_conn *netlock__dir(int fd, int dir, bool tls, int *held);
/* ... on the whole of it */
struct shim_conn *netlock__conn(int fd, int *held);
/* ... for @n bytes that crossed it in @dir: busy, the chunk is skipped (a gap before the next one) */
struct shim_conn *netlock__io(int fd, int dir, bool tls, size_t n, int *held);
/* let go of @held (after an HTTP/2 claim: its directions lock apart from now on) */
void netlock__unlock(struct shim_conn *c, int held);

#endif
