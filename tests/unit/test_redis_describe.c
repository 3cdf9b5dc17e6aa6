/* test_redis_describe.c -- what Redis exchanges become (lib/proto/redis.c): the command lists, db.query.text,
 * no argument value anywhere, the lost reasons, describe()'s labels and attributes.  Framing and pairing are
 * test_redis.c's. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/redis.h"
#include "lib/proto/registry.h"

#include "tests/unit/redis_seen.h"

#define OUT PROTO_OUT
#define IN PROTO_IN

static bool upper_clean(void *ctx, const char *in, char *out, size_t outlen)
{
	(void)ctx;
	snprintf(out, outlen, "%s", in);
	return !strstr(in, "unscannable");
}

static const char *attr(const struct proto_desc *d, const char *key, int64_t *num)
{
	for (int i = 0; i < d->nattrs; i++)
		if (!strcmp(d->attrs[i].key, key)) {
			if (num)
				*num = d->attrs[i].num;
			return d->attrs[i].str ? d->attrs[i].str : "(int)";
		}
	return NULL;
}

START_TEST(command_table)
{
	for (unsigned i = 2; i < redis_ncommands; i++)
		ck_assert_msg(strcmp(redis_commands[i - 1], redis_commands[i]) < 0, "%s", redis_commands[i]);
	for (unsigned i = 1; i < redis_nsubcommands; i++)
		ck_assert_msg(strcmp(redis_subcommands[i - 1], redis_subcommands[i]) < 0, "%s", redis_subcommands[i]);
	for (unsigned i = 1; i < redis_ncommands; i++)
		ck_assert_uint_eq(redis__command(redis_commands[i]), i);
	ck_assert_uint_eq(redis__command("NOPE"), 0);
	ck_assert_uint_eq(redis__command(""), 0);
	ck_assert_str_eq(redis_commands[redis__command("GEORADIUSBYMEMBER_RO")], "GEORADIUSBYMEMBER_RO");
	ck_assert_uint_eq(redis__subcommand(redis__command("GET"), "SET"), 0); /* GET has no subcommands */
	ck_assert_uint_ne(redis__subcommand(redis__command("CONFIG"), "GET"), 0);
}
END_TEST

/* no argument value ever reaches an exchange: AUTH, HELLO AUTH, CONFIG SET requirepass, an unknown command named
 * like a secret, inline AUTH, ACL SETUSER, MIGRATE AUTH, a database URL as a value, an error echoing a value */
