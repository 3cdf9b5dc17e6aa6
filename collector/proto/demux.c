/* demux.c -- eBPF path: payload events go to one proto_conn per socket (and one more for the TLS plaintext
 * read and written on it) as they leave the ring; what the parsers decide, log lines and --func calls are put
 * back in causal order; exchanges and log lines out.
 *
 * A connection's bytes are in order in the ring (a socket's reads and writes are one thread's syscalls, in
 * turn), so they are parsed at once, while they are in the cache, and never copied.  Only the trace decisions
 * need the order across processes: a server's request joins the span of a traced client on the other end,
 * which the ring may give after it (the server's read can return before the client's write); an outbound
 * call and a log line take what their thread serves.  So each request's start and each exchange's end is
 * held as a compact operation in the reorder queue, keyed like the record that made it, with the log and
 * call records; popped in key order they meet the tables in causal order, as the records once did.  The
 * parser has the request's ids when it asks (traces__provisional: its own context, else a new trace); the
 * causal ones, decided when the start is popped, are kept by span id until the end is popped. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi/syscalls.h"
#include "lib/clock.h"
#include "base/log.h"
#include "lib/proto/conn.h"
#include "proto/demux.h"
#include "proto/demux_ops.h"
#include "proto/h2_session.h"
#include "proto/reorder.h"

struct conn {
	struct conn *next; /* the hash chain */
	int idx;	   /* in d->conns */
	uint64_t sk;
	uint64_t last_ns;
	uint64_t last_key; /* of its last operation held: its start comes out before its end */
	int pid, tid;	   /* the thread whose bytes are being fed */
	bool tls;	   /* the TLS plaintext of socket sk (OBS_STREAM_TLS), not its own bytes */
	bool cipher;	   /* its own bytes are TLS records: ignored, never parsed */
	struct demux *d;
	struct h2_session *h2;		 /* HTTP/2: its streams and HPACK tables, from the first framed event */
	struct h2_session_stats h2_seen; /* what of its stats is counted already */
	struct proto_conn pc;
};

struct demux {
	struct demux_opts opts;
	struct reorder *q;
	struct conn **conns;
	int nconns;
	struct conn **hash; /* by (sk, tls): chains, a power of two at least twice max_conns */
	uint32_t hmask;
	struct h2_session_stats h2_lost; /* all connections' (said at exit) */
	uint64_t key;			 /* the record being parsed: its causal key */
	struct causal_ids ids;		 /* of the requests started, until their ends are popped */
};

/* ---- connections ---- */

static void hold(struct demux *d, uint64_t key, const void *rec, size_t size, const void *tail, size_t tlen);

/* the key of @cn's next operation: the record's, never below one it held before */
static uint64_t conn_key(struct conn *cn)
{
	if (cn->last_key < cn->d->key)
		cn->last_key = cn->d->key;
	return cn->last_key;
}

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	struct conn *cn = ctx;
	struct op_start o;

	x->pid = cn->pid;
	x->tid = cn->tid;
	if (cn->tls)
		x->flags |= OBS_X_F_TLS;
	traces__provisional(cn->d->opts.traces, x, in);
	memset(&o, 0, sizeof(o));
	o.type = OP_START;
	o.pid = x->pid;
	o.tid = x->tid;
	o.stream = x->stream;
	o.kind = x->kind;
	o.start_ns = x->start_ns;
	memcpy(o.span_id, x->span_id, 8);
	memcpy(o.trace_id, x->trace_id, 16);
	o.local = x->local;
	o.peer = x->peer;
	memcpy(o.in, in, sizeof(o.in));
	hold(cn->d, conn_key(cn), &o, sizeof(o), NULL, 0);
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	struct conn *cn = ctx;
	_Alignas(8) uint8_t buf[OP_END_MAX];

	if (cn->tls)
		x->flags |= OBS_X_F_TLS;
	hold(cn->d, conn_key(cn), buf, op_end__pack(buf, x), NULL, 0);
}

