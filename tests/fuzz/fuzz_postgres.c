/* fuzz-srcs: lib/proto/conn.c lib/proto/registry.c lib/proto/http2.c lib/proto/grpc.c lib/proto/h2_frame.c lib/proto/proto.c lib/proto/http1.c lib/proto/http1_conn.c lib/proto/http1_parser.c lib/proto/http1_route.c lib/proto/redis.c lib/proto/redis_conn.c lib/proto/redis_parser.c lib/proto/postgres.c lib/proto/postgres_wire.c lib/proto/postgres_frame.c lib/proto/postgres_sql.c lib/tracectx.c */
/* fuzz_postgres.c -- PostgreSQL's connection parser and SQL normaliser on any bytes.
 *
 * Input: a mode byte, then
 *   mode & 1 == 1  SQL text: normalised into buffers of 1..OBS_X_TARGET_MAX bytes (the size from the mode)
 *   mode & 1 == 0  operations, one after another, until the input ends:
 *     op & 3 == 0  data: u16 LE length L, then L bytes in direction (op >> 2 & 1: 0 in, 1 out);
 *                  op & 8: u16 LE more bytes crossed the socket uncaptured (a gap after them)
 *     op & 3 == 1  gap:  u16 LE bytes crossed in direction op >> 2 & 1, none captured
 *     op & 3 == 2  close: the connection closes; the next operation starts a new one
 *     op & 3 == 3  time: the clock moves by (op >> 2) ms
 * The operations run three times: through proto_conn (detection over the registry, the verdict, describe()
 * of every exchange), and straight into the PostgreSQL parser twice, each data operation whole and then cut
 * at points a PRNG seeded by the input picks.
 * Checked: every exchange started gets one end (at the latest when the connection closes), strings stay
 * terminated, statuses are the documented ones, nothing comes out once capture is off, describe() stays in
 * its bounds; any cut gives the same exchanges as whole chunks; a normalised text holds no ' outside a
 * "quoted identifier", no digit that starts a token except in $n, fits its buffer, and normalising it again
 * changes nothing. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/conn.h"
#include "lib/proto/postgres_sql.h"
#include "lib/proto/postgres_wire.h"
#include "lib/proto/registry.h"

struct seen {
	uint64_t requests, exchanges, sum;
	const struct proto_conn *pc; /* NULL: the parser is fed directly */
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
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
	return n % 5 != 2; /* now and then the redactor cannot scan a text */
}

