/* test_shim_h2_threads.c -- one HTTP/2 connection read and written by two threads at once, as grpcio does: a
 * libnghttp2 client and server's real bytes (tests/unit/h2_pair.h) fed to netcap.c by four threads -- the traced
 * client's connection read (the server's frames, IN) on one and written (the client's frames, OUT) on another, the
 * traced server's the same -- for hundreds of calls, the directions overlapping (a side's reads of one batch of calls
 * while its writes of the next go on).  No chunk is skipped (busy), and the records, folded by the collector's
 * shm_h2.c, give exactly the calls made on each side.  Whole-connection work (close, the slot made anew) still
 * excludes a direction's holder. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "preload/netcap.h"
#include "preload/seg.h"
#include "signal/metrics.h"
#include "signal/names.h"
#include "signal/redact.h"
#include "signal/traces.h"
#include "source/shm_h2.h"

#include "h2_pair.h" /* after stdbool.h */

#define BATCHES 100
#define PER_BATCH 4		  /* calls per batch: Unary OK, Unary OK, Stream (3 messages) OK, Fail 14 */
#define MAX_CHUNKS (BATCHES * 64) /* chunks of all batches */

#define RIG_NAME "test_shim_h2_threads"
#define RIG_MAX_SPANS 1000000
#include "shim_h2_rig.h"

/* ---- the conversation, made first: each side's chunks, by batch ---- */

struct side {
	struct chunk c[MAX_CHUNKS];
	int n;
	int end[BATCHES + 1]; /* batch b: c[end[b]..end[b + 1]) (batch 0: the prefaces and SETTINGS) */
};

static struct side from_cli, from_srv;

/* the chunks the pair logged since the last take, batch @batch, moved into the sides (the pair's log starts over) */
static void take(struct pair *p, int batch)
{
	for (int i = 0; i < p->n; i++) {
		struct side *sd = p->log[i].from_client ? &from_cli : &from_srv;

		ck_assert_int_lt(sd->n, MAX_CHUNKS);
		sd->c[sd->n++] = p->log[i];
	}
	p->n = p->fed = 0;
	from_cli.end[batch + 1] = from_cli.n;
	from_srv.end[batch + 1] = from_srv.n;
}

/* ---- the feeders: one thread per direction of each traced connection ---- */

struct feeder {
	int fd, dir;
	const struct side *sd;
	struct feeder *peer; /* the other direction of this connection */
	bool reads;	     /* this direction answers the other's: it waits for it */
	int done;	     /* batches fed (atomic) */
	pthread_t th;
};

/* a side's chunks batch by batch: the answers of batch b only after the requests of batch b that caused them (as on
 * the wire), the requests of batch b once the answers of b - 2 are in (streams open at once stay few, as a peer's
 * MAX_CONCURRENT_STREAMS keeps them): the two directions overlap by a batch */
