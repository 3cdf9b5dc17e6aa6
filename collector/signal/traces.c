/* traces.c -- exchanges of any protocol and function calls become RED metrics, spans and per-thread trace
 * context: the one place both capture paths' exchanges turn into signals (what the protocol's describe()
 * says, plus the ids, times and resource) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "base/log.h"
#include "export/otlp.h"
#include "export/otlp_json.h"
#include "base/privs.h"
#include "lib/proto/registry.h"
#include "lib/hex.h"
#include "lib/randid.h"
#include "lib/sampler.h"
#include "signal/traces.h"
#include "lib/clock.h"

#define THREAD_SLOTS 16384 /* direct-mapped: (pid, tid) -> the request it serves */
#define JOIN_SLOTS 4096	   /* direct-mapped: connection 4-tuple -> the client span on it */
#define JOIN_KEY 41	   /* family, ports, addresses; the HTTP/2 stream (0 for protocols without streams) */

struct serving {
	uint64_t key;		   /* pid << 32 | tid; 0 = free */
	uint64_t start_ns, end_ns; /* end_ns 0 while the request is in flight */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t sampled;
};

struct join {
	uint8_t key[JOIN_KEY];
	uint8_t used;
	uint8_t sampled;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint64_t start_ns; /* the client's request: a server request much later is another connection's */
};

#define JOIN_MAX_AGE_NS (10 * 1000000000ull)

struct traces {
	struct traces_opts opts;
	FILE *spans_file;
	struct ratelimit limit;
	struct serving threads[THREAD_SLOTS];
	struct join joins[JOIN_SLOTS];
	struct exporter_stats last_exp;
	struct traces_stats st;
	struct otlp_buf line;
};

static int64_t mono_to_unix_offset;

uint64_t traces__to_unix_ns(uint64_t mono_ns)
{
	return mono_ns + mono_to_unix_offset;
}

void traces__random_id(uint8_t *id, size_t len)
{
	randid__fill(id, len);
}

struct traces *traces__new(const struct traces_opts *opts, char *err, size_t errlen)
{
	struct traces *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->opts = *opts;
	mono_to_unix_offset = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	ratelimit__init(&t->limit, opts->max_spans_per_second);
	if (opts->spans_file) {
		t->spans_file = privs__open_output(opts->spans_file, "--spans-file", err, errlen);
		if (!t->spans_file) {
			free(t);
			return NULL;
		}
		setvbuf(t->spans_file, NULL, _IOLBF, 0);
	}
	return t;
}

void traces__free(struct traces *t)
{
	if (!t)
		return;
	if (t->spans_file)
		fclose(t->spans_file);
	otlp_buf__free(&t->line);
	free(t);
}

static struct serving *thread_slot(struct traces *t, int pid, int tid)
{
	uint64_t key = (uint64_t)(uint32_t)pid << 32 | (uint32_t)tid;

	return &t->threads[(key * 0x9e3779b97f4a7c15ull) >> 50];
}

static const struct serving *thread_get(struct traces *t, int pid, int tid)
{
	const struct serving *s = thread_slot(t, pid, tid);

	return s->key == ((uint64_t)(uint32_t)pid << 32 | (uint32_t)tid) ? s : NULL;
}

bool traces__current(struct traces *t, int pid, int tid, uint8_t trace_id[16], uint8_t span_id[8])
{
	const struct serving *s = thread_get(t, pid, tid);

	if (!s || s->end_ns)
		return false;
	memcpy(trace_id, s->trace_id, 16);
	memcpy(span_id, s->span_id, 8);
	return true;
}

void traces__forget_pid(struct traces *t, int pid)
{
	for (int i = 0; i < THREAD_SLOTS; i++)
		if (t->threads[i].key >> 32 == (uint32_t)pid)
			t->threads[i].key = 0;
}

/* the client's view of a connection: family, client port, server port, client addr, server addr; and the
 * stream on it (HTTP/2 multiplexes exchanges: each stream is its own client span's) */