static void check_describe(const struct obs_exchange *x)
{
	static struct proto_desc d;
	const struct proto *p = proto__by_id(x->proto);
	struct proto_text text = { .clean = copy_clean, .peer = "127.0.0.1" };

	FUZZ_CHECK(p != NULL);
	for (int span = 0; span < 2; span++) {
		p->describe(x, &text, span, &d);
		if (d.lost)
			continue;
		for (int i = 0; i < PROTO_LABELS; i++)
			FUZZ_CHECK(d.labels[i] && strlen(d.labels[i]) < PROTO_TEXT_MAX);
		FUZZ_CHECK(strlen(d.name) < sizeof(d.name));
		FUZZ_CHECK(d.nattrs >= 0 && d.nattrs <= PROTO_ATTRS_MAX && d.used <= sizeof(d.text));
	}
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *s = ctx;

	(void)in;
	s->requests++;
	FUZZ_CHECK(!s->pc || !s->pc->off);
	FUZZ_CHECK(x->kind == OBS_X_CLIENT || x->kind == OBS_X_SERVER);
	FUZZ_CHECK(fz__terminated(x->target, sizeof(x->target)) && fz__terminated(x->op, sizeof(x->op)));
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;

	s->exchanges++;
	FUZZ_CHECK(s->exchanges <= s->requests);
	FUZZ_CHECK(fz__terminated(x->op, sizeof(x->op)) && fz__terminated(x->target, sizeof(x->target)) &&
		   fz__terminated(x->host, sizeof(x->host)) && fz__terminated(x->agent, sizeof(x->agent)) &&
		   fz__terminated(x->code, sizeof(x->code)));
	/* (through proto_conn another protocol may have claimed the bytes: its own harness checks its rules) */
	if (x->proto == OBS_PROTO_POSTGRES || !s->pc)
		FUZZ_CHECK(x->status <= PG_ST_OVERFLOW && (!x->error || x->code[0]));
	if (s->pc) {
		FUZZ_CHECK(x->proto == s->pc->proto->id);
		check_describe(x);
		return;
	}
	s->sum = mix(s->sum, x->op, strlen(x->op) + 1);
	s->sum = mix(s->sum, x->target, strlen(x->target) + 1);
	s->sum = mix(s->sum, x->code, strlen(x->code) + 1);
	s->sum = mix(s->sum, &x->status, sizeof(x->status));
	s->sum = mix(s->sum, &x->kind, 1);
	s->sum = mix(s->sum, &x->incomplete, 1);
	s->sum = mix(s->sum, &x->error, 1);
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

/* ---- the normaliser ---- */

static void check_normal(const char *out, size_t n, size_t outlen)
{
	bool in_ident = false;

	FUZZ_CHECK(n < outlen && strlen(out) == n);
	for (size_t i = 0; i < n; i++) {
		char c = out[i], prev = i ? out[i - 1] : ' ';

		if (c == '"')
			in_ident = !in_ident;
		if (in_ident)
			continue;
		FUZZ_CHECK(c != '\'');
		/* a digit starts no token: literals became '?' (identifier chars and $n placeholders may hold them) */
		if (c >= '0' && c <= '9')
			FUZZ_CHECK((prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z') || prev == '_' ||
				   prev == '$' || (prev >= '0' && prev <= '9') || (unsigned char)prev >= 0x80);
	}
}

static void run_sql(const uint8_t *data, size_t size, size_t outlen)
{
	static char out[OBS_X_TARGET_MAX], again[OBS_X_TARGET_MAX];
	char op[OBS_X_OP_MAX], coll[OBS_X_AGENT_MAX];
	size_t n, m;
	bool cut, cut2;

	n = pgsql__normalize((const char *)data, size, out, outlen, &cut);
	check_normal(out, n, outlen);
	m = pgsql__normalize(out, n, again, outlen, &cut2);
	FUZZ_CHECK(m == n && !memcmp(out, again, n) && !cut2);
	pgsql__verb(out, op, sizeof(op));
	FUZZ_CHECK(fz__terminated(op, sizeof(op)));
	FUZZ_CHECK(pgsql__op_label(op)[0]);
	if (pgsql__collection(out, coll, sizeof(coll)))
		FUZZ_CHECK(coll[0] && strlen(coll) < sizeof(coll) && strstr(out, coll));
	pgsql__tag_verb((const char *)data, size, op, sizeof(op));
	FUZZ_CHECK(fz__terminated(op, sizeof(op)));
}

/* ---- the connection ---- */

static uint64_t rng;

static uint32_t next_rand(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

/* the operations through proto_conn (@via_conn) or straight into the parser, data cut at random (@split) */
static uint64_t run_ops(const uint8_t *data, size_t size, bool via_conn, bool split)
{
	static struct proto_conn pc;
	static struct pg_conn pg;
	struct fz in = { data, size };
	struct seen s = { 0 };
	uint64_t now = 1000000, total = 0;
	bool open = false;

	while (in.n) {
		uint8_t op = fz__u8(&in);
		enum proto_dir dir = op >> 2 & 1 ? PROTO_OUT : PROTO_IN;
		const uint8_t *p = NULL;
		size_t len = 0;
		uint64_t more = 0;

		now += 1000;
		if (!open) {
			memset(&s, 0, sizeof(s));
			s.pc = via_conn ? &pc : NULL;
			if (via_conn)
				proto_conn__init(&pc, &sink, &s);
			else
				pg_conn__init(&pg, &sink, &s);
			open = true;
		}
		switch (op & 3) {
		case 0:
			p = fz__bytes(&in, fz__u16(&in), &len);
			more = op & 8 ? fz__u16(&in) : 0;
			/* fall through */
		case 1:
			if ((op & 3) == 1)
				more = fz__u16(&in);
			if (via_conn) {
				bool was_off = pc.off;
				uint64_t before = s.requests + s.exchanges;
				enum proto_verdict v = proto_conn__feed(&pc, dir, p, len, len + more, now);

				if (was_off)
					FUZZ_CHECK(v == PROTO_OFF && s.requests + s.exchanges == before);
			} else if (!split || len < 2) {
				pg_conn__data(&pg, dir, p, len, len + more, now);
			} else {
				for (size_t o = 0; o < len;) {
					size_t k = 1 + next_rand() % (len - o);

					pg_conn__data(&pg, dir, p + o, k, o + k == len ? len - o + more : k, now);
					o += k;
				}
			}
			break;
		case 2:
			if (via_conn) {
				if (!pc.off) {
					proto_conn__close(&pc, now);
					FUZZ_CHECK(s.requests == s.exchanges);
				}
			} else {
				pg_conn__close(&pg, now);
				FUZZ_CHECK(s.requests == s.exchanges);
			}
			total = mix(total, &s.sum, sizeof(s.sum));
			open = false;
			break;
		case 3:
			now += (uint64_t)(op >> 2) * 1000000;
			break;
		}
	}
	if (open) {
		if (via_conn && !pc.off) {
			proto_conn__close(&pc, now);
			FUZZ_CHECK(s.requests == s.exchanges);
		} else if (!via_conn) {
			pg_conn__close(&pg, now);
			FUZZ_CHECK(s.requests == s.exchanges);
		}
		total = mix(total, &s.sum, sizeof(s.sum));
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (!size)
		return 0;
	mode = data[0];
	data++, size--;
	if (mode & 1) {
		run_sql(data, size, 1 + (size_t)(mode >> 1) * OBS_X_TARGET_MAX / 128);
		return 0;
	}
	run_ops(data, size, true, false);
	rng = mix(1469598103934665603ull, data, size);
	FUZZ_CHECK(run_ops(data, size, false, false) == run_ops(data, size, false, true));
	return 0;
}
