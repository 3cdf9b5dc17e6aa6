/* traces.c -- exchanges of any protocol and function calls become RED metrics, spans and per-thread trace
 * context: the one place both capture paths' exchanges turn into signals (what the protocol's describe()
 * says, plus the ids, times and resource) */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/log.h"
#include "export/linefile.h"
#include "export/otlp.h"
#include "export/otlp_json.h"
#include "base/privs.h"
#include "lib/proto/http1_route.h"
#include "lib/proto/registry.h"
#include "lib/hex.h"
#include "lib/randid.h"
#include "lib/sampler.h"
#include "signal/addrtext.h"
#include "signal/redact_memo.h"
#include "signal/redseries.h"
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

/* a series found once and kept (series are never removed; one that folded into __overflow__ is looked up
 * each time, as each fold is counted) */
enum { SPANS_SAMPLED_OUT, SPANS_EXPORTED, SPANS_RATE_LIMITED, SPANS_EXPORT_FAILED, SPANS__COUNT };

struct traces {
	struct traces_opts opts;
	FILE *spans_file;
	struct linefile sf; /* its lines, written once per poll */
	struct ratelimit limit;
	struct serving threads[THREAD_SLOTS];
	struct join joins[JOIN_SLOTS];
	uint64_t joins_newest; /* the latest start of a client span put there */
	bool joins_any;	       /* one was */
	struct exporter_stats last_exp;
	struct traces_stats st;
	struct otlp_buf line;
	struct redact_memo *memo;
	struct route_memo routes; /* HTTP routes folded before */
	struct addr_text peer;
	struct series *spans[SPANS__COUNT];
	struct redseries rs; /* the series exchanges update, found once */
	bool changed;	     /* clean() changed a text since describe() began */
	struct span span;    /* the one being built (emit_span copies it or writes it out) */
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
	t->rs.m = opts->metrics;
	t->memo = redact_memo__new(opts->redactor);
	if (!t->memo) {
		snprintf(err, errlen, "out of memory");
		free(t);
		return NULL;
	}
	mono_to_unix_offset = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	ratelimit__init(&t->limit, opts->max_spans_per_second);
	if (opts->spans_file) {
		t->spans_file = privs__open_output(opts->spans_file, "--spans-file", err, errlen);
		if (!t->spans_file) {
			redact_memo__free(t->memo);
			free(t);
			return NULL;
		}
		linefile__init(&t->sf, fileno(t->spans_file));
	}
	return t;
}

