/* test_postgres.c -- PostgreSQL protocol v3: detection, simple and extended (pipelined) queries, errors,
 * COPY, SSLRequest, capture gaps, values kept out (detection, garbage, SQL text, describe(): test_postgres_sql.c) */
#include <check.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/conn.h"
#include "lib/proto/postgres_sql.h"
#include "lib/proto/postgres_wire.h"
#include "lib/proto/registry.h"

static bool copy_clean_fn(void *ctx, const char *in, char *out, size_t outlen)
{
	(void)ctx;
	if (strstr(in, "UNSCANNABLE"))
		return false;
	snprintf(out, outlen, "%s", in);
	return true;
}

/* ---- a conversation: frontend (client) and backend (server) messages in order ---- */

struct seg {
	int fe; /* a frontend message */
	size_t off, len;
	size_t caplen; /* bytes captured of it; the rest is a gap (0: all) */
};

static struct conv {
	uint8_t buf[65536];
	size_t n;
	struct seg seg[256];
	int nseg;
} cv;

static void conv_reset(void)
{
	cv.n = 0;
	cv.nseg = 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* a message (type 0: untyped, the startup family) with @body of @n bytes; @join: part of the previous write */
static void msg(int fe, char type, const void *body, size_t n, bool join)
{
	size_t start = cv.n;

	if (type)
		cv.buf[cv.n++] = (uint8_t)type;
	put32(cv.buf + cv.n, (uint32_t)n + 4);
	cv.n += 4;
	memcpy(cv.buf + cv.n, body, n);
	cv.n += n;
	if (join && cv.nseg && cv.seg[cv.nseg - 1].fe == fe) {
		cv.seg[cv.nseg - 1].len += cv.n - start;
		return;
	}
	cv.seg[cv.nseg++] = (struct seg){ fe, start, cv.n - start, 0 };
}

/* bytes that are no message (a one-byte answer, TLS records) as their own write */
static void raw(int fe, const void *b, size_t n)
{
	memcpy(cv.buf + cv.n, b, n);
	cv.seg[cv.nseg++] = (struct seg){ fe, cv.n, n, 0 };
	cv.n += n;
}

#define FE(t, lit) msg(1, t, lit, sizeof(lit) - 1, false)
#define FEJ(t, lit) msg(1, t, lit, sizeof(lit) - 1, true) /* pipelined: the same write */
#define BE(t, lit) msg(0, t, lit, sizeof(lit) - 1, true)
#define BENEW(t, lit) msg(0, t, lit, sizeof(lit) - 1, false)

/* StartupMessage for user "alice", database "shop" (or none) and the server's answer up to ReadyForQuery */
static void handshake(bool with_db)
{
	if (with_db)
		FE(0, "\x00\x03\x00\x00user\0alice\0database\0shop\0\0");
	else
		FE(0, "\x00\x03\x00\x00user\0alice\0\0");
	BENEW('R', "\0\0\0\0");
	BE('S', "server_version\00015.5\0");
	BE('K', "\0\0\0\1\0\0\0\2");
	BE('Z', "I");
}

/* ---- what comes out ---- */

struct seen {
	int requests, n;
	struct obs_exchange x[32];
	char log[4096];
};

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	(void)in;
	((struct seen *)ctx)->requests++;
	x->pid = 42;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;
	size_t l = strlen(s->log);

	if (s->n < 32)
		s->x[s->n] = *x;
	s->n++;
	snprintf(s->log + l, sizeof(s->log) - l, "%s|%s|%s|%s|%s|%d%s%s;", x->op, x->target, x->host, x->agent, x->code,
		 x->status, x->error ? "|err" : "", x->incomplete ? "|inc" : "");
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };
static struct pg_conn pc;

/* the conversation into a fresh parser, as a client (@client) or a server, each write in pieces of
 * @step bytes (0: whole) */
