/* test_postgres_sql.c -- PostgreSQL's detection, garbage through proto_conn, SQL text (literals out, verbs, the one
 * obvious table) and describe() */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

struct seen {
	int requests, n;
	struct obs_exchange x[4];
};

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	(void)x;
	(void)in;
	((struct seen *)ctx)->requests++;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;

	if (s->n < 4)
		s->x[s->n] = *x;
	s->n++;
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

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
	struct proto_text t = { .clean = copy_clean_fn, .peer = "10.0.0.9" };
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
	Suite *s = suite_create("postgres_sql");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, detect);
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