static void join_key(uint8_t key[JOIN_KEY], const struct obs_addr *client, const struct obs_addr *server,
		     uint32_t stream)
{
	key[0] = client->family;
	memcpy(key + 1, &client->port, 2);
	memcpy(key + 3, &server->port, 2);
	memcpy(key + 5, client->addr, 16);
	memcpy(key + 21, server->addr, 16);
	memcpy(key + 37, &stream, 4);
}

static struct join *join_slot(struct traces *t, const uint8_t key[JOIN_KEY])
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < JOIN_KEY; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return &t->joins[h % JOIN_SLOTS];
}

void traces__start_exchange(struct traces *t, struct obs_exchange *x, const struct trace_ctx *in)
{
	uint8_t key[JOIN_KEY];
	struct join *j;
	bool have = false;

	traces__random_id(x->span_id, 8);
	if (x->kind == SPAN_KIND_SERVER) {
		struct serving *s;

		/* a traced client on this host is the closest parent: it wins over headers it passed on */
		if (x->peer.family && x->local.family) {
			join_key(key, &x->peer, &x->local, x->stream);
			j = join_slot(t, key);
			if (j->used && !memcmp(j->key, key, JOIN_KEY) && x->start_ns + 1000000000ull >= j->start_ns &&
			    x->start_ns < j->start_ns + JOIN_MAX_AGE_NS) {
				memcpy(x->trace_id, j->trace_id, 16);
				memcpy(x->parent_id, j->span_id, 8);
				x->sampled = j->sampled;
				x->parent_remote = 1;
				have = true;
			}
		}
		if (!have) { /* the caller's trace (headers) or a new one, decided as the shim decides */
			if (!in->valid)
				traces__random_id(x->trace_id, 16);
			if (sampler__adopt(in, t->opts.sample_ratio, x->trace_id, x->parent_id, &x->sampled))
				x->parent_remote = 1;
		}
		s = thread_slot(t, x->pid, x->tid);
		s->key = (uint64_t)(uint32_t)x->pid << 32 | (uint32_t)x->tid;
		s->start_ns = x->start_ns;
		s->end_ns = 0;
		memcpy(s->trace_id, x->trace_id, 16);
		memcpy(s->span_id, x->span_id, 8);
		s->sampled = x->sampled;
		return;
	}

	/* client */
	{
		const struct serving *s = thread_get(t, x->pid, x->tid);

		if (s && !s->end_ns) {
			memcpy(x->trace_id, s->trace_id, 16);
			memcpy(x->parent_id, s->span_id, 8);
			x->sampled = s->sampled;
		} else {
			if (!in->valid)
				traces__random_id(x->trace_id, 16);
			if (sampler__adopt(in, t->opts.sample_ratio, x->trace_id, x->parent_id, &x->sampled))
				x->parent_remote = 1;
		}
	}
	if (x->peer.family && x->local.family) {
		join_key(key, &x->local, &x->peer, x->stream);
		j = join_slot(t, key);
		memcpy(j->key, key, JOIN_KEY);
		j->used = 1;
		j->start_ns = x->start_ns;
		j->sampled = x->sampled;
		memcpy(j->trace_id, x->trace_id, 16);
		memcpy(j->span_id, x->span_id, 8);
	}
}

static void addr_str(const struct obs_addr *a, char *out, size_t len)
{
	out[0] = '\0';
	if (a->family == AF_INET)
		inet_ntop(AF_INET, a->addr, out, len);
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, a->addr, out, len);
}

/* redact into @out; false (and counted) when the text cannot be scanned: the attribute is left out */
static bool clean(void *ctx, const char *in, char *out, size_t outlen)
{
	struct traces *t = ctx;

	if (redact__text(t->opts.redactor, in, strlen(in), out, outlen) < 0) {
		t->st.unredactable++;
		return false;
	}
	return true;
}

