/* redis_seen.h -- what test_redis.c and test_redis_describe.c share: a proto_conn whose sink logs every Redis
 * exchange ("K OP|TARGET|DB|status|code[!];"), reset by start(), fed by put() */
#ifndef OBSPROBE_TEST_REDIS_SEEN_H
#define OBSPROBE_TEST_REDIS_SEEN_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lib/proto/conn.h"

struct seen {
	int requests, exchanges;
	char log[16384]; /* per exchange: "K OP|TARGET|DB|status|code[!];" (K: S/C; '!' incomplete) */
	struct obs_exchange last;
	struct obs_exchange all[200];
};

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct seen *s = ctx;

	ck_assert(!in->valid);
	s->requests++;
	x->pid = 7;
	x->tid = 8;
	memset(x->span_id, s->requests, 8); /* ids the receiver gives: they must come back with the exchange */
	x->sampled = 1;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	if (s->exchanges < 200)
		s->all[s->exchanges] = *x;
	s->exchanges++;
	s->last = *x;
	ck_assert_int_eq(x->pid, 7);
	ck_assert_int_eq(x->tid, 8);
	snprintf(s->log + n, sizeof(s->log) - n, "%c %s|%s|%s|%c|%s%s;", x->kind == OBS_X_SERVER ? 'S' : 'C', x->op,
		 x->target, x->host, x->status ? x->status : '0', x->code, x->incomplete ? "!" : "");
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };
static struct proto_conn pc;
static struct seen sn;

static void start(void)
{
	memset(&sn, 0, sizeof(sn));
	proto_conn__init(&pc, &sink, &sn);
	pc.local = (struct obs_addr){ .family = 2, .port = 40000, .addr = { 127, 0, 0, 1 } };
	pc.peer = (struct obs_addr){ .family = 2, .port = 6379, .addr = { 127, 0, 0, 2 } };
}

static enum proto_verdict put(enum proto_dir dir, const char *s)
{
	return proto_conn__feed(&pc, dir, s, strlen(s), strlen(s), 1000);
}

#endif
