/* httpcap.c -- eBPF path: payload, connection and call events become HTTP exchanges and log lines */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/httpcap.h"
#include "lib/proto/httpconn.h"
#include "abi/syscalls.h"
#include "lib/clock.h"

#define MAX_QUEUED 200000 /* events held for reordering */

struct held {
	uint64_t key; /* syscall entry time (ns, CLOCK_MONOTONIC) */
	uint64_t seq; /* arrival order: ties keep it */
	uint32_t size;
	uint8_t rec[]; /* the event as the ring held it */
};

struct conn {
	uint64_t sk;
	uint64_t last_ns;
	int pid, tid; /* the thread whose bytes are being fed */
	struct httpcap *cap;
	struct httpconn hc;
};

struct httpcap {
	struct httpcap_opts opts;
	struct held **q;
	size_t nq, capq;
	uint64_t seq, dropped;
	struct conn **conns;
	int nconns;
};

/* ---- connections ---- */

static void on_request(void *ctx, struct http_exchange *x, const struct trace_ctx *in)
{
	struct conn *cn = ctx;

	x->pid = cn->pid;
	x->tid = cn->tid;
	traces__start_exchange(cn->cap->opts.traces, x, in);
}

static void on_exchange(void *ctx, struct http_exchange *x)
{
	struct conn *cn = ctx;
	struct span_resource res = { 0 };

	cn->cap->opts.resource(cn->cap->opts.ctx, x->pid, &res);
	traces__end_exchange(cn->cap->opts.traces, x, &res);
}

static const struct httpconn_cb conn_cb = { .on_request = on_request, .on_exchange = on_exchange };

static struct conn *conn_find(struct httpcap *c, uint64_t sk)
{
	for (int i = 0; i < c->nconns; i++)
		if (c->conns[i]->sk == sk)
			return c->conns[i];
	return NULL;
}

static void conn_drop(struct httpcap *c, int i, bool close)
{
	struct conn *cn = c->conns[i];

	if (close)
		httpconn__close(&cn->hc, cn->last_ns);
	free(cn);
	c->conns[i] = c->conns[--c->nconns];
}

static struct conn *conn_get(struct httpcap *c, uint64_t sk, uint64_t now)
{
	struct conn *cn = conn_find(c, sk);
	int oldest = 0;

	if (cn)
		return cn;
	if (c->nconns == c->opts.max_conns) {
		/* full: the connection idle the longest ends (its pending exchanges with it) */
		for (int i = 1; i < c->nconns; i++)
			if (c->conns[i]->last_ns < c->conns[oldest]->last_ns)
				oldest = i;
		conn_drop(c, oldest, true);
	}
	cn = calloc(1, sizeof(*cn));
	if (!cn)
		return NULL;
	cn->sk = sk;
	cn->cap = c;
	cn->last_ns = now;
	httpconn__init(&cn->hc, &conn_cb, cn);
	c->conns[c->nconns++] = cn;
	return cn;
}

static void conn_addr(struct httpx_addr *a, uint8_t family, uint16_t port, const uint8_t addr[16])
{
	a->family = family;
	a->port = port;
	memcpy(a->addr, addr, 16);
}

static void handle_conn(struct httpcap *c, const struct obs_conn_event *e)
{
	struct conn *cn;
	int i;

	for (i = 0; i < c->nconns && c->conns[i]->sk != e->sk; i++)
		;
	if (e->type == OBS_EV_CLOSE) {
		if (i < c->nconns) {
			c->conns[i]->last_ns = e->ts;
			conn_drop(c, i, true);
		}
		return;
	}
	if (i < c->nconns) /* a new connection on a recycled struct sock */
		conn_drop(c, i, true);
	cn = conn_get(c, e->sk, e->ts);
	if (!cn)
		return;
	cn->pid = e->pid;
	conn_addr(&cn->hc.local, e->family == 2 ? 2 : 10, e->lport, e->laddr);
	conn_addr(&cn->hc.peer, e->family == 2 ? 2 : 10, e->rport, e->raddr);
}

static void handle_socket_data(struct httpcap *c, const struct obs_data_event *e, const uint8_t *data)
{
	struct conn *cn;
	const struct http_parser *in, *out;

	if (!c->opts.traces) /* --no-http: only log lines were asked for */
		return;
	cn = conn_get(c, e->sk, e->exit_ns);
	if (!cn)
		return;
	cn->pid = e->pid;
	cn->tid = e->tid;
	cn->last_ns = e->exit_ns;
	if (!cn->hc.local.family && (e->family == 2 || e->family == 10)) {
		/* opened before we attached: the addresses come with its bytes */
		conn_addr(&cn->hc.local, e->family, e->lport, e->laddr);
		conn_addr(&cn->hc.peer, e->family, e->rport, e->raddr);
	}
	/* a read's bytes exist when it returns; a write's when it starts */
	httpconn__data(&cn->hc, e->dir == SC_RECEIVE ? HTTPCONN_IN : HTTPCONN_OUT, data, e->caplen, e->total,
		       e->exit_ns);
	in = &cn->hc.parser[HTTPCONN_IN];
	out = &cn->hc.parser[HTTPCONN_OUT];
	if (cn->hc.role == HTTPCONN_UNKNOWN && in->errors + out->errors >= 2) {
		/* not HTTP (redis, TLS, a database): stop paying for its bytes */
		if (c->opts.no_http)
			c->opts.no_http(c->opts.ctx, e->sk);
		for (int i = 0; i < c->nconns; i++)
			if (c->conns[i] == cn) {
				conn_drop(c, i, false);
				break;
			}
	}
}

