/* test_redis.c -- the Redis protocol (lib/proto/redis*.c) through struct proto_conn: detection, RESP2/RESP3
 * framing, pipelining, MULTI/EXEC, pub/sub, inline commands, gaps, garbage (describe(): test_redis_describe.c) */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/redis.h"
#include "lib/proto/registry.h"

#include "tests/unit/redis_seen.h"

static struct redis_conn *state(void)
{
	return proto_conn__state(&pc);
}

#define OUT PROTO_OUT
#define IN PROTO_IN

START_TEST(detection)
{
	const struct proto *r = proto__by_name("redis");

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(proto__by_id(OBS_PROTO_REDIS), r);
	ck_assert_ptr_eq(proto_registry[0], proto__by_name("http1")); /* HTTP is asked first */
#define D(s, want) ck_assert_int_eq(r->detect(s, sizeof(s) - 1, OUT), want)
	D("*1\r\n$4\r\nPING\r\n", PROTO_YES);
	D("*3\r\n$3\r\nset\r\n$1\r\nk", PROTO_YES);
	D("*", PROTO_MAYBE);
	D("*3", PROTO_MAYBE);
	D("*3\r", PROTO_MAYBE);
	D("*3\r\n", PROTO_MAYBE);
	D("*3\r\n$3\r\nSE", PROTO_MAYBE);
	D("*3\r\n$3\r\nFOO\r\n", PROTO_NO); /* not a command we know: a reply array, or garbage */
	D("*0\r\n", PROTO_NO);
	D("*x\r\n", PROTO_NO);
	D("*3\n$3\r\nSET", PROTO_NO);
	D("*3\r\n+OK\r\n", PROTO_NO);
	D("*3\r\n$300\r\n", PROTO_NO); /* a name of 300 bytes is no command */
	D("PING\r\n", PROTO_YES);
	D("get key\r\n", PROTO_YES);
	D("get key", PROTO_NO); /* an inline line is only claimed whole */
	D("GET / HTTP/1.1\r\n", PROTO_NO);
	D("GET /x HTTP/1.0\n", PROTO_NO);
	D("EHLO mail\r\n", PROTO_NO);
	D("+OK\r\n", PROTO_NO); /* replies never claim a connection */
	D("\x16\x03\x01\x00", PROTO_NO);
	D("\r\n", PROTO_NO);
	D("set k \x01v\r\n", PROTO_NO);
#undef D
	/* through the registry: HTTP stays HTTP's */
	start();
	ck_assert_int_eq(put(IN, "GET / HTTP/1.1\r\n\r\n"), PROTO_CLAIMED);
	ck_assert_ptr_eq(pc.proto, proto__by_name("http1"));
	start();
	ck_assert_int_eq(put(OUT, "*1\r\n$4\r\nPING\r\n"), PROTO_CLAIMED);
	ck_assert_ptr_eq(pc.proto, r);
}
END_TEST

