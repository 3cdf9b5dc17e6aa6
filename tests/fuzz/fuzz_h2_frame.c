/* fuzz-srcs: lib/proto/h2_frame.c */
/* fuzz_h2_frame.c -- the HTTP/2 framer on random bytes, random cuts and gaps, both directions.
 *
 * Input: a first byte (bit 0: the connection starts with the client preface, in direction bit 1), then
 * operations until the input ends:
 *   op >> 1 & 3 == 0 or 3  data: u16 LE length L, then L bytes, in direction op & 1
 *   op >> 1 & 3 == 1       cut data: u16 LE L, u8 E, then L bytes captured of L + E that crossed
 *   op >> 1 & 3 == 2       gap: u16 LE bytes crossed in direction op & 1, none captured
 * Each feed gets its own heap copy of its bytes, so a read past them is caught.
 * Checked: every header block piece lies inside the bytes of the feed that gave it; per direction, block bytes
 * and DATA payload never exceed what crossed; no event of a direction after its H2_EV_LOST, and no event but
 * LOST inside an open block; events carry the feed's direction and clock; errors never exceed LOSTs. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/h2_frame.h"

struct state {
	const uint8_t *buf; /* the current feed's bytes */
	size_t len;
	uint8_t dir;
	uint64_t now;
	uint64_t crossed[2], block[2], data[2];
	bool lost[2], open[2];
	uint64_t losts;
};

static void on_ev(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct state *s = ctx;
	uint8_t d = ev->dir;

	FUZZ_CHECK(d == s->dir);
	FUZZ_CHECK(ev->ts_ns == s->now);
	FUZZ_CHECK(!s->lost[d]);
	switch (ev->type) {
	case H2_EV_HEADERS:
		if (ev->len) {
			const uint8_t *b = block;

			FUZZ_CHECK(b && b >= s->buf && b + ev->len <= s->buf + s->len);
		}
		s->block[d] += ev->len;
		FUZZ_CHECK(s->block[d] <= s->crossed[d]);
		s->open[d] = ev->flags & H2_EVF_MORE;
		break;
	case H2_EV_LOST:
		s->lost[d] = true;
		s->losts++;
		break;
	case H2_EV_DATA:
		s->data[d] += ev->len;
		FUZZ_CHECK(s->data[d] <= s->crossed[d]);
		/* fall through */
	default:
		FUZZ_CHECK(!s->open[d]);
		FUZZ_CHECK(ev->type >= H2_EV_HEADERS && ev->type <= H2_EV_PREFACE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct h2_frame f;
	struct fz in = { data, size };
	struct state s = { 0 };
	uint8_t cfg = fz__u8(&in);

	h2_frame__init(&f, cfg & 1, cfg >> 1 & 1 ? PROTO_OUT : PROTO_IN);
	while (in.n) {
		uint8_t op = fz__u8(&in), kind = op >> 1 & 3;
		size_t want = fz__u16(&in), extra = kind == 1 ? fz__u8(&in) : 0, got = 0;
		const uint8_t *p = kind == 2 ? NULL : fz__bytes(&in, want, &got);
		uint8_t *copy = got ? malloc(got) : NULL;
		uint64_t total = kind == 2 ? want : got + extra;

		if (got)
			memcpy(copy, p, got);
		s.buf = copy;
		s.len = got;
		s.dir = op & 1;
		s.now++;
		s.crossed[s.dir] += total;
		h2_frame__feed(&f, s.dir, copy, got, total, s.now, on_ev, &s);
		free(copy);
	}
	FUZZ_CHECK(h2_frame__errors(&f) <= s.losts);
	return 0;
}
