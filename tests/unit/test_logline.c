/* test_logline.c -- lines reassembled per thread and stream, long and cut lines, flushing, severity parsing */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal/logline.h"

struct got {
	int n;
	char text[16][LOGLINE_MAX + 1];
	int tid[16], stream[16];
	bool truncated[16];
	void *tag[16];
};

static void on_line(const struct logline *l, void *ctx)
{
	struct got *g = ctx;

	if (g->n < 16) {
		memcpy(g->text[g->n], l->text, l->len);
		g->text[g->n][l->len] = '\0';
		g->tid[g->n] = l->tid;
		g->stream[g->n] = l->stream;
		g->truncated[g->n] = l->truncated;
		g->tag[g->n] = l->tag;
	}
	g->n++;
}

static struct logline_asm *mk(struct got *g, int max_pending)
{
	struct logline_opts o = { .max_pending = max_pending };

	memset(g, 0, sizeof(*g));
	return logline_asm__new(&o, on_line, g);
}

#define FEED(a, tid, stream, t, s, tag) logline_asm__feed(a, 1, tid, stream, t, s, strlen(s), true, (void *)(tag))

START_TEST(split_and_joined)
{
	struct got g;
	struct logline_asm *a = mk(&g, 0);

	FEED(a, 10, 2, 1, "one\ntwo\r\n", 1);
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.text[0], "one");
	ck_assert_str_eq(g.text[1], "two");
	FEED(a, 10, 2, 2, "thr", 2);
	FEED(a, 11, 2, 3, "other thread\n", 3);
	FEED(a, 10, 1, 4, "stdout\n", 4);
	FEED(a, 10, 2, 5, "ee ", 5);
	FEED(a, 10, 2, 6, "parts\n\n", 6);
	ck_assert_int_eq(g.n, 5);
	ck_assert_str_eq(g.text[2], "other thread");
	ck_assert_int_eq(g.tid[2], 11);
	ck_assert_str_eq(g.text[3], "stdout");
	ck_assert_int_eq(g.stream[3], 1);
	ck_assert_str_eq(g.text[4], "three parts"); /* the empty line after it is skipped */
	ck_assert_ptr_eq(g.tag[4], (void *)2);	    /* the write that started the line */
	ck_assert(!g.truncated[4]);
	logline_asm__free(a);
}
END_TEST

START_TEST(long_and_cut)
{
	struct got g;
	struct logline_asm *a = mk(&g, 0);
	char big[3000];

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	FEED(a, 1, 2, 1, big, 1);
	FEED(a, 1, 2, 2, "tail\nnext\n", 2);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(strlen(g.text[0]), LOGLINE_MAX);
	ck_assert(g.truncated[0]);
	ck_assert_str_eq(g.text[1], "next");
	ck_assert(!g.truncated[1]);
	/* a write captured only in part: the line ends there, marked */
	logline_asm__feed(a, 1, 1, 2, 3, "partial wri", 11, false, (void *)3);
	ck_assert_int_eq(g.n, 3);
	ck_assert_str_eq(g.text[2], "partial wri");
	ck_assert(g.truncated[2]);
	logline_asm__free(a);
}
END_TEST

START_TEST(flushing_and_eviction)
{
	struct got g;
	struct logline_asm *a = mk(&g, 2);

	FEED(a, 1, 2, 1000, "old", 1);
	FEED(a, 2, 2, 1500000000ull, "young", 2);
	logline_asm__tick(a, 1500000000ull);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.text[0], "old");
	FEED(a, 3, 2, 1600000000ull, "third", 3);
	FEED(a, 4, 2, 1700000000ull, "fourth", 4); /* 2 pending max: the oldest goes out early */
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.text[1], "young");
	ck_assert_uint_eq(logline_asm__evicted(a), 1);
	logline_asm__flush_pid(a, 1);
	ck_assert_int_eq(g.n, 4);
	logline_asm__flush_all(a);
	ck_assert_int_eq(g.n, 4);
	logline_asm__free(a);
}
END_TEST