/* a client: SET then GET, replies in RESP2; ids from on_request come back; sizes */
START_TEST(client_set_get)
{
	start();
	ck_assert_int_eq(put(OUT, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"), PROTO_CLAIMED);
	ck_assert_int_eq(sn.requests, 1);
	ck_assert_int_eq(sn.exchanges, 0);
	put(IN, "+OK\r\n");
	ck_assert_int_eq(sn.exchanges, 1);
	ck_assert_int_eq(sn.last.proto, OBS_PROTO_REDIS);
	ck_assert_int_eq(sn.last.kind, OBS_X_CLIENT);
	ck_assert_int_eq(sn.last.request_bytes, 31);
	ck_assert_int_eq(sn.last.response_bytes, 5);
	ck_assert_int_eq(sn.last.span_id[0], 1);
	ck_assert_int_eq(sn.last.sampled, 1);
	ck_assert_int_eq(sn.last.peer.port, 6379);
	ck_assert_int_eq(sn.last.local.port, 40000);
	put(OUT, "*2\r\n$3\r\nget\r\n$1\r\nk\r\n");
	put(IN, "$5\r\nhello\r\n");
	put(OUT, "*2\r\n$3\r\nGET\r\n$1\r\nz\r\n");
	put(IN, "$-1\r\n");
	ck_assert_str_eq(sn.log, "C SET|SET ? ?||+|;C GET|GET ?||$|;C GET|GET ?||$|;");
	ck_assert_int_eq(sn.all[1].span_id[0], 2);
	proto_conn__close(&pc, 2000);
	ck_assert_int_eq(sn.exchanges, 3);
}
END_TEST

/* a server reads commands and writes replies */
START_TEST(server_side)
{
	start();
	ck_assert_int_eq(put(IN, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"), PROTO_CLAIMED);
	put(OUT, ":42\r\n");
	put(IN, "*2\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n");
	put(OUT, "-ERR wrong number of arguments for 'lpush' command\r\n");
	ck_assert_str_eq(sn.log, "S INCR|INCR ?||:|;S LPUSH|LPUSH ?||-|ERR;");
	ck_assert_int_eq(sn.last.error, 1);
}
END_TEST

/* one conversation: every reply type of RESP2 and RESP3, nested aggregates, an attribute, a push */
static const char *conv_out[] = {
	"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
	"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n",
	"*4\r\n$4\r\nLPOS\r\n$1\r\nl\r\n$1\r\nx\r\n$4\r\nRANK\r\n",
	"*2\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n",
	"*1\r\n$4\r\nPING\r\n",
	"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
	"*1\r\n$4\r\nTIME\r\n",
	"*2\r\n$4\r\nTYPE\r\n$1\r\nk\r\n",
	"*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n",
	"*2\r\n$4\r\nHGET\r\n$1\r\nk\r\n",
	"*1\r\n$4\r\nINFO\r\n",
	"*2\r\n$8\r\nSMEMBERS\r\n$1\r\ns\r\n",
	"*2\r\n$4\r\nDUMP\r\n$1\r\nk\r\n",
	"*1\r\n$5\r\nMYCMD\r\n",
};
static const char *conv_in[] = {
	"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n",
	"+OK\r\n",
	"*2\r\n*2\r\n:1\r\n%1\r\n+a\r\n~2\r\n#t\r\n,1.5\r\n:2\r\n",
	"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
	">3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n_\r\n|1\r\n+ttl\r\n:3\r\n+PONG\r\n", /* push, then attr + reply */
	"_\r\n",
	"*2\r\n|1\r\n+a\r\n*1\r\n:1\r\n$10\r\n1700000000\r\n:5\r\n",
	"+string\r\n",
	"(123456789012345678901234567890\r\n",
	"=15\r\ntxt:Some string\r\n",
	"$0\r\n\r\n",
	"~0\r\n",
	"!21\r\nSYNTAX invalid syntax\r\n",
	"-ERR unknown command 'MYCMD'\r\n",
};
static const char conv_log[] =
	"C HELLO|HELLO ?||%|;C SELECT|SELECT ?||+|;C LPOS|LPOS ? ? ?|2|*|;C CONFIG|CONFIG GET|2|*|;C PING|PING|2|+|;"
	"C GET|GET ?|2|_|;C TIME|TIME|2|*|;C TYPE|TYPE ?|2|+|;C LLEN|LLEN ?|2|(|;C HGET|HGET ?|2|=|;C INFO|INFO|2|$|;"
	"C SMEMBERS|SMEMBERS ?|2|~|;C DUMP|DUMP ?|2|!|SYNTAX;C _OTHER|_OTHER|2|-|ERR;";

static void conversation(size_t cut)
{
	size_t n = sizeof(conv_out) / sizeof(conv_out[0]);

	start();
	for (size_t i = 0; i < n; i++) {
		const char *parts[2] = { conv_out[i], conv_in[i] };

		for (int d = 0; d < 2; d++) {
			size_t len = strlen(parts[d]), at = cut < len ? cut : len;

			proto_conn__feed(&pc, d ? IN : OUT, parts[d], at, at, 1000);
			if (at < len)
				proto_conn__feed(&pc, d ? IN : OUT, parts[d] + at, len - at, len - at, 1001);
		}
	}
	ck_assert_msg(!strcmp(sn.log, conv_log), "cut %zu: %s", cut, sn.log);
}

START_TEST(every_type_every_cut)
{
	for (size_t cut = 1; cut < 80; cut++)
		conversation(cut);
	ck_assert_int_eq(state()->resp3, 1);
	ck_assert_int_eq(state()->db, 2);
	ck_assert_uint_eq(state()->rd[0].errors + state()->rd[1].errors, 0);
}
END_TEST

/* the whole stream of each direction cut into 1..7-byte chunks */
START_TEST(byte_by_byte)
{
	char out[4096] = "", in[4096] = "";

	for (size_t i = 0; i < sizeof(conv_out) / sizeof(conv_out[0]); i++) {
		strcat(out, conv_out[i]);
		strcat(in, conv_in[i]);
	}
	for (size_t step = 1; step < 8; step++) {
		start();
		/* all commands first (pipelined), then the replies */
		for (size_t i = 0; i < strlen(out); i += step) {
			size_t k = strlen(out) - i < step ? strlen(out) - i : step;

			proto_conn__feed(&pc, OUT, out + i, k, k, 1000);
		}
		ck_assert_int_eq(sn.requests, 14);
		for (size_t i = 0; i < strlen(in); i += step) {
			size_t k = strlen(in) - i < step ? strlen(in) - i : step;

			proto_conn__feed(&pc, IN, in + i, k, k, 2000);
		}
		ck_assert_msg(!strcmp(sn.log, conv_log), "step %zu: %s", step, sn.log);
	}
}
END_TEST

/* large values: the capture path copies a part of each read/write, the rest is a gap inside the bulk body */
START_TEST(gaps_inside_bulk_bodies)
{
	static char big[20000];
	size_t hl;

	start();
	hl = (size_t)snprintf(big, sizeof(big), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000\r\n");
	memset(big + hl, 'v', 10000);
	memcpy(big + hl + 10000, "\r\n", 2);
	/* 2047 copied of the write, then the rest uncaptured */
	proto_conn__feed(&pc, OUT, big, 2047, hl + 10002, 1000);
	ck_assert_int_eq(sn.requests, 1);
	put(IN, "+OK\r\n");
	/* the reply of a GET: 100 bytes copied of a 16 KiB read, then a gap (len 0) for the rest of the body */
	put(OUT, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
	memcpy(big, "$10000\r\n", 8);
	memset(big + 8, 'v', 10000);
	memcpy(big + 10008, "\r\n", 2);
	proto_conn__feed(&pc, IN, big, 100, 5000, 2000);
	proto_conn__feed(&pc, IN, NULL, 0, 5000, 2001);
	ck_assert_int_eq(sn.exchanges, 1);
	proto_conn__feed(&pc, IN, big + 10000, 10, 10, 2002); /* the end of the body and its CRLF */
	ck_assert_str_eq(sn.log, "C SET|SET ? ?||+|;C GET|GET ?||$|;");
	ck_assert_int_eq(sn.last.response_bytes, 10010);
	ck_assert_int_eq(sn.all[0].request_bytes, hl + 10002);
	/* a gap that ends exactly with the body's CRLF */
	put(OUT, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
	proto_conn__feed(&pc, IN, big, 8, 10010, 3000);
	ck_assert_int_eq(sn.exchanges, 3);
	/* the framing still holds */
	put(OUT, "*1\r\n$4\r\nPING\r\n");
	put(IN, "+PONG\r\n");
	ck_assert_int_eq(sn.exchanges, 4);
	ck_assert_uint_eq(state()->rd[0].errors + state()->rd[1].errors, 0);
}
END_TEST

/* a gap where framing depends on the missing bytes: pending commands end incomplete, counted, then resync */
START_TEST(framing_lost_and_found)
{
	start();
	put(OUT, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n");
	ck_assert_int_eq(sn.requests, 3);
	put(IN, "$1\r\nx\r\n");
	/* an array of many small elements: the copy ends mid-array, the rest is unknown */
	proto_conn__feed(&pc, IN, "$1\r\ny\r\n*1000\r\n$1\r\na\r\n", 21, 6000, 2000);
	ck_assert_str_eq(sn.log, "C GET|GET ?||$|;C GET|GET ?||$|;C LRANGE|LRANGE ?||*|!;");
	ck_assert_uint_eq(state()->rd[IN].errors, 1);
	/* the rest of that reply: no command waits, so it is not taken for a reply */
	put(IN, "$1\r\nb\r\n$1\r\nc\r\n");
	ck_assert_int_eq(sn.exchanges, 3);
	put(OUT, "*1\r\n$4\r\nPING\r\n");
	put(IN, "+PONG\r\n");
	ck_assert_str_eq(sn.log, "C GET|GET ?||$|;C GET|GET ?||$|;C LRANGE|LRANGE ?||*|!;C PING|PING||+|;");
	ck_assert_int_eq(sn.exchanges, 4);
	ck_assert_int_eq(sn.last.status, '+');
	/* garbage in the command direction: waiting commands end incomplete, unanswered */
	put(OUT, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
	put(OUT, "*2\r\nxx\r\n");
	ck_assert_int_eq(sn.exchanges, 5);
	ck_assert_int_eq(sn.last.incomplete, 1);
	ck_assert_int_eq(sn.last.status, 0);
	ck_assert_uint_eq(state()->rd[OUT].errors, 1);
	put(IN, "$1\r\nx\r\n"); /* the reply to that GET: nothing waits for it */
	put(OUT, "more garbage");
	put(OUT, "*1\r\n$4\r\nPING\r\n"); /* a chunk that starts a command */
	put(IN, "+PONG\r\n");
	ck_assert_int_eq(sn.exchanges, 6);
	ck_assert_int_eq(sn.last.incomplete, 0);
	ck_assert_str_eq(sn.last.op, "PING");
	ck_assert_int_eq(proto_conn__feed(&pc, OUT, "x", 1, 1, 1), PROTO_GOING); /* sure: never capture off */
}
END_TEST

/* garbage before the parser is sure turns capture off (two errors) */
START_TEST(garbage_turns_capture_off)
{
	start();
	ck_assert_int_eq(put(OUT, "*2\r\n$3\r\nFOO"), PROTO_GOING); /* not claimed: FOO is no command */
	ck_assert_int_eq(put(OUT, "*1\r"), PROTO_CLAIMED);	    /* maybe */
	ck_assert_int_eq(put(OUT, "x\n"), PROTO_OFF);
	start();
	ck_assert_int_eq(put(OUT, "*1\r\n$4\r\nNOPE\r\n"), PROTO_GOING);
	ck_assert_int_eq(put(IN, "+OK\r\n"), PROTO_OFF);
}
END_TEST

/* 20 commands in one write, their replies in one read, in order */
START_TEST(pipelining)
{
	char out[4096] = "", in[1024] = "", want[4096] = "";

	start();
	for (int i = 0; i < 20; i++) {
		strcat(out,
		       i % 2 ? "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nxxx\r\n" : "*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
		strcat(in, i % 2 ? "+OK\r\n" : ":7\r\n");
		strcat(want, i % 2 ? "C SET|SET ? ?||+|;" : "C INCR|INCR ?||:|;");
	}
	put(OUT, out);
	ck_assert_int_eq(sn.requests, 20);
	ck_assert_int_eq(sn.exchanges, 0);
	put(IN, in);
	ck_assert_str_eq(sn.log, want);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(sn.all[i].span_id[0], i + 1);
}
END_TEST

/* more waiting commands than the queue holds: the rest are given up (counted lost), their replies skipped */
START_TEST(pipeline_overflow)
{
	static const struct proto_text text = { .peer = "" };
	struct proto_desc d;
	int n = REDIS_PIPELINE + 10;

	start();
	for (int i = 0; i < n; i++)
		put(OUT, "*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n");
	ck_assert_int_eq(sn.requests, n);
	ck_assert_int_eq(sn.exchanges, 10);
	ck_assert_int_eq(sn.last.incomplete, 1);
	ck_assert_int_eq(sn.last.status, 0);
	proto__by_id(OBS_PROTO_REDIS)->describe(&sn.last, &text, false, &d);
	ck_assert_str_eq(d.lost, "redis_pipeline_overflow");
	ck_assert_uint_eq(state()->given_up, 10);
	for (int i = 0; i < n; i++)
		put(IN, ":1\r\n");
	ck_assert_int_eq(sn.exchanges, n);
	ck_assert_int_eq(sn.last.status, ':');
	ck_assert_uint_eq(state()->overflow, 0);
	ck_assert_uint_eq(state()->unmatched, 0);
	/* and the next pairs as it should */
	put(OUT, "*1\r\n$4\r\nPING\r\n");
	put(IN, "+PONG\r\n");
	ck_assert_str_eq(sn.last.op, "PING");
	ck_assert_int_eq(sn.last.status, '+');
}
END_TEST

/* MULTI, each queued command (answered +QUEUED) and EXEC are exchanges of their own */
START_TEST(multi_exec)
{
	start();
	put(OUT, "*1\r\n$5\r\nMULTI\r\n");
	put(IN, "+OK\r\n");
	put(OUT, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n");
	put(IN, "+QUEUED\r\n+QUEUED\r\n");
	put(OUT, "*1\r\n$4\r\nEXEC\r\n");
	put(IN, "*2\r\n+OK\r\n:2\r\n");
	put(OUT, "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nBLAH\r\n*1\r\n$4\r\nEXEC\r\n"); /* an error while queueing */
	put(IN, "+OK\r\n-ERR unknown command 'BLAH'\r\n-EXECABORT Transaction discarded\r\n");
	ck_assert_str_eq(sn.log, "C MULTI|MULTI||+|;C SET|SET ? ?||+|;C INCR|INCR ?||+|;C EXEC|EXEC||*|;"
				 "C MULTI|MULTI||+|;C _OTHER|_OTHER||-|ERR;C EXEC|EXEC||-|EXECABORT;");
}
END_TEST

/* RESP2 pub/sub: one confirmation per channel (the command ends with the last), messages are no replies */
START_TEST(pubsub_resp2)
{
	start();
	put(OUT, "*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n");
	put(IN, "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
	ck_assert_int_eq(sn.exchanges, 0);
	put(IN, "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
	ck_assert_str_eq(sn.log, "C SUBSCRIBE|SUBSCRIBE ? ?||*|;");
	put(IN, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n");
	put(OUT, "*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\nh*\r\n");
	put(IN, "*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$5\r\nworld\r\n"); /* a message before the confirmation */
	put(IN, "*3\r\n$10\r\npsubscribe\r\n$2\r\nh*\r\n:3\r\n");
	put(IN, "*4\r\n$8\r\npmessage\r\n$2\r\nh*\r\n$2\r\nhi\r\n$1\r\nx\r\n");
	put(OUT, "*1\r\n$4\r\nPING\r\n");
	put(IN, "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
	ck_assert_int_eq(state()->nchan, 2);
	ck_assert_int_eq(state()->npat, 1);
	/* UNSUBSCRIBE without channels: one confirmation per channel subscribed (2) */
	put(OUT, "*1\r\n$11\r\nUNSUBSCRIBE\r\n");
	put(IN, "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n");
	ck_assert_int_eq(sn.exchanges, 3);
	put(IN, "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n");
	put(OUT, "*1\r\n$12\r\nPUNSUBSCRIBE\r\n");
	put(IN, "*3\r\n$12\r\npunsubscribe\r\n$2\r\nh*\r\n:0\r\n");
	ck_assert_str_eq(sn.log, "C SUBSCRIBE|SUBSCRIBE ? ?||*|;C PSUBSCRIBE|PSUBSCRIBE ?||*|;C PING|PING||*|;"
				 "C UNSUBSCRIBE|UNSUBSCRIBE||*|;C PUNSUBSCRIBE|PUNSUBSCRIBE||*|;");
	/* out of subscribe mode: an array that starts with "message" is a reply again */
	put(OUT, "*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n");
	put(IN, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
	ck_assert_int_eq(sn.exchanges, 6);
	ck_assert_str_eq(sn.last.op, "LRANGE");
	/* UNSUBSCRIBE when nothing is subscribed: one confirmation with a null channel */
	put(OUT, "*1\r\n$11\r\nUNSUBSCRIBE\r\n");
	put(IN, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
	ck_assert_int_eq(sn.exchanges, 7);
	ck_assert_uint_eq(state()->unmatched, 0);
}
END_TEST

/* RESP3: confirmations and messages are pushes; a push is never a reply */
START_TEST(pubsub_resp3)
{
	start();
	put(OUT, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
	put(IN, "%1\r\n$5\r\nproto\r\n:3\r\n");
	put(OUT, "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n");
	put(IN, ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
	put(IN, ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n");
	put(OUT, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
	put(IN, ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n$1\r\nv\r\n"); /* a push, then the reply */
	/* RESP3 arrays are never messages */
	put(OUT, "*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n");
	put(IN, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
	ck_assert_str_eq(sn.log, "C HELLO|HELLO ?||%|;C SUBSCRIBE|SUBSCRIBE ?||>|;C GET|GET ?||$|;"
				 "C LRANGE|LRANGE ? ? ?||*|;");
}
END_TEST

START_TEST(inline_commands)
{
	start();
	ck_assert_int_eq(put(IN, "PING\r\n"), PROTO_CLAIMED);
	put(OUT, "+PONG\r\n");
	put(IN, "set k \"a value with spaces\"\r\n\r\nget 'k'\n");
	put(OUT, "+OK\r\n$21\r\na value with spaces..\r\n");
	put(IN, "   \r\nconfig get maxmemory\r\n");
	put(OUT, "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
	ck_assert_str_eq(sn.log, "S PING|PING||+|;S SET|SET ? ?||+|;S GET|GET ?||$|;S CONFIG|CONFIG GET ?||*|;");
	put(IN, "set k \"unbalanced\r\n");
	ck_assert_uint_eq(state()->rd[IN].errors, 1);
}
END_TEST

/* SELECT sets db.namespace for the commands after it (pipelined ones too); a failed one does not */
START_TEST(select_db)
{
	start();
	put(OUT, "*1\r\n$4\r\nPING\r\n*2\r\n$6\r\nSELECT\r\n$2\r\n15\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
	put(IN, "+PONG\r\n+OK\r\n$-1\r\n");
	put(OUT, "*2\r\n$6\r\nSELECT\r\n$3\r\n999\r\n");
	put(IN, "-ERR DB index is out of range\r\n");
	put(OUT, "*1\r\n$6\r\nDBSIZE\r\n");
	put(IN, ":0\r\n");
	put(OUT, "*2\r\n$6\r\nSELECT\r\n$3\r\nabc\r\n");
	put(IN, "-ERR value is not an integer or out of range\r\n");
	put(OUT, "*1\r\n$5\r\nRESET\r\n*1\r\n$6\r\nDBSIZE\r\n");
	put(IN, "+RESET\r\n:0\r\n");
	ck_assert_str_eq(sn.log,
			 "C PING|PING||+|;C SELECT|SELECT ?||+|;C GET|GET ?|15|$|;C SELECT|SELECT ?|15|-|ERR;"
			 "C DBSIZE|DBSIZE|15|:|;C SELECT|SELECT ?|15|-|ERR;C RESET|RESET|15|+|;C DBSIZE|DBSIZE|0|:|;");
}
END_TEST

/* a large SET whose write is copied up to every possible byte: with the bulk's length line copied the rest is
 * skipped by length; without it the framing is lost (counted), never guessed */
START_TEST(gap_after_every_byte)
{
	static char big[6000];
	size_t hl = (size_t)snprintf(big, sizeof(big), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\n"), total = hl + 5002;

	memset(big + hl, 'v', 5000);
	memcpy(big + hl + 5000, "\r\n", 2);
	for (size_t k = 1; k <= total; k++) {
		start();
		proto_conn__feed(&pc, OUT, "*1\r\n$4\r\nPING\r\n", 14, 14, 1);
		proto_conn__feed(&pc, IN, "+PONG\r\n", 7, 7, 2);
		proto_conn__feed(&pc, OUT, big, k, total, 3);
		if (k >= hl) {
			ck_assert_msg(sn.requests == 2, "copied %zu: %d requests", k, sn.requests);
			ck_assert_uint_eq(state()->rd[OUT].errors, 0);
			put(IN, "+OK\r\n");
			ck_assert_msg(!strcmp(sn.log, "C PING|PING||+|;C SET|SET ? ?||+|;"), "copied %zu: %s", k,
				      sn.log);
			ck_assert_int_eq(sn.last.request_bytes, total);
		} else {
			ck_assert_int_eq(sn.requests, 1);
			ck_assert_uint_eq(state()->rd[OUT].errors, 1);
		}
	}
}
END_TEST

/* inline commands cut at every byte */
START_TEST(inline_every_cut)
{
	static const char in[] = "set k \"a b\"\r\nGET k\nconfig get maxmemory\r\n",
			  out[] = "+OK\r\n$3\r\na b\r\n*0\r\n";

	for (size_t cut = 1; cut < sizeof(in) - 1; cut++) {
		start();
		proto_conn__feed(&pc, IN, "PING\r\n", 6, 6, 1);
		proto_conn__feed(&pc, OUT, "+PONG\r\n", 7, 7, 2);
		proto_conn__feed(&pc, IN, in, cut, cut, 3);
		proto_conn__feed(&pc, IN, in + cut, sizeof(in) - 1 - cut, sizeof(in) - 1 - cut, 4);
		put(OUT, out);
		ck_assert_msg(!strcmp(sn.log,
				      "S PING|PING||+|;S SET|SET ? ?||+|;S GET|GET ?||$|;S CONFIG|CONFIG GET ?||*|;"),
			      "cut %zu: %s", cut, sn.log);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, detection);
	tcase_add_test(tc, client_set_get);
	tcase_add_test(tc, server_side);
	tcase_add_test(tc, every_type_every_cut);
	tcase_add_test(tc, byte_by_byte);
	tcase_add_test(tc, gaps_inside_bulk_bodies);
	tcase_add_test(tc, framing_lost_and_found);
	tcase_add_test(tc, garbage_turns_capture_off);
	tcase_add_test(tc, pipelining);
	tcase_add_test(tc, pipeline_overflow);
	tcase_add_test(tc, multi_exec);
	tcase_add_test(tc, pubsub_resp2);
	tcase_add_test(tc, pubsub_resp3);
	tcase_add_test(tc, inline_commands);
	tcase_add_test(tc, select_db);
	tcase_add_test(tc, gap_after_every_byte);
	tcase_add_test(tc, inline_every_cut);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
