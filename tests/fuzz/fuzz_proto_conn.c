/* fuzz-srcs: lib/proto/conn.c lib/proto/registry.c lib/proto/http2.c lib/proto/grpc.c lib/proto/h2_frame.c lib/proto/proto.c lib/proto/http1.c lib/proto/http1_conn.c lib/proto/http1_parser.c lib/proto/http1_route.c lib/proto/redis.c lib/proto/redis_conn.c lib/proto/redis_parser.c lib/proto/postgres.c lib/proto/postgres_wire.c lib/proto/postgres_frame.c lib/proto/postgres_sql.c lib/tracectx.c */
/* fuzz_proto_conn.c -- one connection through the protocol interface: detection over the registry, the claimed
 * parser, the capture-off verdict, and describe() of every exchange that comes out.
 *
 * Input: the operations of fuzz_httpconn.c (its corpus seeds this one):
 *   op & 3 == 0  data:  u16 LE length L, then L bytes in direction (op >> 2 & 1: 0 in, 1 out);
 *                       op & 8: u16 LE more bytes crossed the socket uncaptured (a gap after them)
 *   op & 3 == 1  gap:   u16 LE bytes (op & 8: u64 LE) crossed in direction op >> 2 & 1, none captured
 *   op & 3 == 2  close: the connection closes; the next operation starts a new one
 *   op & 3 == 3  time:  the clock jumps by (op >> 2) ms (it also moves 1 us per operation)
 * Checked: while no other protocol claimed the connection, the verdict is the old rule's (an HTTP/1 connection
 * parser fed everything: capture off when its role is unknown and its parsers counted 2 errors) and so are the
 * exchanges until then; once off it stays
 * off and nothing more comes out; every exchange carries its protocol and the connection's addresses, and
 * gets one end; describe() gives labels and attributes within bounds, strings terminated. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/conn.h"
#include "lib/proto/http1_conn.h"
#include "lib/proto/registry.h"

struct seen {
	uint64_t requests, exchanges;
	uint64_t sum; /* a digest of the exchanges, compared between the two */
	bool is_new;
	const struct proto_conn *pc;
};

static uint64_t digest(uint64_t h, const struct obs_exchange *x)
{
	h = (h ^ x->status) * 1099511628211ull;
	h = (h ^ x->kind) * 1099511628211ull;
	h = (h ^ x->incomplete) * 1099511628211ull;
	for (const char *s = x->target; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static bool copy_clean(void *ctx, const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);

	(void)ctx;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, in, n);
	out[n] = '\0';
	return n % 7 != 3; /* now and then the redactor cannot scan a text */
}