/* popped in causal order: the request's causal ids (kept for its end), then the exchange with them */
static void start_op(struct demux *d, const struct op_start *o)
{
	struct obs_exchange x;
	struct trace_ctx in;

	memset(&x, 0,
	       offsetof(struct obs_exchange,
			op)); /* what traces__start_exchange reads and writes is there, and stream */
	x.kind = o->kind;
	x.pid = o->pid;
	x.tid = o->tid;
	x.stream = o->stream;
	x.start_ns = o->start_ns;
	memcpy(x.span_id, o->span_id, 8);
	memcpy(x.trace_id, o->trace_id, 16);
	x.local = o->local;
	x.peer = o->peer;
	memcpy(&in, o->in, sizeof(o->in));
	in.tracestate[0] = in.baggage[0] = '\0';
	traces__start_exchange(d->opts.traces, &x, &in);
	causal_ids__put(&d->ids, &x);
}

static void end_op(struct demux *d, const void *rec, size_t size)
{
	struct obs_exchange x;
	struct span_resource res = { 0 };

	if (!op_end__unpack(&x, rec, size))
		return;
	causal_ids__take(&d->ids, &x);
	d->opts.resource(d->opts.ctx, x.pid, &res);
	traces__end_exchange(d->opts.traces, &x, &res);
}

/* what an HTTP/2 session could not decode or follow: obsprobe_events_lost_total */
static void h2_count(struct conn *cn)
{
	struct demux *d = cn->d;
	struct h2_session_stats now;
	const struct {
		uint64_t now, seen;
		uint64_t *total;
		const char *reason;
	} r[] = {
		{ 0, cn->h2_seen.blocks_lost, &d->h2_lost.blocks_lost, "http2_hpack_lost" },
		{ 0, cn->h2_seen.streams_lost, &d->h2_lost.streams_lost, "http2_stream_lost" },
		{ 0, cn->h2_seen.streams_overflow, &d->h2_lost.streams_overflow, "http2_stream_overflow" },
	};
	uint64_t vals[3];

	h2_session__stats(cn->h2, &now);
	vals[0] = now.blocks_lost, vals[1] = now.streams_lost, vals[2] = now.streams_overflow;
	for (int i = 0; i < 3; i++)
		if (vals[i] > r[i].seen) {
			series__add(metrics__series(d->opts.metrics, FAM_EVENTS_LOST,
						    (const char *[]){ "ebpf", r[i].reason }),
				    vals[i] - r[i].seen);
			*r[i].total += vals[i] - r[i].seen;
		}
	cn->h2_seen = now;
}

static const struct proto_sink h2_sink = { .on_request = on_request, .on_exchange = on_exchange };

/* HTTP/2's framed events: the connection's session makes the exchanges */
static void on_h2(void *ctx, const struct h2_ev *ev, const void *block)
{
	struct conn *cn = ctx;

	if (!cn->h2) {
		cn->h2 = h2_session__new(&h2_sink, cn, &cn->pc.local, &cn->pc.peer);
		if (!cn->h2)
			return;
	}
	h2_session__event(cn->h2, ev, block);
	h2_count(cn);
}

static const struct proto_sink conn_sink = { .on_request = on_request, .on_exchange = on_exchange, .on_h2 = on_h2 };

static struct conn **conn_chain(struct demux *d, uint64_t sk, bool tls)
{
	uint64_t h = (sk ^ (uint64_t)tls) * 0x9E3779B97F4A7C15ull;

	return &d->hash[(h >> 32) & d->hmask];
}

static void conn_drop(struct demux *d, struct conn *cn, bool close)
{
	struct conn **pp = conn_chain(d, cn->sk, cn->tls);

	if (close)
		proto_conn__close(&cn->pc, cn->last_ns);
	if (cn->h2) {
		if (close)
			h2_session__close(cn->h2, cn->last_ns);
		h2_count(cn);
		h2_session__free(cn->h2);
	}
	while (*pp != cn)
		pp = &(*pp)->next;
	*pp = cn->next;
	d->conns[cn->idx] = d->conns[--d->nconns];
	d->conns[cn->idx]->idx = cn->idx;
	free(cn);
}

static struct conn *conn_find(struct demux *d, uint64_t sk, bool tls)
{
	for (struct conn *cn = *conn_chain(d, sk, tls); cn; cn = cn->next)
		if (cn->sk == sk && cn->tls == tls)
			return cn;
	return NULL;
}