/* ---- logs ---- */

static void handle_log_data(struct httpcap *c, const struct obs_data_event *e, const uint8_t *data)
{
	uint8_t tid[16], sid[8];
	struct span_resource res = { 0 };
	bool in = c->opts.traces && traces__current(c->opts.traces, e->pid, e->tid, tid, sid);

	c->opts.resource(c->opts.ctx, e->pid, &res);
	logs__write(c->opts.logs, e->pid, e->tid, e->stream, e->enter_ns, data, e->caplen, e->caplen == e->total,
		    in ? tid : NULL, in ? sid : NULL, &res);
}

/* ---- the reorder queue ---- */

static uint64_t event_key(const void *rec, size_t size)
{
	const struct obs_data_event *d = rec;
	const struct obs_conn_event *ce = rec;

	if (size >= sizeof(*d) && d->type == OBS_EV_DATA)
		return d->dir == SC_TRANSMIT ? d->enter_ns : d->exit_ns;
	if (size >= sizeof(*ce) && (ce->type == OBS_EV_CONN || ce->type == OBS_EV_CLOSE))
		return ce->ts;
	if (size >= sizeof(struct fl_call_event) && ((const struct fl_call_event *)rec)->type == OBS_EV_CALL)
		return ((const struct fl_call_event *)rec)->start_ns;
	return 0;
}

static void hold(struct httpcap *c, const void *rec, size_t size, const char *fn, const char *obj)
{
	size_t extra = fn ? strlen(fn) + strlen(obj) + 2 : 0;
	struct held *h;

	if (c->nq == MAX_QUEUED) {
		c->dropped++;
		series__add(metrics__series(c->opts.metrics, FAM_EVENTS_LOST, (const char *[]){ "ebpf", "reorder_full" }),
			    1);
		return;
	}
	if (c->nq == c->capq) {
		size_t ncap = c->capq ? c->capq * 2 : 1024;
		struct held **nq = realloc(c->q, ncap * sizeof(*nq));

		if (!nq)
			return;
		c->q = nq;
		c->capq = ncap;
	}
	h = malloc(sizeof(*h) + size + extra);
	if (!h)
		return;
	h->key = event_key(rec, size);
	h->seq = c->seq++;
	h->size = size;
	memcpy(h->rec, rec, size);
	if (fn) { /* a call event carries its names behind it */
		strcpy((char *)h->rec + size, fn);
		strcpy((char *)h->rec + size + strlen(fn) + 1, obj);
	}
	c->q[c->nq++] = h;
}

void httpcap__event(struct httpcap *c, const void *rec, size_t size)
{
	hold(c, rec, size, NULL, NULL);
}

void httpcap__call(struct httpcap *c, const struct fl_call_event *e, const char *function, const char *object)
{
	hold(c, e, sizeof(*e), function, object);
}

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = *(struct held *const *)a, *y = *(struct held *const *)b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void process(struct httpcap *c, const struct held *h)
{
	const struct obs_data_event *d = (const void *)h->rec;

	if (h->size >= sizeof(struct obs_data_event) && d->type == OBS_EV_DATA) {
		if (sizeof(*d) + d->caplen > h->size)
			return;
		if (d->stream == OBS_STREAM_SOCKET)
			handle_socket_data(c, d, h->rec + sizeof(*d));
		else
			handle_log_data(c, d, h->rec + sizeof(*d));
	} else if (h->size >= sizeof(struct obs_conn_event) && (d->type == OBS_EV_CONN || d->type == OBS_EV_CLOSE)) {
		handle_conn(c, (const void *)h->rec);
	} else if (h->size >= sizeof(struct fl_call_event) && d->type == OBS_EV_CALL) {
		const struct fl_call_event *e = (const void *)h->rec;
		const char *fn = (const char *)h->rec + h->size;
		struct span_resource res = { 0 };

		c->opts.resource(c->opts.ctx, e->pid, &res);
		if (c->opts.traces)
			traces__call(c->opts.traces, e->pid, e->tid, e->start_ns, e->end_ns, fn, fn + strlen(fn) + 1, &res);
	}
}

void httpcap__flush(struct httpcap *c, bool all)
{
	uint64_t now = mono_ns(), limit = all ? UINT64_MAX : now - c->opts.window_ns;
	size_t n = 0;

	qsort(c->q, c->nq, sizeof(*c->q), cmp_held);
	while (n < c->nq && c->q[n]->key <= limit) {
		process(c, c->q[n]);
		free(c->q[n]);
		n++;
	}
	memmove(c->q, c->q + n, (c->nq - n) * sizeof(*c->q));
	c->nq -= n;
	logs__tick(c->opts.logs, all);
}

void httpcap__forget_pid(struct httpcap *c, int pid)
{
	if (c->opts.traces)
		traces__forget_pid(c->opts.traces, pid);
}

uint64_t httpcap__dropped(const struct httpcap *c)
{
	return c->dropped;
}

struct httpcap *httpcap__new(const struct httpcap_opts *opts)
{
	struct httpcap *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->opts = *opts;
	if (!c->opts.window_ns)
		c->opts.window_ns = 20 * 1000 * 1000;
	if (!c->opts.max_conns)
		c->opts.max_conns = 4096;
	c->conns = calloc(c->opts.max_conns, sizeof(*c->conns));
	if (!c->conns) {
		httpcap__free(c);
		return NULL;
	}
	return c;
}

void httpcap__free(struct httpcap *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nq; i++)
		free(c->q[i]);
	free(c->q);
	while (c->nconns)
		conn_drop(c, c->nconns - 1, false);
	free(c->conns);
	free(c);
}