static void run(struct seen *s, bool client, size_t step)
{
	memset(s, 0, sizeof(*s));
	pg_conn__init(&pc, &sink, s);
	for (int i = 0; i < cv.nseg; i++) {
		const struct seg *g = &cv.seg[i];
		enum proto_dir dir = (g->fe == client) ? PROTO_OUT : PROTO_IN;
		size_t cap = g->caplen ? g->caplen : g->len;

		if (!step) {
			pg_conn__data(&pc, dir, cv.buf + g->off, cap, g->len, 1000 + i);
			continue;
		}
		for (size_t o = 0; o < cap; o += step) {
			size_t k = cap - o < step ? cap - o : step;

			pg_conn__data(&pc, dir, cv.buf + g->off + o, k, o + k == cap ? g->len - o : k, 1000 + i);
		}
	}
}

/* the same exchanges whatever the chunking, both roles */
static void check_all_splits(const char *want)
{
	static struct seen s;

	for (int client = 0; client < 2; client++) {
		for (size_t step = 0; step <= 64; step++) {
			run(&s, client, step);
			ck_assert_msg(!strcmp(s.log, want), "client %d step %zu:\n got %s\nwant %s", client, step,
				      s.log, want);
			ck_assert_int_eq(s.requests, s.n);
			for (int i = 0; i < s.n && i < 32; i++)
				ck_assert_int_eq(s.x[i].kind, client ? OBS_X_CLIENT : OBS_X_SERVER);
			ck_assert_uint_eq(pc.errors, 0);
		}
	}
}

/* ---- simple query ---- */