static struct conn *conn_get(struct demux *d, uint64_t sk, bool tls, uint64_t now)
{
	struct conn *cn = conn_find(d, sk, tls), **chain;
	int oldest = 0;

	if (cn)
		return cn;
	if (d->nconns == d->opts.max_conns) {
		/* full: the connection idle the longest ends (its pending exchanges with it) */
		for (int i = 1; i < d->nconns; i++)
			if (d->conns[i]->last_ns < d->conns[oldest]->last_ns)
				oldest = i;
		conn_drop(d, d->conns[oldest], true);
	}
	cn = malloc(sizeof(*cn));
	if (!cn)
		return NULL;
	memset(cn, 0, offsetof(struct conn, pc));
	cn->sk = sk;
	cn->tls = tls;
	cn->d = d;
	cn->last_ns = now;
	proto_conn__init(&cn->pc, &conn_sink, cn);
	chain = conn_chain(d, sk, tls);
	cn->next = *chain;
	*chain = cn;
	cn->idx = d->nconns;
	d->conns[d->nconns++] = cn;
	return cn;
}

static void conn_addr(struct obs_addr *a, uint8_t family, uint16_t port, const uint8_t addr[16])
{
	a->family = family;
	a->pad = 0;
	a->port = port;
	memcpy(a->addr, addr, 16);
}

static void handle_conn(struct demux *d, const struct obs_conn_event *e)
{
	struct conn *cn;

	/* closed, or a new connection on a recycled struct sock: what was parsed on it ends */
	for (int tls = 0; tls < 2; tls++) {
		struct conn *old = conn_find(d, e->sk, tls);

		if (old) {
			old->last_ns = e->ts;
			conn_drop(d, old, true);
		}
	}
	if (e->type == OBS_EV_CLOSE)
		return;
	cn = conn_get(d, e->sk, false, e->ts);
	if (!cn)
		return;
	cn->pid = e->pid;
	conn_addr(&cn->pc.local, e->family == 2 ? 2 : 10, e->lport, e->laddr);
	conn_addr(&cn->pc.peer, e->family == 2 ? 2 : 10, e->rport, e->raddr);
}

/* a TLS record header (RFC 8446 5.1): change_cipher_spec, alert, handshake or application_data, version
 * 3.x, a length TLS allows */
static bool tls_record(const uint8_t *p, size_t len)
{
	return len >= 5 && p[0] >= 20 && p[0] <= 23 && p[1] == 3 && p[2] <= 4 && (p[3] << 8 | p[4]) <= 16384 + 2048;
}

static void capture(struct demux *d, uint64_t sk, bool tls, uint32_t caplen)
{
	if (d->opts.capture)
		d->opts.capture(d->opts.ctx, sk, tls ? SC_CAPV(SC_CAPV_KEEP, caplen) : SC_CAPV(caplen, SC_CAPV_KEEP));
}

/* the socket carries TLS: its own bytes are ciphertext, never parsed (no exchanges, strikes or incomplete
 * ones from them); the kernel stops copying them, the plaintext still flows */
static void cipher(struct demux *d, struct conn *cn)
{
	if (cn->cipher)
		return;
	cn->cipher = true;
	capture(d, cn->sk, false, 0);
}

static void feed(struct demux *d, struct conn *cn, const struct obs_data_event *e, const uint8_t *data)
{
	enum proto_verdict v;

	cn->pid = e->pid;
	cn->tid = e->tid;
	cn->last_ns = e->exit_ns;
	if ((cn->tls || !cn->pc.local.family) && (e->family == 2 || e->family == 10)) {
		/* opened before we attached: the addresses come with its bytes */
		conn_addr(&cn->pc.local, e->family, e->lport, e->laddr);
		conn_addr(&cn->pc.peer, e->family, e->rport, e->raddr);
	}
	/* a read's bytes exist when it returns; a write's when it starts */
	v = proto_conn__feed(&cn->pc, e->dir == SC_RECEIVE ? PROTO_IN : PROTO_OUT, data, e->caplen, e->total,
			     e->exit_ns);
	if (v == PROTO_CLAIMED && cn->pc.proto->caplen)
		capture(d, e->sk, cn->tls, cn->pc.proto->caplen);
	if (v == PROTO_OFF) {
		/* nothing we parse (a database we have no parser for): stop paying for its bytes */
		capture(d, e->sk, cn->tls, 0);
		conn_drop(d, cn, false);
	}
}