/* false: the rate limit dropped it */
static bool emit_span(struct traces *t, const struct span *sp)
{
	if (!ratelimit__allow(&t->limit, clock_ns(CLOCK_MONOTONIC))) {
		t->st.rate_limited++;
		series__add(metrics__series(t->opts.metrics, FAM_SPANS, (const char *[]){ "rate_limited" }), 1);
		return false;
	}
	if (t->spans_file) {
		otlp_buf__reset(&t->line);
		if (!otlp__span_line(&t->line, sp, &(struct otlp_host){ .name = t->opts.host_name }) &&
		    fwrite(t->line.data, 1, t->line.len, t->spans_file) == t->line.len)
			t->st.written++;
	}
	if (t->opts.exporter)
		exporter__push_span(t->opts.exporter, sp); /* its outcomes are counted in traces__poll */
	else if (t->spans_file)
		series__add(metrics__series(t->opts.metrics, FAM_SPANS, (const char *[]){ "exported" }), 1);
	return true;
}

/* the RED histogram families of each protocol (labels: service, then its describe()'s PROTO_LABELS) */
static const struct {
	bool set;
	enum family_id server, client;
} red_family[OBS_PROTO__COUNT] = {
	[OBS_PROTO_HTTP1] = { true, FAM_HTTP_SERVER_DURATION, FAM_HTTP_CLIENT_DURATION },
	/* OpenTelemetry defines only the client's metric: a traced server's view of the same operation goes
	 * there too (service tells the two apart) */
	[OBS_PROTO_REDIS] = { true, FAM_DB_DURATION, FAM_DB_DURATION },
	[OBS_PROTO_POSTGRES] = { true, FAM_DB_DURATION, FAM_DB_DURATION },
	[OBS_PROTO_HTTP2] = { true, FAM_HTTP_SERVER_DURATION, FAM_HTTP_CLIENT_DURATION },
	[OBS_PROTO_GRPC] = { true, FAM_RPC_SERVER_DURATION, FAM_RPC_CLIENT_DURATION },
};

void traces__end_exchange(struct traces *t, const struct obs_exchange *x, const struct span_resource *res)
{
	const struct proto *p = proto__by_id(x->proto);
	uint64_t dur = x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0;
	bool server = x->kind == SPAN_KIND_SERVER, want_span;
	char tid_hex[33], sid_hex[17], peer[64];
	struct proto_text text = { .clean = clean, .ctx = t, .peer = peer };
	struct proto_desc desc, *d = &desc;
	const char *labels[1 + PROTO_LABELS];
	struct series *se = NULL;
	struct span *sp;

	if (!p || x->proto >= OBS_PROTO__COUNT)
		return;
	if (server) {
		struct serving *s = thread_slot(t, x->pid, x->tid);

		if (s->key == ((uint64_t)(uint32_t)x->pid << 32 | (uint32_t)x->tid) &&
		    !memcmp(s->span_id, x->span_id, 8))
			s->end_ns = x->end_ns ? x->end_ns : 1;
	}
	/* where nobody upstream decided, this collector's ratio does (the shim may run with another one) */
	want_span = x->sampled && (x->parent_remote || sampler__keep(t->opts.sample_ratio, x->trace_id));
	addr_str(&x->peer, peer, sizeof(peer));
	p->describe(x, &text, want_span && (t->opts.exporter || t->spans_file), d);
	if (d->lost) {
		t->st.incomplete++;
		series__add(metrics__series(t->opts.metrics, FAM_EVENTS_LOST,
					    (const char *[]){ t->opts.source, d->lost }),
			    1);
		return;
	}
	series__add(metrics__series(t->opts.metrics, FAM_EXCHANGES,
				    (const char *[]){ res->service_name, p->name,
						      x->flags & OBS_X_F_TLS ? "tls" : "tcp" }),
		    1);
	if (red_family[x->proto].set) {
		labels[0] = res->service_name;
		memcpy(labels + 1, d->labels, sizeof(d->labels));
		se = metrics__series(t->opts.metrics,
				     server ? red_family[x->proto].server : red_family[x->proto].client, labels);
		series__observe_ns(se, dur);
	}

	if (!want_span) {
		t->st.sampled_out++;
		series__add(metrics__series(t->opts.metrics, FAM_SPANS, (const char *[]){ "sampled_out" }), 1);
		return;
	}
	if (!t->opts.exporter && !t->spans_file)
		return;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return;
	memcpy(sp->trace_id, x->trace_id, 16);
	memcpy(sp->span_id, x->span_id, 8);
	memcpy(sp->parent_span_id, x->parent_id, 8);
	sp->kind = x->kind;
	sp->flags = SPAN_FLAG_SAMPLED | SPAN_FLAG_HAS_IS_REMOTE | (x->parent_remote ? SPAN_FLAG_IS_REMOTE : 0);
	sp->start_ns = traces__to_unix_ns(x->start_ns);
	sp->end_ns = traces__to_unix_ns(x->end_ns > x->start_ns ? x->end_ns : x->start_ns);
	sp->resource = *res;
	span__copy_str(sp->trace_state, sizeof(sp->trace_state), x->tracestate);
	span__copy_str(sp->name, sizeof(sp->name), d->name);
	/* gRPC: describe() says which codes are a server's errors (x->error is every code but OK) */
	if (d->error || (x->error && x->proto != OBS_PROTO_GRPC))
		sp->status_code = SPAN_STATUS_ERROR;
	for (int i = 0; i < d->nattrs; i++) {
		if (d->attrs[i].str)
			span__add_str(sp, d->attrs[i].key, d->attrs[i].str);
		else
			span__add_int(sp, d->attrs[i].key, d->attrs[i].num);
	}
	/* an exemplar only for a span that leaves: one the rate limit dropped would point nowhere */
	if (emit_span(t, sp) && se) {
		hex__encode(tid_hex, x->trace_id, 16);
		hex__encode(sid_hex, x->span_id, 8);
		series__exemplar(se, dur, tid_hex, sid_hex, traces__to_unix_ns(x->end_ns) / 1e9);
	}
	free(sp);
}