static void check_describe(const struct obs_exchange *x)
{
	static struct proto_desc d;
	const struct proto *p = proto__by_id(x->proto);
	struct proto_text text = { .clean = copy_clean, .peer = "127.0.0.1" };

	FUZZ_CHECK(p != NULL);
	p->describe(x, &text, true, &d);
	if (d.lost) {
		FUZZ_CHECK(x->status == 0 ||
			   (x->proto == OBS_PROTO_POSTGRES && x->status >= 2)); /* skipped, overflow */
		return;
	}
	for (int i = 0; i < PROTO_LABELS; i++)
		FUZZ_CHECK(d.labels[i] && strlen(d.labels[i]) < PROTO_TEXT_MAX);
	FUZZ_CHECK(strlen(d.name) < sizeof(d.name));
	FUZZ_CHECK(d.nattrs >= 0 && d.nattrs <= PROTO_ATTRS_MAX && d.used <= sizeof(d.text));
	for (int i = 0; i < d.nattrs; i++)
		FUZZ_CHECK(d.attrs[i].key && (!d.attrs[i].str || strlen(d.attrs[i].str) < PROTO_TEXT_MAX));
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *s = ctx;

	(void)in;
	s->requests++;
	if (s->is_new) {
		FUZZ_CHECK(!s->pc->off);
		FUZZ_CHECK(s->pc->proto && x->proto == s->pc->proto->id);
		FUZZ_CHECK(!memcmp(&x->local, &s->pc->local, sizeof(x->local)));
		FUZZ_CHECK(!memcmp(&x->peer, &s->pc->peer, sizeof(x->peer)));
	}
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;

	s->exchanges++;
	s->sum = digest(s->sum, x);
	FUZZ_CHECK(fz__terminated(x->op, sizeof(x->op)));
	FUZZ_CHECK(fz__terminated(x->target, sizeof(x->target)));
	FUZZ_CHECK(fz__terminated(x->host, sizeof(x->host)));
	FUZZ_CHECK(fz__terminated(x->agent, sizeof(x->agent)));
	if (s->is_new) {
		FUZZ_CHECK(s->pc->proto && x->proto == s->pc->proto->id && x->local.port == 8080 &&
			   x->peer.port == 40000);
		check_describe(x);
	}
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static void start(struct proto_conn *pc, struct http1_conn *old, struct seen *sn, struct seen *so)
{
	proto_conn__init(pc, &sink, sn);
	pc->local = (struct obs_addr){ .family = 2, .port = 8080, .addr = { 127, 0, 0, 1 } };
	pc->peer = (struct obs_addr){ .family = 2, .port = 40000, .addr = { 127, 0, 0, 2 } };
	http1_conn__init(old, &sink, so);
	*sn = (struct seen){ .is_new = true, .pc = pc };
	*so = (struct seen){ 0 };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_conn *pc = malloc(sizeof(*pc));
	struct http1_conn *old = malloc(sizeof(*old));
	struct fz in = { data, size };
	struct seen sn, so;
	uint64_t now = 1000000;
	bool old_off = false;

	if (!pc || !old)
		goto out;
	start(pc, old, &sn, &so);
	while (in.n) {
		uint8_t op = fz__u8(&in);
		enum proto_dir dir = op >> 2 & 1 ? PROTO_OUT : PROTO_IN;
		enum proto_verdict v = PROTO_GOING;
		const uint8_t *p;
		size_t len;
		uint64_t more;

		now += 1000;
		switch (op & 3) {
		case 0:
		case 1:
			if (op & 3) {
				p = NULL;
				len = 0;
				more = op & 8 ? fz__u64(&in) : fz__u16(&in);
			} else {
				p = fz__bytes(&in, fz__u16(&in), &len);
				more = op & 8 ? fz__u16(&in) : 0;
			}
			if (more > UINT64_MAX - len)
				more = UINT64_MAX - len;
			if (!old_off) {
				http1_conn__data(old, dir, p, len, len + more, now);
				old_off = old->role == HTTP1_UNKNOWN &&
					  old->parser[0].errors + old->parser[1].errors >= 2;
			}
			{
				uint64_t before = sn.requests + sn.exchanges;
				bool was_off = pc->off;

				v = proto_conn__feed(pc, dir, p, len, len + more, now);
				if (was_off)
					FUZZ_CHECK(v == PROTO_OFF && sn.requests + sn.exchanges == before);
			}
			if (pc->proto && pc->proto->id != OBS_PROTO_HTTP1)
				break; /* another protocol's connection: no old rule to compare with */
			FUZZ_CHECK((v == PROTO_OFF) == old_off && pc->off == old_off);
			if (!old_off)
				FUZZ_CHECK(sn.requests == so.requests && sn.exchanges == so.exchanges &&
					   sn.sum == so.sum);
			break;
		case 2:
			if (pc->proto && pc->proto->id != OBS_PROTO_HTTP1) {
				proto_conn__close(pc, now);
				FUZZ_CHECK(pc->off || sn.requests == sn.exchanges);
			} else if (!old_off) {
				http1_conn__close(old, now);
				proto_conn__close(pc, now);
				FUZZ_CHECK(sn.requests == sn.exchanges && sn.sum == so.sum);
			}
			start(pc, old, &sn, &so);
			old_off = false;
			break;
		case 3:
			now += (uint64_t)(op >> 2) * 1000000;
			break;
		}
	}
	if (pc->proto && pc->proto->id != OBS_PROTO_HTTP1) {
		proto_conn__close(pc, now + 1);
		FUZZ_CHECK(pc->off || sn.requests == sn.exchanges);
	} else if (!old_off) {
		proto_conn__close(pc, now + 1);
		FUZZ_CHECK(sn.requests == sn.exchanges);
	}
out:
	free(pc);
	free(old);
	return 0;
}