static void handle_socket_data(struct demux *d, const struct obs_data_event *e, const uint8_t *data)
{
	struct conn *cn;

	if (!d->opts.traces) /* --no-http: only log lines were asked for */
		return;
	cn = conn_get(d, e->sk, false, e->exit_ns);
	if (!cn || cn->cipher)
		return;
	if (tls_record(data, e->caplen)) { /* (plaintext seen on it marked it already) */
		/* a handshake, or after PostgreSQL's SSLRequest: what its parser saw so far is forgotten */
		cn->last_ns = e->exit_ns;
		cipher(d, cn);
		return;
	}
	feed(d, cn, e, data);
}

/* TLS plaintext read or written on socket e->sk: its own parser, from the first plaintext on (PostgreSQL's
 * StartupMessage follows its SSLRequest there) */
static void handle_tls_data(struct demux *d, const struct obs_data_event *e, const uint8_t *data)
{
	struct conn *cn, *sock;

	if (!d->opts.traces || !e->sk)
		return;
	sock = conn_get(d, e->sk, false, e->exit_ns);
	if (sock)
		cipher(d, sock);
	cn = conn_get(d, e->sk, true, e->exit_ns);
	if (cn)
		feed(d, cn, e, data);
}

/* ---- logs ---- */

static void handle_log_data(struct demux *d, const struct obs_data_event *e, const uint8_t *data)
{
	uint8_t tid[16], sid[8];
	struct span_resource res = { 0 };
	bool in = d->opts.traces && traces__current(d->opts.traces, e->pid, e->tid, tid, sid);

	d->opts.resource(d->opts.ctx, e->pid, &res);
	logs__write(d->opts.logs, e->pid, e->tid, e->stream, e->enter_ns, data, e->caplen, e->caplen == e->total,
		    in ? tid : NULL, in ? sid : NULL, &res);
}

/* ---- events ---- */

static uint64_t event_key(const void *rec, size_t size)
{
	const struct obs_data_event *de = rec;
	const struct obs_conn_event *ce = rec;

	if (size >= sizeof(*de) && de->type == OBS_EV_DATA)
		return de->dir == SC_TRANSMIT ? de->enter_ns : de->exit_ns;
	if (size >= sizeof(*ce) && (ce->type == OBS_EV_CONN || ce->type == OBS_EV_CLOSE))
		return ce->ts;
	if (size >= sizeof(struct fl_call_event) && ((const struct fl_call_event *)rec)->type == OBS_EV_CALL)
		return ((const struct fl_call_event *)rec)->start_ns;
	return 0;
}

static void hold(struct demux *d, uint64_t key, const void *rec, size_t size, const void *tail, size_t tlen)
{
	if (!reorder__push(d->q, key, rec, size, tail, tlen))
		series__add(metrics__series(d->opts.metrics, FAM_EVENTS_LOST,
					    (const char *[]){ "ebpf", "reorder_full" }),
			    1);
}

/* a connection's bytes and its opening and closing: at once, in ring order */
void demux__event(struct demux *d, const void *rec, size_t size)
{
	const struct obs_data_event *de = rec;

	if (size >= sizeof(*de) && de->type == OBS_EV_DATA) {
		if (sizeof(*de) + de->caplen > size)
			return;
		if (de->stream != OBS_STREAM_SOCKET && de->stream != OBS_STREAM_TLS) {
			hold(d, event_key(rec, size), rec, size, NULL, 0); /* a log write: in causal order */
			return;
		}
		d->key = event_key(rec, size);
		if (de->stream == OBS_STREAM_SOCKET)
			handle_socket_data(d, de, (const uint8_t *)rec + sizeof(*de));
		else
			handle_tls_data(d, de, (const uint8_t *)rec + sizeof(*de));
	} else if (size >= sizeof(struct obs_conn_event) && (de->type == OBS_EV_CONN || de->type == OBS_EV_CLOSE)) {
		d->key = event_key(rec, size);
		handle_conn(d, rec);
	}
}