void traces__free(struct traces *t)
{
	if (!t)
		return;
	if (t->spans_file) {
		linefile__free(&t->sf);
		fclose(t->spans_file);
	}
	otlp_buf__free(&t->line);
	redact_memo__free(t->memo);
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
	uint64_t h = key[JOIN_KEY - 1], w;

	for (int i = 0; i + 8 <= JOIN_KEY; i += 8) { /* five words and the last byte */
		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	return &t->joins[h % JOIN_SLOTS];
}

void traces__start_exchange(struct traces *t, struct obs_exchange *x, const struct trace_ctx *in)
{
	uint8_t key[JOIN_KEY];
	struct join *j;
	bool have = false;
	static const uint8_t none[8];

	if (!memcmp(x->span_id, none, 8))
		traces__random_id(x->span_id, 8);
	if (x->kind == SPAN_KIND_SERVER) {
		struct serving *s;

		/* a traced client on this host is the closest parent: it wins over headers it passed on (none to
		 * look for when no client span is young enough: a server whose callers are not traced) */
		if (x->peer.family && x->local.family && t->joins_any &&
		    x->start_ns < t->joins_newest + JOIN_MAX_AGE_NS) {
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
			if (!in->valid && !memcmp(x->trace_id, none, 8) && !memcmp(x->trace_id + 8, none, 8))
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
			if (!in->valid && !memcmp(x->trace_id, none, 8) && !memcmp(x->trace_id + 8, none, 8))
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
		if (!t->joins_any || x->start_ns > t->joins_newest)
			t->joins_newest = x->start_ns;
		t->joins_any = true;
		j->sampled = x->sampled;
		memcpy(j->trace_id, x->trace_id, 16);
		memcpy(j->span_id, x->span_id, 8);
	}
}

void traces__provisional(const struct traces *t, struct obs_exchange *x, const struct trace_ctx *in)
{
	static const uint8_t none[8];

	if (!memcmp(x->span_id, none, 8))
		traces__random_id(x->span_id, 8);
	if (!in->valid)
		traces__random_id(x->trace_id, 16);
	x->parent_remote = sampler__adopt(in, t->opts.sample_ratio, x->trace_id, x->parent_id, &x->sampled);
}

/* a series of FAM_SPANS by outcome, found once */
static struct series *spans_series(struct traces *t, int which)
{
	static const char *const outcome[SPANS__COUNT] = { "sampled_out", "exported", "rate_limited", "export_failed" };
	struct series *se;
	bool folded;

	if (t->spans[which])
		return t->spans[which];
	se = metrics__series_folded(t->opts.metrics, FAM_SPANS, (const char *[]){ outcome[which] }, &folded);
	if (!folded)
		t->spans[which] = se;
	return se;
}

/* redact into @out; false (and counted) when the text cannot be scanned: the attribute is left out */
static bool clean(void *ctx, const char *in, char *out, size_t outlen)
{
	struct traces *t = ctx;

	size_t n = strlen(in);
	int rc = redact_memo__text(t->memo, in, n, out, outlen);

	if (rc != (int)n || memcmp(in, out, n))
		t->changed = true; /* redacted, cut or unscanned: such labels are not remembered */
	if (rc < 0) {
		t->st.unredactable++;
		return false;
	}
	return true;
}

/* the traces' one span, empty (attributes past nattrs are never read: not cleared) */
static struct span *new_span(struct traces *t)
{
	struct span *sp = &t->span;

	memset(sp, 0, offsetof(struct span, attrs));
	sp->dropped_attrs = 0;
	return sp;
}

static void count_rate_limited(struct traces *t)
{
	t->st.rate_limited++;
	series__add(spans_series(t, SPANS_RATE_LIMITED), 1);
}

/* @sp, within --max-spans-per-second, to the span sinks */
static void emit_span(struct traces *t, const struct span *sp)
{
	if (t->spans_file) {
		otlp_buf__reset(&t->line);
		if (!otlp__span_line(&t->line, sp, &(struct otlp_host){ .name = t->opts.host_name }))
			linefile__put(&t->sf, (const char *)t->line.data, t->line.len); /* counted: traces__poll */
		else
			t->sf.failed++; /* a line that could not be encoded fails too */
	}
	if (t->opts.exporter)
		exporter__push_span(t->opts.exporter, sp); /* its outcomes are counted in traces__poll */
}

/* the span lines written (or not) since the last poll; without an exporter they are the spans' outcome */
static void fold_spans_file(struct traces *t)
{
	uint64_t w, f;

	linefile__take(&t->sf, &w, &f);
	if (t->opts.exporter)
		return;
	if (w)
		series__add(spans_series(t, SPANS_EXPORTED), w);
	if (f)
		series__add(spans_series(t, SPANS_EXPORT_FAILED), f);
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

/* the span rate limit's clock: the coarse one (the kernel's tick, no TSC read: a few ns, where the fine one took ~2%
 * of the collector's time per exchange); a refill per second's worth does not need better */
static uint64_t limit_now(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* an exchange that makes no span: said why */
static void spanless(struct traces *t, bool want_span)
{
	if (!want_span) {
		t->st.sampled_out++;
		series__add(spans_series(t, SPANS_SAMPLED_OUT), 1);
	} else if (t->opts.exporter || t->spans_file) {
		count_rate_limited(t);
	}
}

void traces__end_exchange(struct traces *t, const struct obs_exchange *x, const struct span_resource *res)
{
	const struct proto *p = proto__by_id(x->proto);
	uint64_t dur = x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0;
	bool server = x->kind == SPAN_KIND_SERVER, want_span, build;
	char tid_hex[33], sid_hex[17];
	struct proto_text text = { .clean = clean, .ctx = t, .routes = &t->routes };
	struct proto_desc desc, *d = &desc;
	const char *labels[1 + PROTO_LABELS];
	struct series *se = NULL;
	struct span *sp;
	struct label_key lk;
	bool keyed = false;

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
	text.peer = addr_text__get(&t->peer, &x->peer);
	/* a span's attributes are made only for one that leaves: kept by the sampler, a sink to take it, a token of
	 * the rate limit there (spent below, once the exchange proved whole) */
	build = want_span && (t->opts.exporter || t->spans_file) && ratelimit__ready(&t->limit, limit_now());
	if (!build && red_family[x->proto].set && (keyed = redseries__label_key(&t->rs, p, x, &text, res, &lk)) &&
	    (se = redseries__label_find(&lk))) {
		/* labels seen before: their series, without describe() */
		series__add(redseries__exchanges(&t->rs, p, x->flags & OBS_X_F_TLS, res->service_name), 1);
		series__observe_ns(se, dur);
		return spanless(t, want_span);
	}
	t->changed = false;
	p->describe(x, &text, build, d);
	if (d->lost) {
		t->st.incomplete++;
		series__add(metrics__series(t->opts.metrics, FAM_EVENTS_LOST,
					    (const char *[]){ t->opts.source, d->lost }),
			    1);
		return;
	}
	series__add(redseries__exchanges(&t->rs, p, x->flags & OBS_X_F_TLS, res->service_name), 1);
	if (red_family[x->proto].set) {
		bool folded;

		labels[0] = res->service_name;
		memcpy(labels + 1, d->labels, sizeof(d->labels));
		se = redseries__red(&t->rs, server ? red_family[x->proto].server : red_family[x->proto].client, labels,
				    res->mctr, &folded);
		series__observe_ns(se, dur);
		if (keyed && se && !folded && !t->changed)
			redseries__label_keep(&lk, se);
	}

	if (!build)
		return spanless(t, want_span);
	ratelimit__take(&t->limit);
	sp = new_span(t);
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
	emit_span(t, sp);
	/* an exemplar only for a span that leaves: one the rate limit dropped would point nowhere */
	if (se) {
		hex__encode(tid_hex, x->trace_id, 16);
		hex__encode(sid_hex, x->span_id, 8);
		series__exemplar(se, dur, tid_hex, sid_hex, traces__to_unix_ns(x->end_ns) / 1e9);
	}
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
	if (!ratelimit__allow(&t->limit, limit_now())) {
		count_rate_limited(t);
		return;
	}
	sp = new_span(t);
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
}

void traces__poll(struct traces *t)
{
	struct exporter_stats now;
	struct {
		uint64_t now, last;
		const char *outcome;
	} d[3];

	if (t->spans_file)
		fold_spans_file(t);
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
	out->written = t->sf.written;
	out->file_failed = t->sf.failed;
}
