/* fuzz-srcs: lib/proto/http1_parser.c lib/proto/http1_conn.c lib/tracectx.c */
/* fuzz_httpconn.c -- request/response pairing over a connection driven by a sequence of operations.
 *
 * Input: operations, one after another, until the input ends:
 *   op & 3 == 0  data:  u16 LE length L, then L bytes in direction (op >> 2 & 1: 0 in, 1 out);
 *                       op & 8: u16 LE more bytes crossed the socket uncaptured (a gap after them)
 *   op & 3 == 1  gap:   u16 LE bytes (op & 8: u64 LE) crossed in direction op >> 2 & 1, none captured
 *   op & 3 == 2  close: the connection closes; the next operation starts a new one
 *   op & 3 == 3  time:  the clock jumps by (op >> 2) ms (it also moves 1 us per operation)
 * Checked: every request reported gets exactly one exchange (at the latest when the connection
 * closes), exchanges carry a final status or none, strings stay terminated, times do not go back,
 * the pipeline never exceeds its size and the current exchange is one of the pending ones. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/http1_conn.h"

struct seen {
	const struct http1_conn *c;
	uint64_t requests, exchanges;
};

static void check_exchange(const struct http1_conn *c, const struct obs_exchange *x)
{
	FUZZ_CHECK(x >= c->pending && x < c->pending + HTTP1_PIPELINE);
	FUZZ_CHECK(x->kind == 2 || x->kind == 3);
	FUZZ_CHECK(fz__terminated(x->op, sizeof(x->op)));
	FUZZ_CHECK(fz__terminated(x->target, sizeof(x->target)));
	FUZZ_CHECK(fz__terminated(x->host, sizeof(x->host)));
	FUZZ_CHECK(fz__terminated(x->agent, sizeof(x->agent)));
	FUZZ_CHECK(fz__terminated(x->tracestate, sizeof(x->tracestate)));
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *s = ctx;

	check_exchange(s->c, x);
	FUZZ_CHECK(x->status == 0 && x->end_ns == 0);
	FUZZ_CHECK(fz__terminated(in->tracestate, sizeof(in->tracestate)));
	FUZZ_CHECK(fz__terminated(in->baggage, sizeof(in->baggage)));
	FUZZ_CHECK(!in->valid || in->format != CTX_NONE);
	FUZZ_CHECK(in->valid || !in->tracestate[0]);
	s->requests++;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;

	check_exchange(s->c, x);
	FUZZ_CHECK(x->status == 0 || (x->status >= 200 && x->status <= 999));
	FUZZ_CHECK(x->end_ns >= x->start_ns);
	s->exchanges++;
	FUZZ_CHECK(s->exchanges <= s->requests);
}

static const struct proto_sink cb = { .on_request = on_request, .on_exchange = on_exchange };

static void check_conn(const struct http1_conn *c, const struct seen *s)
{
	const struct obs_exchange *cur = c->npending ? &c->pending[(c->head + c->npending - 1) % HTTP1_PIPELINE] : NULL;

	FUZZ_CHECK(c->npending <= HTTP1_PIPELINE && c->head < HTTP1_PIPELINE);
	FUZZ_CHECK(s->requests - s->exchanges == c->npending);
	FUZZ_CHECK(!cur == !c->npending);
	if (cur)
		check_exchange(c, cur);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_conn *c = malloc(sizeof(*c));
	struct fz in = { data, size };
	struct seen s = { c, 0, 0 };
	uint64_t now = 1000000;

	if (!c)
		return 0;
	http1_conn__init(c, &cb, &s);
	while (in.n) {
		uint8_t op = fz__u8(&in);
		enum proto_dir dir = op >> 2 & 1 ? PROTO_OUT : PROTO_IN;
		const uint8_t *p;
		size_t len;
		uint64_t more;

		now += 1000;
		switch (op & 3) {
		case 0:
			p = fz__bytes(&in, fz__u16(&in), &len);
			more = op & 8 ? fz__u16(&in) : 0;
			http1_conn__data(c, dir, p, len, len + more, now);
			break;
		case 1:
			more = op & 8 ? fz__u64(&in) : fz__u16(&in);
			http1_conn__data(c, dir, NULL, 0, more, now);
			break;
		case 2:
			http1_conn__close(c, now);
			FUZZ_CHECK(s.requests == s.exchanges && c->npending == 0);
			http1_conn__init(c, &cb, &s);
			break;
		case 3:
			now += (uint64_t)(op >> 2) * 1000000;
			break;
		}
		check_conn(c, &s);
	}
	http1_conn__close(c, now + 1);
	FUZZ_CHECK(s.requests == s.exchanges);
	free(c);
	return 0;
}