void demux__call(struct demux *d, const struct fl_call_event *e, const char *function, const char *object)
{
	size_t fl = strlen(function) + 1, ol = strlen(object) + 1;
	char buf[512], *names = fl + ol <= sizeof(buf) ? buf : malloc(fl + ol);

	if (!names)
		return;
	/* a call event carries its names behind it */
	memcpy(names, function, fl);
	memcpy(names + fl, object, ol);
	hold(d, e->start_ns, e, sizeof(*e), names, fl + ol);
	if (names != buf)
		free(names);
}

/* what the queue gives back, in causal order */
static void process(void *ctx, const void *rec, size_t size)
{
	struct demux *d = ctx;
	const struct obs_data_event *de = rec;
	uint32_t type = de->type; /* every held record starts with its type */

	if (type == OP_START && size == sizeof(struct op_start)) {
		start_op(d, rec);
	} else if (type == OP_END && size >= sizeof(struct op_end)) {
		end_op(d, rec, size);
	} else if (type == OBS_EV_DATA && size >= sizeof(*de)) {
		handle_log_data(d, de, (const uint8_t *)rec + sizeof(*de));
	} else if (type == OBS_EV_CALL && size > sizeof(struct fl_call_event)) {
		const struct fl_call_event *e = rec;
		const char *fn = (const char *)rec + sizeof(*e), *end = (const char *)rec + size;
		const char *obj = memchr(fn, '\0', end - fn);
		struct span_resource res = { 0 };

		if (!obj || !memchr(obj + 1, '\0', end - obj - 1))
			return;
		obj++;
		d->opts.resource(d->opts.ctx, e->pid, &res);
		if (d->opts.traces)
			traces__call(d->opts.traces, e->pid, e->tid, e->start_ns, e->end_ns, fn, obj, &res);
	}
}

void demux__drain(struct demux *d)
{
	if (reorder__bytes(d->q) > DEMUX_DRAIN_BYTES)
		reorder__pop(d->q, mono_ns() - d->opts.window_ns, process, d);
}

void demux__flush(struct demux *d, bool all)
{
	uint64_t limit = all ? UINT64_MAX : mono_ns() - d->opts.window_ns;

	reorder__pop(d->q, limit, process, d);
	logs__tick(d->opts.logs, all);
	if (!all)
		causal_ids__sweep(&d->ids, limit);
	if (all && (d->h2_lost.blocks_lost || d->h2_lost.streams_lost || d->h2_lost.streams_overflow))
		elog("WARNING: HTTP/2: %llu header blocks not decoded (connections seen mid-way or framing lost), %llu "
		     "streams lost (their head or answer could not be followed), %llu over the %s "
		     "(obsprobe_events_lost_total)",
		     (unsigned long long)d->h2_lost.blocks_lost, (unsigned long long)d->h2_lost.streams_lost,
		     (unsigned long long)d->h2_lost.streams_overflow, "concurrent-stream cap");
}

void demux__forget_pid(struct demux *d, int pid)
{
	if (d->opts.traces)
		traces__forget_pid(d->opts.traces, pid);
}

struct demux *demux__new(const struct demux_opts *opts)
{
	struct demux *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->opts = *opts;
	if (!d->opts.window_ns)
		d->opts.window_ns = 20 * 1000 * 1000;
	if (!d->opts.max_conns)
		d->opts.max_conns = 4096;
	d->conns = calloc(d->opts.max_conns, sizeof(*d->conns));
	for (d->hmask = 1; d->hmask < (uint32_t)d->opts.max_conns * 2;)
		d->hmask <<= 1;
	d->hash = calloc(d->hmask--, sizeof(*d->hash));
	d->q = reorder__new(0);
	if (!d->conns || !d->hash || !d->q) {
		demux__free(d);
		return NULL;
	}
	return d;
}

void demux__free(struct demux *d)
{
	if (!d)
		return;
	reorder__free(d->q);
	while (d->nconns)
		conn_drop(d, d->conns[d->nconns - 1], false);
	causal_ids__free(&d->ids);
	free(d->conns);
	free(d->hash);
	free(d);
}