START_TEST(no_values)
{
	static const char secret[] = "s3cr3t-Pa55";

	start();
	put(OUT, "*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$11\r\ns3cr3t-Pa55\r\n");
	put(IN, "+OK\r\n");
	put(OUT, "*5\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$11\r\ns3cr3t-Pa55\r\n");
	put(IN, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	put(OUT, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$11\r\ns3cr3t-Pa55\r\n");
	put(IN, "+OK\r\n");
	put(OUT, "*2\r\n$11\r\ns3cr3t-Pa55\r\n$11\r\ns3cr3t-Pa55\r\n");
	put(IN, "-ERR unknown command 's3cr3t-Pa55'\r\n");
	put(OUT, "AUTH s3cr3t-Pa55\r\n");
	put(IN, "+OK\r\n");
	put(OUT, "*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$5\r\nalice\r\n$12\r\n>s3cr3t-Pa55\r\n");
	put(IN, "+OK\r\n");
	put(OUT, "*9\r\n$7\r\nMIGRATE\r\n$1\r\nh\r\n$4\r\n6379\r\n$1\r\nk\r\n$1\r\n0\r\n$4\r\n5000\r\n"
		 "$5\r\nAUTH2\r\n$1\r\nu\r\n$11\r\ns3cr3t-Pa55\r\n");
	put(IN, "+NOKEY\r\n");
	put(OUT, "*3\r\n$3\r\nSET\r\n$3\r\nurl\r\n$40\r\nredis://user:s3cr3t-Pa55@db.example:6379\r\n");
	put(IN, "+OK\r\n");
	put(OUT, "*2\r\n$6\r\nSELECT\r\n$11\r\ns3cr3t-Pa55\r\n");
	put(IN, "-s3cr3t-Pa55 is not an integer\r\n");
	ck_assert_str_eq(sn.log,
			 "C AUTH|AUTH ? ?||+|;C HELLO|HELLO ? ? ? ?||-|WRONGPASS;C CONFIG|CONFIG SET ? ?||+|;"
			 "C _OTHER|_OTHER ?||-|ERR;C AUTH|AUTH ?||+|;C ACL|ACL SETUSER ? ?||+|;"
			 "C MIGRATE|MIGRATE ? ? ? ? ? ? ? ?||+|;C SET|SET ? ?||+|;C SELECT|SELECT ?||-|_OTHER;");
	for (int i = 0; i < sn.exchanges; i++)
		ck_assert(!memmem(&sn.all[i], sizeof(sn.all[i]), secret, 4));
}
END_TEST

/* the connection closes with commands waiting: incomplete; unanswered ones are lost, not measured */
START_TEST(close_pending)
{
	static const struct proto_text text = { .peer = "" };
	struct proto_desc d;

	start();
	put(OUT, "*2\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n*1\r\n$4\r\nPING\r\n");
	proto_conn__feed(&pc, IN, "*2\r\n$1\r\nq\r\n", 11, 11, 1000); /* half a reply */
	proto_conn__close(&pc, 5000);
	ck_assert_str_eq(sn.log, "C BLPOP|BLPOP ?||*|!;C PING|PING||0|!;");
	proto__by_id(OBS_PROTO_REDIS)->describe(&sn.last, &text, false, &d);
	ck_assert_str_eq(d.lost, "redis_unanswered");
	proto__by_id(OBS_PROTO_REDIS)->describe(&sn.all[0], &text, false, &d);
	ck_assert_ptr_null(d.lost); /* answered in part: measured until the close */
	ck_assert_int_eq(sn.all[0].end_ns, 5000);
}
END_TEST

START_TEST(describe_client_and_server)
{
	const struct proto *p = proto__by_id(OBS_PROTO_REDIS);
	struct proto_text text = { .clean = upper_clean, .peer = "127.0.0.2" };
	static struct proto_desc d;
	int64_t num = 0;

	start();
	put(OUT, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$1\r\nv\r\n");
	put(IN, "+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	p->describe(&sn.last, &text, true, &d);
	ck_assert_ptr_null(d.lost);
	ck_assert_str_eq(d.labels[0], "redis");
	ck_assert_str_eq(d.labels[1], "LPUSH");
	ck_assert_str_eq(d.labels[2], "127.0.0.2");
	ck_assert_str_eq(d.labels[3], "WRONGTYPE");
	ck_assert_str_eq(d.name, "LPUSH");
	ck_assert(d.error);
	ck_assert_str_eq(attr(&d, "db.system.name", NULL), "redis");
	ck_assert_str_eq(attr(&d, "db.operation.name", NULL), "LPUSH");
	ck_assert_str_eq(attr(&d, "db.namespace", NULL), "3");
	ck_assert_str_eq(attr(&d, "db.query.text", NULL), "LPUSH ? ?");
	ck_assert_str_eq(attr(&d, "server.address", NULL), "127.0.0.2");
	attr(&d, "server.port", &num);
	ck_assert_int_eq(num, 6379);
	ck_assert_str_eq(attr(&d, "db.response.status_code", NULL), "WRONGTYPE");
	ck_assert_str_eq(attr(&d, "network.peer.address", NULL), "127.0.0.2");
	/* a server's own view: server.address is the local address */
	start();
	put(IN, "*1\r\n$4\r\nPING\r\n");
	put(OUT, "+PONG\r\n");
	p->describe(&sn.last, &text, true, &d);
	ck_assert_str_eq(d.labels[2], "127.0.0.1");
	ck_assert_str_eq(d.labels[3], "");
	ck_assert(!d.error);
	ck_assert_ptr_null(attr(&d, "db.namespace", NULL));
	ck_assert_ptr_null(attr(&d, "db.response.status_code", NULL));
	attr(&d, "server.port", &num);
	ck_assert_int_eq(num, 40000);
	/* what the shim's segment may carry is not trusted: names outside the list are _OTHER, odd codes too */
	sn.last.error = 1;
	strcpy(sn.last.code, "WEIRDCODE");
	strcpy(sn.last.target, "NOTACOMMAND ?");
	memset(sn.last.op, 'X', sizeof(sn.last.op)); /* unterminated */
	p->describe(&sn.last, &text, true, &d);
	ck_assert_str_eq(d.labels[1], "_OTHER");
	ck_assert_str_eq(d.labels[3], "_OTHER");
	ck_assert_str_eq(d.name, "_OTHER");
	/* a name too long for op: taken from the query text */
	strcpy(sn.last.target, "GEORADIUSBYMEMBER_RO ? ? ? ?");
	p->describe(&sn.last, &text, false, &d);
	ck_assert_str_eq(d.labels[1], "GEORADIUSBYMEMBER_RO");
	/* a text the redactor cannot scan is left out */
	strcpy(sn.last.target, "GET unscannable");
	p->describe(&sn.last, &text, true, &d);
	ck_assert_ptr_null(attr(&d, "db.query.text", NULL));
}
END_TEST

START_TEST(query_text_bounds)
{
	char out[OBS_X_TARGET_MAX];

	ck_assert(redis__query_text(out, sizeof(out), redis__command("MSET"), 0, 4));
	ck_assert_str_eq(out, "MSET ? ? ? ?");
	ck_assert(!redis__query_text(out, sizeof(out), redis__command("MSET"), 0, 100000));
	ck_assert_uint_lt(strlen(out), sizeof(out));
	ck_assert(redis__query_text(out, sizeof(out), redis__command("CLIENT"),
				    redis__subcommand(redis__command("CLIENT"), "SETNAME"), 2));
	ck_assert_str_eq(out, "CLIENT SETNAME ?");
	ck_assert(redis__query_text(out, sizeof(out), 0, 0, 1));
	ck_assert_str_eq(out, "_OTHER ?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redis_describe");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, command_table);
	tcase_add_test(tc, no_values);
	tcase_add_test(tc, close_pending);
	tcase_add_test(tc, describe_client_and_server);
	tcase_add_test(tc, query_text_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