static void *feed_side(void *arg)
{
	struct feeder *f = arg;

	for (int b = 0; b < BATCHES; b++) {
		while (__atomic_load_n(&f->peer->done, __ATOMIC_ACQUIRE) < (f->reads ? b + 1 : b - 1))
			sched_yield();
		for (int i = f->sd->end[b]; i < f->sd->end[b + 1]; i++) {
			struct iovec v = { f->sd->c[i].data, f->sd->c[i].len };

			netcap__data(f->fd, f->dir, &v, 1, v.iov_len);
		}
		__atomic_store_n(&f->done, b + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static uint64_t rpc_count(enum family_id fam, const char *method, const char *code)
{
	struct hist hh;

	if (!metrics__get_hist(m, fam, (const char *[]){ "svc", "grpc", "pkg.Echo", method, code }, &hh))
		return 0;
	return hh.count;
}

static int fold(void)
{
	struct obs_seg_rec r;
	int n = 0;

	while (obs_seg_ring_get(s, &r)) {
		if (r.type != OBS_REC_H2)
			continue;
		shm_h2__record(h, 1, &r, &res);
		n++;
	}
	return n;
}

START_TEST(both_directions_at_once_lose_nothing)
{
	static struct pair p;
	struct feeder f[4];
	struct shm_h2_stats st;
	int cli, srv;

	memset(&from_cli, 0, sizeof(from_cli));
	memset(&from_srv, 0, sizeof(from_srv));
	pair_open(&p, NULL, 0, 0);
	take(&p, 0);
	for (int b = 1; b < BATCHES; b++) {
		int32_t id;

		id = call_start(&p, "/pkg.Echo/Unary", NULL, 0);
		call_answer(&p, id, 1, "0");
		id = call_start(&p, "/pkg.Echo/Unary", NULL, 0);
		call_answer(&p, id, 1, "0");
		id = call_start(&p, "/pkg.Echo/Stream", NULL, 0);
		call_answer(&p, id, 3, "0");
		id = call_start(&p, "/pkg.Echo/Fail", NULL, 0);
		call_answer(&p, id, 0, "14");
		take(&p, b);
	}

	tcp_pair(&cli, &srv);
	/* the client writes its requests and reads the answers; the server reads the requests and answers */
	f[0] = (struct feeder){ .fd = cli, .dir = 1, .sd = &from_cli, .peer = &f[1] };
	f[1] = (struct feeder){ .fd = cli, .dir = 0, .sd = &from_srv, .peer = &f[0], .reads = true };
	f[2] = (struct feeder){ .fd = srv, .dir = 0, .sd = &from_cli, .peer = &f[3] };
	f[3] = (struct feeder){ .fd = srv, .dir = 1, .sd = &from_srv, .peer = &f[2], .reads = true };
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&f[i].th, NULL, feed_side, &f[i]), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(f[i].th, NULL), 0);
	forget(cli);
	forget(srv);

	ck_assert_uint_eq(s->h.lost[SEG_LOST_BUSY], 0); /* no chunk skipped */
	ck_assert_uint_eq(s->h.lost[SEG_LOST_RING_FULL], 0);
	ck_assert_int_gt(fold(), 8 * (BATCHES - 1) * PER_BATCH);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.invalid, 0);
	ck_assert_uint_eq(st.evicted, 0);
	ck_assert_uint_eq(st.sessions, 0); /* both closed */
	/* every call, once on each side */
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "Unary", "0"), 2 * (BATCHES - 1));
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "Unary", "0"), 2 * (BATCHES - 1));
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "Stream", "0"), BATCHES - 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "Stream", "0"), BATCHES - 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "Fail", "14"), BATCHES - 1);
	ck_assert_uint_eq(rpc_count(FAM_RPC_SERVER_DURATION, "Fail", "14"), BATCHES - 1);
	for (int i = 0; i < from_cli.n; i++)
		free(from_cli.c[i].data);
	for (int i = 0; i < from_srv.n; i++)
		free(from_srv.c[i].data);
	pair_close(&p);
}
END_TEST

/* a client's answer read (on another thread) before its write of the request was recorded: the answer's records
 * wait for the request's, so the collector still pairs them */
START_TEST(answer_read_before_its_request_is_recorded)
{
	static struct pair p;
	struct shm_h2_stats st;
	int cli, srv;

	memset(&from_cli, 0, sizeof(from_cli));
	memset(&from_srv, 0, sizeof(from_srv));
	pair_open(&p, NULL, 0, 0);
	take(&p, 0);
	for (int b = 1; b < 9; b++) {
		int32_t id = call_start(&p, b % 4 ? "/pkg.Echo/Unary" : "/pkg.Echo/Stream", NULL, 0);

		call_answer(&p, id, b % 4 ? 1 : 3, "0");
		take(&p, b);
	}
	tcp_pair(&cli, &srv);
	for (int b = 0; b < 9; b++) /* the server's SETTINGS read before the preface's write is recorded too */
		for (int k = 0; k < 2; k++) {
			const struct side *sd = k ? &from_cli : &from_srv;

			for (int i = sd->end[b]; i < sd->end[b + 1]; i++) {
				struct iovec v = { sd->c[i].data, sd->c[i].len };

				netcap__data(cli, sd == &from_cli, &v, 1, v.iov_len);
			}
		}
	forget(cli);
	forget(srv);
	ck_assert_int_gt(fold(), 8 * 5);
	shm_h2__stats(h, &st);
	ck_assert_uint_eq(st.invalid, 0);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "Unary", "0"), 6);
	ck_assert_uint_eq(rpc_count(FAM_RPC_CLIENT_DURATION, "Stream", "0"), 2);
	for (int i = 0; i < from_cli.n; i++)
		free(from_cli.c[i].data);
	for (int i = 0; i < from_srv.n; i++)
		free(from_srv.c[i].data);
	pair_close(&p);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("shim_h2_threads");
	TCase *tc = tcase_create("threads");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, both_directions_at_once_lose_nothing);
	tcase_add_test(tc, answer_read_before_its_request_is_recorded);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