void traces__call(struct traces *t, int pid, int tid, uint64_t start_ns, uint64_t end_ns, const char *function,
		  const char *object, const struct span_resource *res)
{
	const struct serving *s = thread_get(t, pid, tid);
	struct span *sp;

	if (!s || !s->sampled || start_ns < s->start_ns || (s->end_ns && end_ns > s->end_ns))
		return;
	if (!t->opts.exporter && !t->spans_file)
		return;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return;
	memcpy(sp->trace_id, s->trace_id, 16);
	memcpy(sp->parent_span_id, s->span_id, 8);
	traces__random_id(sp->span_id, 8);
	sp->kind = SPAN_KIND_INTERNAL;
	sp->flags = SPAN_FLAG_SAMPLED | SPAN_FLAG_HAS_IS_REMOTE;
	sp->start_ns = traces__to_unix_ns(start_ns);
	sp->end_ns = traces__to_unix_ns(end_ns);
	sp->resource = *res;
	span__copy_str(sp->name, sizeof(sp->name), function);
	span__add_str(sp, "code.function", function);
	span__add_str(sp, "code.namespace", object);
	span__add_int(sp, "thread.id", tid);
	emit_span(t, sp);
	free(sp);
}

void traces__poll(struct traces *t)
{
	struct exporter_stats now;
	struct {
		uint64_t now, last;
		const char *outcome;
	} d[3];

	if (!t->opts.exporter)
		return;
	exporter__stats(t->opts.exporter, &now);
	d[0].now = now.spans_exported, d[0].last = t->last_exp.spans_exported, d[0].outcome = "exported";
	d[1].now = now.spans_queue_full, d[1].last = t->last_exp.spans_queue_full, d[1].outcome = "queue_full";
	d[2].now = now.spans_export_failed, d[2].last = t->last_exp.spans_export_failed, d[2].outcome = "export_failed";
	for (int i = 0; i < 3; i++)
		if (d[i].now > d[i].last)
			series__add(metrics__series(t->opts.metrics, FAM_SPANS, (const char *[]){ d[i].outcome }),
				    d[i].now - d[i].last);
	t->last_exp = now;
}

void traces__stats(const struct traces *t, struct traces_stats *out)
{
	*out = t->st;
}
