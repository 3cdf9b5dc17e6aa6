/* test_postgres.c -- PostgreSQL protocol v3: detection, simple and extended (pipelined) queries, errors,
 * COPY, SSLRequest, capture gaps, garbage, values kept out, SQL normalisation and describe() */
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

static const struct proto_sink sink = { on_request, on_exchange };
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

/* ---- detection ---- */

START_TEST(detect)
{
	const struct proto *p = proto__by_name("postgresql");
	static const uint8_t startup[] = "\0\0\0\x15\x00\x03\x00\x00user\0alice\0\0";
	static const uint8_t ssl[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	static const uint8_t gss[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30 };
	static const uint8_t cancel[] = { 0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0, 0, 2 };

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(proto__by_id(OBS_PROTO_POSTGRES), p);
	ck_assert_uint_le(p->state_size, PROTO_STATE_MAX);
	ck_assert_int_eq(p->detect(startup, sizeof(startup) - 1, PROTO_OUT), PROTO_YES);
	ck_assert_int_eq(p->detect(startup, sizeof(startup) - 1, PROTO_IN), PROTO_YES);
	ck_assert_int_eq(p->detect(ssl, 8, PROTO_OUT), PROTO_YES);
	ck_assert_int_eq(p->detect(gss, 8, PROTO_OUT), PROTO_YES);
	ck_assert_int_eq(p->detect(cancel, 16, PROTO_IN), PROTO_YES);
	ck_assert_int_eq(p->detect(ssl, 3, PROTO_OUT), PROTO_MAYBE);
	ck_assert_int_eq(p->detect("GET / HTTP/1.1\r\n", 16, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(p->detect("*1\r\n$4\r\nPING\r\n", 14, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(p->detect("PING\r\n", 6, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(p->detect("\x16\x03\x01\x00\xa5\x01\x00\x00", 8, PROTO_OUT), PROTO_NO);
	ck_assert_int_eq(p->detect("Q\0\0\0\x0dSELECT 1\0", 14, PROTO_OUT), PROTO_NO);	     /* mid-connection */
	ck_assert_int_eq(p->detect("\0\0\0\x08\x00\x03\x00\x00", 8, PROTO_OUT), PROTO_NO);   /* no parameters */
	ck_assert_int_eq(p->detect("\0\0\x30\x00\x00\x03\x00\x00", 8, PROTO_OUT), PROTO_NO); /* 12 KiB */
	ck_assert_int_eq(p->detect("\0\0\0\x09\x04\xd2\x16\x2f", 8, PROTO_OUT), PROTO_NO);   /* SSLRequest of 9 */
	ck_assert_int_eq(p->detect("\0\0\0\0\0\0\0\0", 8, PROTO_OUT), PROTO_NO);
	/* through the registry: HTTP stays HTTP's, a startup is PostgreSQL's */
	{
		static struct proto_conn c;

		proto_conn__init(&c, NULL, NULL);
		ck_assert_int_eq(proto_conn__feed(&c, PROTO_OUT, startup, sizeof(startup) - 1, sizeof(startup) - 1, 1),
				 PROTO_CLAIMED);
		ck_assert_ptr_eq(c.proto, p);
		proto_conn__init(&c, NULL, NULL);
		ck_assert_int_eq(proto_conn__feed(&c, PROTO_OUT, "GET / HTTP/1.1\r\n\r\n", 18, 18, 1), PROTO_CLAIMED);
		ck_assert_str_eq(c.proto->name, "http1");
	}
}
END_TEST

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
		struct proto_text t = { copy_clean_fn, NULL, "" };
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

/* ---- garbage through proto_conn: never claimed, or given up; nothing reported ---- */

START_TEST(garbage)
{
	static struct proto_conn c;
	static struct seen s;
	uint8_t junk[512];
	uint32_t r = 12345;

	for (int round = 0; round < 200; round++) {
		memset(&s, 0, sizeof(s));
		proto_conn__init(&c, &sink, &s);
		for (size_t i = 0; i < sizeof(junk); i++) {
			r = r * 1103515245 + 12345;
			junk[i] = r >> 16;
		}
		if (round & 1) /* a valid startup, then garbage */
			memcpy(junk, "\0\0\0\x11\x00\x03\x00\x00user\0a\0\0", 17);
		for (int k = 0; k < 8 && !c.off; k++)
			proto_conn__feed(&c, k & 1 ? PROTO_IN : PROTO_OUT, junk + k * 64, 64, 64, k);
		proto_conn__close(&c, 100);
		ck_assert_int_eq(s.n, s.requests);
	}
	/* a startup, then a Query followed by bytes no message starts with: the frontend is given up */
	memset(&s, 0, sizeof(s));
	proto_conn__init(&c, &sink, &s);
	proto_conn__feed(&c, PROTO_OUT, "\0\0\0\x11\x00\x03\x00\x00user\0a\0\0", 17, 17, 1);
	proto_conn__feed(&c, PROTO_IN, "Z\0\0\0\5I", 6, 6, 2);
	proto_conn__feed(&c, PROTO_OUT, "Q\0\0\0\x0dSELECT 1\0", 14, 14, 3);
	proto_conn__feed(&c, PROTO_OUT, "\xff\xff\xff\xff\xff", 5, 5, 4);
	for (int k = 0; k < 4; k++)
		proto_conn__feed(&c, PROTO_OUT, "junk", 4, 4, 5);
	ck_assert(c.off);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.x[0].incomplete, 1);
	ck_assert_int_eq(s.x[0].status, PG_ST_NONE);
}
END_TEST

/* ---- normalisation ---- */

static void norm_is(const char *in, const char *want)
{
	char out[OBS_X_TARGET_MAX];
	bool cut;

	pgsql__normalize(in, strlen(in), out, sizeof(out), &cut);
	ck_assert_msg(!strcmp(out, want), "normalise(%s) = '%s', want '%s'", in, out, want);
}

START_TEST(normalise)
{
	norm_is("SELECT * FROM t WHERE a = 'x''y' AND b = E'it\\'s' AND c = 3.5e-2",
		"SELECT * FROM t WHERE a = ? AND b = ? AND c = ?");
	norm_is("select $1, $$secret$$, $tag$ a $$ b $tag$, 'q'", "select $1, ?, ?, ?");
	norm_is("  INSERT\n\tINTO t -- a comment 'x'\nVALUES (1, -2, .5, 0x1F, true, NULL)",
		"INSERT INTO t VALUES (?, -?, ?, ?, true, NULL)");
	norm_is("SELECT /* one /* nested */ still */ 1", "SELECT ?");
	norm_is("SELECT U&'d\\0061t', B'101', X'ff', N'n', e'\\x'", "SELECT ?, ?, ?, ?, ?");
	norm_is("SELECT \"Col 1\", t1.c2, a$b FROM \"My\"\"T\"", "SELECT \"Col 1\", t1.c2, a$b FROM \"My\"\"T\"");
	norm_is("SELECT 'unterminated secret", "SELECT ?");
	norm_is("SELECT $x$ never closed", "SELECT ?");
	norm_is("SELECT 1::int, a[2], 'x'||'y'", "SELECT ?::int, a[?], ?||?");
	norm_is("", "");
	{
		char out[16];
		bool cut;

		pgsql__normalize("SELECT aaaa, bbbb, cccc", 23, out, sizeof(out), &cut);
		ck_assert_str_eq(out, "SELECT aaaa,");
		ck_assert(cut);
		pgsql__normalize("SELECT 'abc' x", 9, out, sizeof(out), &cut); /* cut inside the literal */
		ck_assert_str_eq(out, "SELECT ?");
		ck_assert(!cut);
	}
}
END_TEST

static void verb_is(const char *norm, const char *want)
{
	char op[OBS_X_OP_MAX];

	pgsql__verb(norm, op, sizeof(op));
	ck_assert_str_eq(op, want);
}

static void tag_is(const char *tag, const char *want)
{
	char op[OBS_X_OP_MAX];

	pgsql__tag_verb(tag, strlen(tag), op, sizeof(op));
	ck_assert_str_eq(op, want);
}

static void coll_is(const char *norm, const char *want)
{
	char out[OBS_X_AGENT_MAX];
	bool ok = pgsql__collection(norm, out, sizeof(out));

	if (!want)
		ck_assert_msg(!ok, "collection(%s) = %s, want none", norm, out);
	else
		ck_assert_msg(ok && !strcmp(out, want), "collection(%s) = %s, want %s", norm, ok ? out : "-", want);
}

START_TEST(verbs_and_collections)
{
	verb_is("select ?", "SELECT");
	verb_is("create unique index i on t (a)", "CREATE INDEX");
	verb_is("CREATE OR REPLACE VIEW v AS SELECT ?", "CREATE VIEW");
	verb_is("drop table t", "DROP TABLE");
	verb_is("ALTER MATERIALIZED VIEW x", "ALTER");
	verb_is("(select ?)", "");
	verb_is("", "");
	tag_is("INSERT 0 1", "INSERT");
	tag_is("SELECT 5", "SELECT");
	tag_is("CREATE TABLE", "CREATE TABLE");
	tag_is("DROP TABLE", "DROP TABLE");
	tag_is("BEGIN", "BEGIN");
	tag_is("START TRANSACTION", "START");
	tag_is("DISCARD ALL", "DISCARD");
	tag_is("CREATE MATERIALIZED VIEW", "CREATE");
	tag_is("\x01weird", "");
	ck_assert_str_eq(pgsql__op_label("SELECT"), "SELECT");
	ck_assert_str_eq(pgsql__op_label("CREATE TABLE"), "CREATE TABLE");
	ck_assert_str_eq(pgsql__op_label("FROBNICATE"), "_OTHER");
	ck_assert_str_eq(pgsql__op_label(""), "_OTHER");

	coll_is("SELECT abalance FROM pgbench_accounts WHERE aid = $1", "pgbench_accounts");
	coll_is("UPDATE pgbench_tellers SET tbalance = tbalance + ? WHERE tid = ?", "pgbench_tellers");
	coll_is("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
		"pgbench_history");
	coll_is("DELETE FROM public.t WHERE a = ?", "public.t");
	coll_is("SELECT * FROM \"My T\" AS x WHERE x.a = ?", "\"My T\"");
	coll_is("CREATE TABLE IF NOT EXISTS k (a int)", "k");
	coll_is("DROP TABLE IF EXISTS k", "k");
	coll_is("TRUNCATE TABLE ONLY k", "k");
	coll_is("COPY items FROM STDIN", "items");
	coll_is("SELECT * FROM a, b", NULL);
	coll_is("SELECT * FROM a x, b y", NULL);
	coll_is("SELECT * FROM a JOIN b ON a.i = b.i", NULL);
	coll_is("SELECT * FROM a WHERE i IN (SELECT i FROM b)", NULL);
	coll_is("UPDATE a SET x = ? FROM b WHERE a.i = b.i", NULL);
	coll_is("INSERT INTO a SELECT * FROM b", NULL);
	coll_is("SELECT * FROM generate_series(?, ?)", NULL);
	coll_is("COPY (SELECT * FROM items) TO STDOUT", NULL);
	coll_is("SELECT ?", NULL);
	coll_is("BEGIN", NULL);
	coll_is("SELECT * FROM", NULL);
}
END_TEST

/* ---- describe ---- */

static const char *attr(const struct proto_desc *d, const char *key, int64_t *num)
{
	for (int i = 0; i < d->nattrs; i++)
		if (!strcmp(d->attrs[i].key, key)) {
			if (num)
				*num = d->attrs[i].num;
			return d->attrs[i].str ? d->attrs[i].str : "";
		}
	return NULL;
}

START_TEST(describe)
{
	const struct proto *p = proto__by_name("postgresql");
	struct proto_text t = { copy_clean_fn, NULL, "10.0.0.9" };
	static struct obs_exchange x;
	static struct proto_desc d;
	int64_t port = 0;

	memset(&x, 0, sizeof(x));
	x.proto = OBS_PROTO_POSTGRES;
	x.kind = OBS_X_CLIENT;
	x.status = PG_ST_ANSWERED;
	x.peer.port = 5432;
	strcpy(x.op, "SELECT");
	strcpy(x.target, "SELECT * FROM t WHERE a = ?");
	strcpy(x.host, "shop");
	strcpy(x.agent, "t");
	p->describe(&x, &t, true, &d);
	ck_assert_ptr_null(d.lost);
	ck_assert_str_eq(d.labels[0], "postgresql");
	ck_assert_str_eq(d.labels[1], "SELECT");
	ck_assert_str_eq(d.labels[2], "10.0.0.9");
	ck_assert_str_eq(d.labels[3], "");
	ck_assert_str_eq(d.name, "SELECT t");
	ck_assert(!d.error);
	ck_assert_str_eq(attr(&d, "db.system.name", NULL), "postgresql");
	ck_assert_str_eq(attr(&d, "db.namespace", NULL), "shop");
	ck_assert_str_eq(attr(&d, "db.operation.name", NULL), "SELECT");
	ck_assert_str_eq(attr(&d, "db.collection.name", NULL), "t");
	ck_assert_str_eq(attr(&d, "db.query.text", NULL), "SELECT * FROM t WHERE a = ?");
	ck_assert_str_eq(attr(&d, "server.address", NULL), "10.0.0.9");
	ck_assert_ptr_nonnull(attr(&d, "server.port", &port));
	ck_assert_int_eq(port, 5432);
	ck_assert_ptr_null(attr(&d, "db.response.status_code", NULL));

	/* a server's exchange with an error: its own address; an unknown verb; text the redactor refuses */
	x.kind = OBS_X_SERVER;
	x.local.family = AF_INET;
	x.local.port = 5433;
	memcpy(x.local.addr, "\x7f\0\0\1", 4);
	x.error = 1;
	strcpy(x.code, "42P01");
	strcpy(x.op, "FROBNICATE");
	strcpy(x.agent, "");
	strcpy(x.target, "FROBNICATE UNSCANNABLE");
	p->describe(&x, &t, true, &d);
	ck_assert_str_eq(d.labels[1], "_OTHER");
	ck_assert_str_eq(d.labels[2], "127.0.0.1");
	ck_assert_str_eq(d.labels[3], "42P01");
	ck_assert_str_eq(d.name, "FROBNICATE");
	ck_assert(d.error);
	ck_assert_str_eq(attr(&d, "db.response.status_code", NULL), "42P01");
	ck_assert_ptr_null(attr(&d, "db.query.text", NULL));
	ck_assert_ptr_null(attr(&d, "db.collection.name", NULL));
	ck_assert_str_eq(attr(&d, "server.address", NULL), "127.0.0.1");
	ck_assert_ptr_nonnull(attr(&d, "server.port", &port));
	ck_assert_int_eq(port, 5433);

	/* metrics only: labels, no attributes */
	p->describe(&x, &t, false, &d);
	ck_assert_int_eq(d.nattrs, 0);
	ck_assert_str_eq(d.labels[3], "42P01");

	/* no op known: the system names the span */
	x.op[0] = '\0';
	p->describe(&x, &t, true, &d);
	ck_assert_str_eq(d.name, "postgresql");
	ck_assert_str_eq(d.labels[1], "_OTHER");

	/* lost: unanswered, not executed */
	x.status = PG_ST_NONE;
	p->describe(&x, &t, true, &d);
	ck_assert_str_eq(d.lost, "postgres_unanswered");
	x.status = PG_ST_SKIPPED;
	p->describe(&x, &t, true, &d);
	ck_assert_str_eq(d.lost, "postgres_not_executed");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("postgres");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, detect);
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
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, normalise);
	tcase_add_test(tc, verbs_and_collections);
	tcase_add_test(tc, describe);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
