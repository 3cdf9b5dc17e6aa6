/* fuzz-srcs: collector/source/seg_reader.c lib/proto/registry.c lib/proto/http2.c lib/proto/grpc.c lib/proto/h2_frame.c lib/proto/proto.c lib/proto/http1.c lib/proto/http1_conn.c lib/proto/http1_parser.c lib/proto/http1_route.c lib/proto/redis.c lib/proto/redis_conn.c lib/proto/redis_parser.c lib/proto/postgres.c lib/proto/postgres_wire.c lib/proto/postgres_frame.c lib/proto/postgres_sql.c lib/tracectx.c */
/* fuzz_segment.c -- the collector's segment reader (collector/source/seg_reader.c: check, counters, ring, records) on any bytes.
 *
 * Input, read twice:
 *  1. as a whole mapped file of exactly its length: seg_reader__check must refuse it or accept it without
 *     reading past the end;
 *  2. as a segment: the first sizeof(struct obs_seg_header) bytes are the header (made to pass the check when
 *     they do not, so the rest is always reached), every following OBS_SEG_REC bytes are a ring slot from
 *     ring_tail on. Counters are copied, the ring is drained in batches as the collector does (one ring's worth
 *     at most), and every record is decoded as an exchange and as a log write.
 * Checked: a drain returns at most what was asked and never a record longer than a slot; a decoded exchange's
 * strings are terminated inside their fields; a log write's text length fits its record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/seg_reader.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(2, "fuzz_segment: check failed: %s (line %d)\n", #cond, __LINE__); \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

#define MAX_RECS 64 /* ring slots an input may fill */
#define BATCH 16

static struct obs_segment *seg; /* 8.5 MB, allocated once; the slots an input filled are cleared after it */

static void touch_exchange(const struct obs_exchange *x)
{
	CHECK(strlen(x->op) < sizeof(x->op));
	CHECK(strlen(x->target) < sizeof(x->target));
	CHECK(strlen(x->host) < sizeof(x->host));
	CHECK(strlen(x->agent) < sizeof(x->agent));
	CHECK(strlen(x->tracestate) < sizeof(x->tracestate));
	CHECK(x->kind == 2 || x->kind == 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct obs_seg_rec out[BATCH];
	struct seg_counters c;
	char err[256];
	size_t hn = size < sizeof(seg->h) ? size : sizeof(seg->h);
	uint64_t tail;
	int nrec = 0, budget = OBS_SEG_RING;

	/* 1: the bytes as a file of their own length */
	if (seg_reader__check(data, size, err, sizeof(err)) == 0)
		CHECK(size == sizeof(struct obs_segment));
	else
		CHECK(err[0] != '\0');

	/* 2: the bytes as a segment's header and ring */
	if (!seg && !(seg = calloc(1, sizeof(*seg))))
		return 0;
	memset(&seg->h, 0, sizeof(seg->h));
	memcpy(&seg->h, data, hn);
	if (seg_reader__check(seg, sizeof(*seg), err, sizeof(err))) {
		seg->h.magic = OBS_SEG_MAGIC;
		seg->h.version = OBS_SEG_VERSION;
		seg->h.header_size = sizeof(seg->h);
		seg->h.total_size = sizeof(*seg);
		if (seg->h.nbounds == 0 || seg->h.nbounds > OBS_MAX_BOUNDS)
			seg->h.nbounds = 1 + seg->h.nbounds % OBS_MAX_BOUNDS;
		seg->h.nslots = SEG_NSLOTS;
		if (seg->h.pid <= 0)
			seg->h.pid = 1;
		CHECK(seg_reader__check(seg, sizeof(*seg), err, sizeof(err)) == 0);
	}
	tail = seg->h.ring_tail;
	for (size_t off = hn; off < size && nrec < MAX_RECS; off += OBS_SEG_REC, nrec++) {
		size_t n = size - off < OBS_SEG_REC ? size - off : OBS_SEG_REC;

		memcpy(&seg->ring[(tail + nrec) % OBS_SEG_RING], data + off, n);
	}
	seg_reader__counters(seg, (int)seg->h.nbounds + 1, &c);
	while (budget > 0) {
		int want = budget < BATCH ? budget : BATCH, got = seg_reader__drain(seg, out, want);

		CHECK(got >= 0 && got <= want);
		for (int i = 0; i < got; i++) {
			struct obs_exchange x;
			struct obs_seg_log lg;
			size_t n;

			CHECK(out[i].len <= sizeof(out[i].data));
			if (seg_reader__exchange(&out[i], &x))
				touch_exchange(&x);
			if (seg_reader__log(&out[i], &lg, &n)) {
				CHECK(n <= OBS_SEG_LOG_TEXT);
				CHECK(lg.stream == 1 || lg.stream == 2);
			}
		}
		budget -= want;
		if (got < want)
			break;
	}
	for (int i = 0; i < nrec; i++)
		memset(&seg->ring[(tail + i) % OBS_SEG_RING], 0, OBS_SEG_REC);
	return 0;
}