START_TEST(simple_query)
{
	conv_reset();
	handshake(true);
	FE('Q', "SELECT name FROM users WHERE id = 42 AND pw = 'hunter2'\0");
	BENEW('T', "\0\1name\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	BE('D', "\0\1\0\0\0\3bob");
	BE('C', "SELECT 1\0");
	BE('Z', "I");
	FE('Q', "insert into t(a) values (1)\0");
	BENEW('C', "INSERT 0 1\0");
	BE('Z', "I");
	FE('Q', "CREATE TABLE k (a int)\0");
	BENEW('C', "CREATE TABLE\0");
	BE('Z', "I");
	check_all_splits("SELECT|SELECT name FROM users WHERE id = ? AND pw = ?|shop|users||1;"
			 "INSERT|insert into t(a) values (?)|shop|t||1;"
			 "CREATE TABLE|CREATE TABLE k (a int)|shop|k||1;");
	/* times: from the Query's bytes to its ReadyForQuery */
	{
		static struct seen s;

		run(&s, true, 0);
		ck_assert_uint_eq(s.x[0].start_ns, 1002);
		ck_assert_uint_eq(s.x[0].end_ns, 1003);
		ck_assert_int_eq(s.x[0].pid, 42);
	}
}
END_TEST

/* several statements in one Query; the error's SQLSTATE; no database: the user's name */
START_TEST(simple_errors)
{
	conv_reset();
	handshake(false);
	FE('Q', "SELECT * FROM missing\0");
	BENEW('E', "SERROR\0VERROR\0C42P01\0Mrelation \"missing\" does not exist\0\0");
	BE('Z', "I");
	FE('Q', "BEGIN; UPDATE a SET x = x + 1; SELECT 1/0; COMMIT\0");
	BENEW('C', "BEGIN\0");
	BE('C', "UPDATE 3\0");
	BE('E', "SERROR\0C22012\0Mdivision by zero\0\0");
	BE('Z', "E");
	FE('Q', "\0");
	BENEW('I', "");
	BE('Z', "I");
	FE('Q', "SELECT 1\0"); /* an ErrorResponse without a SQLSTATE, then one whose code is not one */
	BENEW('E', "SERROR\0Mno code\0\0");
	BE('Z', "I");
	FE('Q', "SELECT 2\0");
	BENEW('E', "SERROR\0Cpassword=x\0\0");
	BE('Z', "I");
	check_all_splits("SELECT|SELECT * FROM missing|alice|missing|42P01|1|err;"
			 "BEGIN|BEGIN; UPDATE a SET x = x + ?; SELECT ?/?; COMMIT|alice||22012|1|err;"
			 "||alice|||1;"
			 "SELECT|SELECT ?|alice||_OTHER|1|err;"
			 "SELECT|SELECT ?|alice||_OTHER|1|err;");
}
END_TEST

/* ---- extended query ---- */

START_TEST(extended_pipelined)
{
	conv_reset();
	handshake(true);
	/* the unnamed statement, twice, then a named one executed twice, all in one write */
	FE('P', "\0SELECT a FROM t WHERE id = $1\0\0\0");
	FEJ('B', "\0\0\0\0\0\1\0\0\0\5s3cr3\0\0");
	FEJ('D', "P\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	FEJ('P', "\0UPDATE t SET a = $1 WHERE id = 7\0\0\0");
	FEJ('B', "\0\0\0\0\0\1\0\0\0\2xy\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	FEJ('P', "s1\0DELETE FROM old WHERE d < now() - interval '1 day'\0\0\0");
	FEJ('B', "p1\0s1\0\0\0\0\0\0\0");
	FEJ('E', "p1\0\0\0\0\0");
	FEJ('B', "\0s1\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	BENEW('1', "");
	BE('2', "");
	BE('T', "\0\1a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	BE('D', "\0\1\0\0\0\1x");
	BE('C', "SELECT 1\0");
	BE('Z', "I");
	BE('1', "");
	BE('2', "");
	BE('C', "UPDATE 1\0");
	BE('Z', "I");
	BE('1', "");
	BE('2', "");
	BE('C', "DELETE 4\0");
	BE('2', "");
	BE('C', "DELETE 0\0");
	BE('Z', "I");
	check_all_splits("SELECT|SELECT a FROM t WHERE id = $1|shop|t||1;"
			 "UPDATE|UPDATE t SET a = $1 WHERE id = ?|shop|t||1;"
			 "DELETE|DELETE FROM old WHERE d < now() - interval ?|shop|old||1;"
			 "DELETE|DELETE FROM old WHERE d < now() - interval ?|shop|old||1;");
}
END_TEST

/* an error mid-pipeline: the server skips to the Sync; the Executes it skipped are said so */
START_TEST(extended_error_mid_pipeline)
{
	conv_reset();
	handshake(true);
	FE('P', "\0INSERT INTO a VALUES ($1)\0\0\0");
	FEJ('B', "\0\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('P', "\0INSERT INTO nope VALUES ($1)\0\0\0");
	FEJ('B', "\0\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('P', "\0SELECT 1\0\0\0");
	FEJ('B', "\0\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	FEJ('P', "\0SELECT 2\0\0\0");
	FEJ('B', "\0\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	BENEW('1', "");
	BE('2', "");
	BE('C', "INSERT 0 1\0");
	BE('E', "SERROR\0C42P01\0Mrelation \"nope\" does not exist\0\0");
	BE('Z', "E");
	BE('1', "");
	BE('2', "");
	BE('D', "\0\1\0\0\0\1"
		"2");
	BE('C', "SELECT 1\0");
	BE('Z', "I");
	check_all_splits("INSERT|INSERT INTO a VALUES ($1)|shop|a||1;"
			 "INSERT|INSERT INTO nope VALUES ($1)|shop|nope|42P01|1|err;"
			 "SELECT|SELECT ?|shop|||2;"
			 "SELECT|SELECT ?|shop|||1;");
}
END_TEST

/* more Executes in flight than the parser keeps: the rest of that Sync's are said untracked at once, and their
 * answers pair with nothing (not with a later Execute) */
START_TEST(extended_pipeline_overflow)
{
	static const char *const q[] = { "\0UPDATE t1 SET a = 1\0\0\0", "\0UPDATE t2 SET a = 1\0\0\0",
					 "\0UPDATE t3 SET a = 1\0\0\0", "\0UPDATE t4 SET a = 1\0\0\0",
					 "\0UPDATE t5 SET a = 1\0\0\0", "\0UPDATE t6 SET a = 1\0\0\0",
					 "\0UPDATE t7 SET a = 1\0\0\0", "\0UPDATE t8 SET a = 1\0\0\0" };

	conv_reset();
	handshake(true);
	for (int i = 0; i < 8; i++) {
		msg(1, 'P', q[i], 24, i > 0);
		FEJ('B', "\0\0\0\0\0\0\0\0");
		FEJ('E', "\0\0\0\0\0");
	}
	FEJ('S', "");
	for (int i = 0; i < 8; i++) {
		msg(0, '1', "", 0, i > 0);
		BE('2', "");
		BE('C', "UPDATE 1\0");
	}
	BE('Z', "I");
	FE('P', "\0SELECT 1 FROM t9\0\0\0"); /* the next Sync's is tracked again */
	FEJ('B', "\0\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	BENEW('C', "SELECT 1\0");
	BE('Z', "I");
	check_all_splits("|||||3|inc;|||||3|inc;"
			 "UPDATE|UPDATE t1 SET a = ?|shop|t1||1;UPDATE|UPDATE t2 SET a = ?|shop|t2||1;"
			 "UPDATE|UPDATE t3 SET a = ?|shop|t3||1;UPDATE|UPDATE t4 SET a = ?|shop|t4||1;"
			 "UPDATE|UPDATE t5 SET a = ?|shop|t5||1;UPDATE|UPDATE t6 SET a = ?|shop|t6||1;"
			 "SELECT|SELECT ? FROM t9|shop|t9||1;");
	{
		const struct proto *p = proto__by_name("postgresql");
		struct proto_text t = { .clean = copy_clean_fn, .peer = "" };
		static struct seen s;
		static struct proto_desc d;

		run(&s, true, 0);
		p->describe(&s.x[0], &t, true, &d);
		ck_assert_str_eq(d.lost, "postgres_pipeline_overflow");
	}
}
END_TEST

/* PortalSuspended ends an Execute with a row limit; EmptyQueryResponse an empty statement */
START_TEST(extended_suspended_and_empty)
{
	conv_reset();
	handshake(true);
	FE('P', "big\0SELECT * FROM t\0\0\0");
	FEJ('B', "c\0big\0\0\0\0\0\0\0");
	FEJ('E', "c\0\0\0\0\2");
	FEJ('E', "c\0\0\0\0\2");
	FEJ('P', "\0\0\0\0");
	FEJ('B', "\0\0\0\0\0\0\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	BENEW('1', "");
	BE('2', "");
	BE('D', "\0\1\0\0\0\1a");
	BE('D', "\0\1\0\0\0\1b");
	BE('s', "");
	BE('D', "\0\1\0\0\0\1c");
	BE('C', "SELECT 1\0");
	BE('1', "");
	BE('2', "");
	BE('I', "");
	BE('Z', "I");
	check_all_splits("SELECT|SELECT * FROM t|shop|t||1;"
			 "SELECT|SELECT * FROM t|shop|t||1;"
			 "||shop|||1;");
}
END_TEST

/* ---- COPY passes through by length, both ways ---- */

START_TEST(copy_in_and_out)
{
	conv_reset();
	handshake(true);
	FE('Q', "COPY items FROM STDIN\0");
	BENEW('G', "\0\0\1\0\0");
	/* CopyData that looks like messages: never parsed as any */
	FE('d', "Z\0\0\0\5IQ\0\0\0\x0dSELECT 9\0\n");
	FEJ('d', "E\0\0\0\x08XXXX\n");
	FEJ('c', "");
	BENEW('C', "COPY 2\0");
	BE('Z', "I");
	FE('Q', "COPY (SELECT * FROM items) TO STDOUT\0");
	BENEW('H', "\0\0\1\0\0");
	BE('d', "C\0\0\0\x0bSELECT 7\0\n");
	BE('d', "Z\0\0\0\5I\n");
	BE('c', "");
	BE('C', "COPY 2\0");
	BE('Z', "I");
	/* a CopyFail */
	FE('Q', "COPY items FROM STDIN\0");
	BENEW('G', "\0\0\1\0\0");
	FE('d', "1\n");
	FEJ('f', "no\0");
	BENEW('E', "SERROR\0C57014\0MCOPY from stdin failed: no\0\0");
	BE('Z', "I");
	check_all_splits("COPY|COPY items FROM STDIN|shop|items||1;"
			 "COPY|COPY (SELECT * FROM items) TO STDOUT|shop|||1;"
			 "COPY|COPY items FROM STDIN|shop|items|57014|1|err;");
}
END_TEST

/* ---- capture gaps ---- */

/* DataRows larger than what is copied: skipped by length, the framing holds */
START_TEST(gaps_inside_datarows)
{
	static uint8_t row[6000];

	conv_reset();
	handshake(true);
	FE('Q', "SELECT blob FROM files\0");
	memset(row, 'x', sizeof(row));
	row[0] = 0, row[1] = 1, put32(row + 2, sizeof(row) - 6);
	msg(0, 'D', row, sizeof(row), false);
	cv.seg[cv.nseg - 1].caplen = 2047; /* what eBPF copies of one read */
	msg(0, 'D', row, sizeof(row), false);
	cv.seg[cv.nseg - 1].caplen = 100;
	msg(0, 'D', row, sizeof(row), false);
	cv.seg[cv.nseg - 1].caplen = 5; /* the header alone */
	BENEW('C', "SELECT 3\0");
	BE('Z', "I");
	FE('Q', "SELECT 1\0");
	BENEW('C', "SELECT 1\0");
	BE('Z', "I");
	check_all_splits("SELECT|SELECT blob FROM files|shop|files||1;SELECT|SELECT ?|shop|||1;");
	{
		static struct seen s;

		run(&s, true, 0);
		ck_assert_uint_eq(s.x[0].response_bytes, 3 * 6005 + 14 + 6);
	}
}
END_TEST

/* a gap over a message header: what waits ends incomplete (unanswered), the backend resynchronises at
 * ReadyForQuery; a lost frontend gives up */
START_TEST(framing_lost)
{
	static struct seen s;
	static uint8_t rows[3000];
	size_t n = 0;

	conv_reset();
	handshake(true);
	FE('Q', "SELECT a FROM t\0");
	while (n + 11 <= sizeof(rows)) { /* many small DataRows in one read */
		rows[n] = 'D', put32(rows + n + 1, 10), memcpy(rows + n + 5, "\0\1\0\0\0\1", 6);
		n += 11;
	}
	raw(0, rows, n);
	cv.seg[cv.nseg - 1].caplen = 2047;
	BENEW('C', "SELECT 272\0");
	BE('Z', "I");
	FE('Q', "SELECT b FROM u\0");
	BENEW('C', "SELECT 0\0");
	BE('Z', "I");
	for (int client = 0; client < 2; client++) {
		run(&s, client, 0);
		ck_assert_str_eq(s.log, "SELECT|SELECT a FROM t|shop|t||0|inc;SELECT|SELECT b FROM u|shop|u||1;");
		ck_assert_uint_eq(pc.errors, 1);
	}

	/* the frontend: a Query cut by a gap past its end */
	conv_reset();
	handshake(true);
	FE('Q', "SELECT 1\0");
	FEJ('Q', "SELECT 2\0");
	cv.seg[cv.nseg - 1].caplen = 5;
	BENEW('C', "SELECT 1\0");
	BE('Z', "I");
	run(&s, true, 0);
	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_ge(pc.errors, 1);
	{
		struct proto_progress pr;

		proto__by_name("postgresql")->progress(&pc, &pr);
		ck_assert(!pr.sure);
	}
}
END_TEST

/* ---- SSLRequest ---- */

START_TEST(ssl_request)
{
	static struct seen s;
	struct proto_progress pr;

	/* 'S': ciphertext from here, both ways: quiet */
	conv_reset();
	msg(1, 0, "\x04\xd2\x16\x2f", 4, false);
	raw(0, "S", 1);
	raw(1, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
	raw(0, "\x16\x03\x03\x00\x7a\x02\x00\x00\x76", 9);
	for (int client = 0; client < 2; client++) {
		run(&s, client, 0);
		pg_conn__data(&pc, PROTO_IN, NULL, 0, 5000, 9); /* gaps too */
		pg_conn__data(&pc, PROTO_OUT, NULL, 0, 5000, 9);
		pg_conn__close(&pc, 10);
		ck_assert_int_eq(s.n, 0);
		ck_assert_uint_eq(pc.errors, 0);
		proto__by_name("postgresql")->progress(&pc, &pr);
		ck_assert(pr.sure);
	}
	/* 'N': the StartupMessage follows in plaintext */
	conv_reset();
	msg(1, 0, "\x04\xd2\x16\x2f", 4, false);
	raw(0, "N", 1);
	handshake(true);
	FE('Q', "SHOW server_version\0");
	BENEW('T', "\0\1server_version\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	BE('D', "\0\1\0\0\0\00415.5");
	BE('C', "SHOW\0");
	BE('Z', "I");
	check_all_splits("SHOW|SHOW server_version|shop|||1;");
	/* a CancelRequest: nothing to report */
	conv_reset();
	msg(1, 0, "\x04\xd2\x16\x2e\0\0\0\1\0\0\0\2", 12, false);
	check_all_splits("");
}
END_TEST

/* ---- secrets: the password, Bind values and literals are nowhere in the state or the exchanges ---- */

START_TEST(values_kept_out)
{
	static struct seen s;

	conv_reset();
	FE(0, "\x00\x03\x00\x00user\0alice\0database\0shop\0\0");
	BENEW('R', "\0\0\0\3"); /* cleartext password asked */
	FE('p', "Pa55w0rdXYZ\0");
	BENEW('R', "\0\0\0\0");
	BE('Z', "I");
	FE('P', "\0SELECT 1 FROM t WHERE k = $1 AND s = 'L1teralQQ'\0\0\0");
	FEJ('B', "\0\0\0\0\0\1\0\0\0\x0b"
		 "B1ndValueZZ\0\0");
	FEJ('E', "\0\0\0\0\0");
	FEJ('S', "");
	BENEW('C', "SELECT 0\0");
	BE('Z', "I");
	check_all_splits("SELECT|SELECT ? FROM t WHERE k = $1 AND s = ?|shop|t||1;");
	for (size_t step = 0; step < 8; step++) {
		run(&s, true, step);
		ck_assert_ptr_null(memmem(&pc, sizeof(pc), "Pa55w0rd", 8));
		ck_assert_ptr_null(memmem(&pc, sizeof(pc), "B1ndValue", 9));
		ck_assert_ptr_null(memmem(&pc, sizeof(pc), "L1teral", 7));
		ck_assert_ptr_null(memmem(s.x, sizeof(s.x), "Pa55w0rd", 8));
		ck_assert_ptr_null(memmem(s.x, sizeof(s.x), "B1ndValue", 9));
		ck_assert_ptr_null(memmem(s.x, sizeof(s.x), "L1teral", 7));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("postgres");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, simple_query);
	tcase_add_test(tc, simple_errors);
	tcase_add_test(tc, extended_pipelined);
	tcase_add_test(tc, extended_error_mid_pipeline);
	tcase_add_test(tc, extended_pipeline_overflow);
	tcase_add_test(tc, extended_suspended_and_empty);
	tcase_add_test(tc, copy_in_and_out);
	tcase_add_test(tc, gaps_inside_datarows);
	tcase_add_test(tc, framing_lost);
	tcase_add_test(tc, ssl_request);
	tcase_add_test(tc, values_kept_out);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
