/* fuzz-srcs: lib/proto/conn.c lib/proto/registry.c lib/proto/http2.c lib/proto/grpc.c lib/proto/h2_frame.c lib/proto/proto.c lib/proto/http1.c lib/proto/http1_conn.c lib/proto/http1_parser.c lib/proto/http1_route.c lib/proto/redis.c lib/proto/redis_conn.c lib/proto/redis_parser.c lib/proto/postgres.c lib/proto/postgres_wire.c lib/proto/postgres_frame.c lib/proto/postgres_sql.c lib/tracectx.c */
/* fuzz_redis.c -- Redis connections through struct proto_conn: random bytes, random chunking and gaps in both
 * directions, after a first command that has the connection claimed by the Redis parser.
 *
 * Input: one byte per connection start (bit 0: the claiming command is written (a client) or read (a server);
 * bit 1: no claiming command, the bytes alone decide), then the operations of fuzz_proto_conn.c:
 *   op & 3 == 0  data:  u16 LE length L, then L bytes in direction (op >> 2 & 1: 0 in, 1 out);
 *                       op & 8: u16 LE more bytes crossed the socket uncaptured (a gap after them)
 *   op & 3 == 1  gap:   u16 LE bytes (op & 8: u64 LE) crossed in direction op >> 2 & 1, none captured
 *   op & 3 == 2  close: the connection closes; the next byte starts a new one
 *   op & 3 == 3  time:  the clock jumps by (op >> 2) ms
 * Checked: every command gets exactly one end (on close, unless capture went off); no exchange string holds a
 * byte of the traffic other than a known command word, '?', a db index or an error prefix; describe() stays
 * within its bounds and its labels come from fixed lists. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/conn.h"
#include "lib/proto/redis.h"
#include "lib/proto/registry.h"

struct seen {
	uint64_t requests, exchanges;
	const struct proto_conn *pc;
};

/* @s (a field of @size bytes, or a string when @size is 0) holds only bytes of @allowed */
static bool only(const char *s, size_t size, const char *allowed)
{
	if (size)
		FUZZ_CHECK(fz__terminated(s, size));
	for (; *s; s++)
		if (!strchr(allowed, *s))
			return false;
	return true;
}

static bool copy_clean(void *ctx, const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);

	(void)ctx;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, in, n);
	out[n] = '\0';
	return n % 5 != 2;
}

static bool listed(const char *s)
{
	if (!strcmp(s, "_OTHER"))
		return true;
	return redis__command(s) != 0;
}

static void check_describe(const struct obs_exchange *x)
{
	static struct proto_desc d;
	const struct proto *p = proto__by_id(x->proto);
	struct proto_text text = { .clean = copy_clean, .peer = "127.0.0.1" };

	p->describe(x, &text, true, &d);
	if (d.lost) {
		FUZZ_CHECK(x->status == 0);
		return;
	}
	FUZZ_CHECK(!strcmp(d.labels[0], "redis"));
	FUZZ_CHECK(listed(d.labels[1]) && !strcmp(d.name, d.labels[1]));
	FUZZ_CHECK(!x->error || d.error);
	FUZZ_CHECK(only(d.labels[3], 0, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_"));
	FUZZ_CHECK(d.nattrs >= 0 && d.nattrs <= PROTO_ATTRS_MAX && d.used <= sizeof(d.text));
	for (int i = 0; i < d.nattrs; i++)
		FUZZ_CHECK(d.attrs[i].key && (!d.attrs[i].str || strlen(d.attrs[i].str) < PROTO_TEXT_MAX));
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *s = ctx;

	FUZZ_CHECK(!in->valid);
	FUZZ_CHECK(!s->pc->off && s->pc->proto && x->proto == s->pc->proto->id);
	s->requests++;
	x->pid = 1;
	memset(x->span_id, (int)s->requests, 8);
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;

	s->exchanges++;
	FUZZ_CHECK(s->exchanges <= s->requests);
	FUZZ_CHECK(x->pid == 1);
	FUZZ_CHECK(x->local.port == 6379 && x->peer.port == 40000);
	if (x->proto != OBS_PROTO_REDIS)
		return; /* HTTP's: fuzz_proto_conn checks those */
	/* never a value: only known words, '?', digits of a db index, an error's prefix */
	FUZZ_CHECK(only(x->op, sizeof(x->op), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"));
	FUZZ_CHECK(only(x->target, sizeof(x->target), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-? "));
	FUZZ_CHECK(only(x->host, sizeof(x->host), "0123456789"));
	FUZZ_CHECK(only(x->code, sizeof(x->code), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"));
	FUZZ_CHECK(only(x->agent, sizeof(x->agent), ""));
	FUZZ_CHECK(!x->error || x->code[0]);
	check_describe(x);
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static void start(struct proto_conn *pc, struct seen *s, struct fz *in, uint64_t now)
{
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	uint8_t how = fz__u8(in);

	proto_conn__init(pc, &sink, s);
	pc->local = (struct obs_addr){ .family = 2, .port = 6379, .addr = { 127, 0, 0, 1 } };
	pc->peer = (struct obs_addr){ .family = 2, .port = 40000, .addr = { 127, 0, 0, 2 } };
	*s = (struct seen){ .pc = pc };
	if (!(how & 2)) {
		FUZZ_CHECK(proto_conn__feed(pc, how & 1 ? PROTO_OUT : PROTO_IN, ping, sizeof(ping) - 1,
					    sizeof(ping) - 1, now) == PROTO_CLAIMED);
		FUZZ_CHECK(pc->proto && pc->proto->id == OBS_PROTO_REDIS && s->requests == 1);
	}
}

static void finish(struct proto_conn *pc, struct seen *s, uint64_t now)
{
	proto_conn__close(pc, now);
	if (pc->proto && !pc->off)
		FUZZ_CHECK(s->requests == s->exchanges);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_conn *pc = malloc(sizeof(*pc));
	struct fz in = { data, size };
	struct seen sn;
	uint64_t now = 1000000;

	if (!pc)
		return 0;
	start(pc, &sn, &in, now);
	while (in.n) {
		uint8_t op = fz__u8(&in);
		enum proto_dir dir = op >> 2 & 1 ? PROTO_OUT : PROTO_IN;
		const uint8_t *p = NULL;
		size_t len = 0;
		uint64_t more;

		now += 1000;
		switch (op & 3) {
		case 0:
		case 1:
			if (op & 3) {
				more = op & 8 ? fz__u64(&in) : fz__u16(&in);
			} else {
				p = fz__bytes(&in, fz__u16(&in), &len);
				more = op & 8 ? fz__u16(&in) : 0;
			}
			if (more > UINT64_MAX - len)
				more = UINT64_MAX - len;
			{
				bool was_off = pc->off;
				uint64_t before = sn.requests + sn.exchanges;
				enum proto_verdict v = proto_conn__feed(pc, dir, p, len, len + more, now);

				if (was_off)
					FUZZ_CHECK(v == PROTO_OFF && sn.requests + sn.exchanges == before);
			}
			break;
		case 2:
			finish(pc, &sn, now);
			start(pc, &sn, &in, now);
			break;
		case 3:
			now += (uint64_t)(op >> 2) * 1000000;
			break;
		}
	}
	finish(pc, &sn, now + 1);
	free(pc);
	return 0;
}