static int sev(const char *s, const char *want_text)
{
	char t[16];
	int n = logline__severity(s, strlen(s), t);

	ck_assert_msg(!strcmp(t, want_text), "'%s': text '%s', want '%s'", s, t, want_text);
	return n;
}

START_TEST(severity)
{
	ck_assert_int_eq(sev("INFO GET / 200", "INFO"), 9);
	ck_assert_int_eq(sev("[ERROR] disk full", "ERROR"), 17);
	ck_assert_int_eq(sev("2026-11-22T10:00:00Z WARN slow", "WARN"), 13);
	ck_assert_int_eq(sev("2026/11/22 10:00:00 [error] 12#12: open() failed", "ERROR"), 17);
	ck_assert_int_eq(sev("warning: deprecated", "WARN"), 13);
	ck_assert_int_eq(sev("ERROR:root:boom", "ERROR"), 17);
	ck_assert_int_eq(sev("debug x", "DEBUG"), 5);
	ck_assert_int_eq(sev("{\"level\":\"error\",\"msg\":\"x\"}", "ERROR"), 17);
	ck_assert_int_eq(sev("{\"severity\":\"WARNING\"}", "WARN"), 13);
	ck_assert_int_eq(sev("{\"level\":30,\"msg\":\"pino\"}", "INFO"), 9);
	ck_assert_int_eq(sev("{\"level\":60}", "FATAL"), 21);
	ck_assert_int_eq(sev("127.0.0.1 - - [22/Nov/2026 10:00:00] \"GET / HTTP/1.1\" 200 -", ""), 0);
	ck_assert_int_eq(sev("information is not a level", ""), 0);
	ck_assert_int_eq(sev("", ""), 0);
}
END_TEST

START_TEST(garbage)
{
	struct got g;
	struct logline_asm *a = mk(&g, 8);
	unsigned seed = 3;
	char buf[300], t[16];

	for (int it = 0; it < 100000; it++) {
		size_t n;

		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % sizeof(buf);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (seed >> 24) % 5 == 0 ? '\n' : (char)(seed >> 16);
		}
		g.n = 0;
		logline_asm__feed(a, it % 3, it % 11, 1 + it % 2, it, buf, n, it % 7, NULL);
		logline__severity(buf, n, t);
		if (it % 1000 == 0)
			logline_asm__tick(a, it + 2000000000ull);
	}
	logline_asm__flush_all(a);
	logline_asm__free(a);
}
END_TEST

/* with tag_size, a line keeps a copy of its first write's tag: the caller's buffer is reused at once */
static char tag_seen[16][8];

static void on_tagged(const struct logline *l, void *ctx)
{
	struct got *g = ctx;

	if (g->n < 16 && l->tag)
		memcpy(tag_seen[g->n], l->tag, 8);
	on_line(l, ctx);
}

START_TEST(tag_copied_with_the_line)
{
	struct logline_opts o = { .tag_size = 8 };
	struct got g = { 0 };
	struct logline_asm *a = logline_asm__new(&o, on_tagged, &g);
	char tag[8] = "first";

	logline_asm__feed(a, 1, 10, 1, 1, "held ", 5, true, tag);
	for (int i = 0; i < 10; i++) {
		snprintf(tag, sizeof(tag), "other%d", i);
		logline_asm__feed(a, 2, 20, 1, 2, "x\n", 2, true, tag);
	}
	strcpy(tag, "last");
	logline_asm__feed(a, 1, 10, 1, 3, "line\n", 5, true, tag);
	ck_assert_int_eq(g.n, 11);
	ck_assert_str_eq(g.text[10], "held line");
	ck_assert_str_eq(tag_seen[10], "first");
	ck_assert_str_eq(tag_seen[9], "other9");
	logline_asm__feed(a, 1, 10, 1, 4, "no tag\n", 7, true, NULL);
	ck_assert_int_eq(g.n, 12);
	ck_assert_ptr_null(g.tag[11]);
	logline_asm__free(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logline");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, split_and_joined);
	tcase_add_test(tc, long_and_cut);
	tcase_add_test(tc, flushing_and_eviction);
	tcase_add_test(tc, severity);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, tag_copied_with_the_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
