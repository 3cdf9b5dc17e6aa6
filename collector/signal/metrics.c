/* metrics.c -- the metric registry: families, series, the overflow fold, and the snapshot exposition renders */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/texthash.h"
#include "signal/expo.h"
#include "signal/metrics.h"
#include "signal/metrics_impl.h"
#include "signal/redact.h"

static const struct family_def families[FAM__COUNT] = {
	[FAM_FUNCTION_DURATION] = { "obsprobe_function_duration_seconds",
				    HISTOGRAM,
				    "Latency of traced user-space functions.",
				    { "service", "function", "object" } },
	[FAM_KFUNC_DURATION] = { "obsprobe_kernel_function_duration_seconds",
				 HISTOGRAM,
				 "Latency of traced kernel functions.",
				 { "service", "function" } },
	[FAM_SYSCALL_DURATION] = { "obsprobe_syscall_duration_seconds",
				   HISTOGRAM,
				   "Latency of system calls made by traced processes.",
				   { "service", "syscall" } },
	[FAM_SYSCALL_ERRORS] = { "obsprobe_syscall_errors",
				 COUNTER,
				 "System calls that returned an error, by errno.",
				 { "service", "syscall", "errno" } },
	[FAM_SOCKET_BYTES] = { "obsprobe_socket_bytes",
			       COUNTER,
			       "Bytes moved through sockets.",
			       { "service", "direction", "protocol" } },
	[FAM_SOCKET_IO_DURATION] = { "obsprobe_socket_io_duration_seconds",
				     HISTOGRAM,
				     "Latency of socket reads and writes.",
				     { "service", "direction", "protocol" } },
	[FAM_TCP_CONNECTIONS] = { "obsprobe_tcp_connections",
				  COUNTER,
				  "TCP connections established.",
				  { "service", "direction" } },
	[FAM_TCP_ACTIVE] = { "obsprobe_tcp_connections_active",
			     GAUGE,
			     "TCP connections currently established.",
			     { "service", "direction" } },
	[FAM_HTTP_SERVER_DURATION] = { "http_server_request_duration_seconds",
				       HISTOGRAM,
				       "Duration of HTTP server requests.",
				       { "service", "http_request_method", "http_response_status_code",
					 "http_route" } },
	[FAM_HTTP_CLIENT_DURATION] = { "http_client_request_duration_seconds",
				       HISTOGRAM,
				       "Duration of HTTP client requests.",
				       { "service", "http_request_method", "http_response_status_code",
					 "server_address" } },
	[FAM_DB_DURATION] = { "db_client_operation_duration_seconds",
			      HISTOGRAM,
			      "Duration of database operations (Redis commands, PostgreSQL statements).",
			      { "service", "db_system_name", "db_operation_name", "server_address", "error_type" } },
	[FAM_RPC_SERVER_DURATION] = { "rpc_server_duration_seconds",
				      HISTOGRAM,
				      "Duration of RPCs served (gRPC calls).",
				      { "service", "rpc_system", "rpc_service", "rpc_method",
					"rpc_grpc_status_code" } },
	[FAM_RPC_CLIENT_DURATION] = { "rpc_client_duration_seconds",
				      HISTOGRAM,
				      "Duration of RPCs made (gRPC calls).",
				      { "service", "rpc_system", "rpc_service", "rpc_method",
					"rpc_grpc_status_code" } },
	[FAM_EXCHANGES] = { "obsprobe_exchanges",
			    COUNTER,
			    "Exchanges (request and response) parsed, by protocol and transport (tcp, tls).",
			    { "service", "protocol", "transport" } },
	[FAM_EVENTS] = { "obsprobe_events", COUNTER, "Events received from capture paths.", { "source" } },
	[FAM_EVENTS_LOST] = { "obsprobe_events_lost",
			      COUNTER,
			      "Events lost before the collector could read them.",
			      { "source", "reason" } },
	[FAM_SPANS] = { "obsprobe_spans", COUNTER, "Spans by outcome.", { "outcome" } },
	[FAM_LOG_RECORDS] = { "obsprobe_log_records", COUNTER, "Log records by outcome.", { "outcome" } },
	[FAM_SERIES_OVERFLOW] = { "obsprobe_series_overflow",
				  COUNTER,
				  "Label sets folded into __overflow__ because a family reached --max-series.",
				  { "metric" } },
	[FAM_PROBE_OVERHEAD] = { "obsprobe_probe_overhead_seconds",
				 GAUGE,
				 "Calibrated cost of one probe hit, measured at start.",
				 { "probe" } },
	[FAM_BUILD_INFO] = { "obsprobe_build_info",
			     GAUGE,
			     "obsprobe build information.",
			     { "version", "libbpf_version" } },
	[FAM_SEGMENTS_REJECTED] = { "obsprobe_segments_rejected",
				    COUNTER,
				    "Shim segments refused, cut short, folded, or read as unverified (their file owner's uid), by reason.",
				    { "reason" } },
	[FAM_CONTEXT_INJECTIONS] = { "obsprobe_context_injections",
				     COUNTER,
				     "Outgoing HTTP/1 requests made while serving a traced request, by what the shim did: injected "
				     "traceparent, no_room (sent unchanged: head and header could not go out in one call), cut (the kernel "
				     "took part of the header and no more without waiting); inside TLS also no_slot, not_exact, failed "
				     "(see SPEC.md, the shim's TLS capture).",
				     { "service", "outcome" } },
	[FAM_REDACTIONS] = { "obsprobe_redactions",
			     COUNTER,
			     "Secrets replaced before anything left the collector (span attributes, routes, log bodies), by rule.",
			     { "rule" } },
	[FAM_REDACTED_TEXTS] = { "obsprobe_redacted_texts",
				 COUNTER,
				 "Texts redaction did not pass whole: truncated (cut after redaction to fit, still sent), failed (could "
				 "not be scanned, out of memory: dropped).",
				 { "outcome" } },
	[FAM_LOG_LINES] = { "obsprobe_log_lines",
			    COUNTER,
			    "Lines assembled from traced stdout/stderr writes, by how they ended: complete (at the newline), partial "
			    "(without it: held over a second, the process gone, bytes not captured, or at exit), evicted (without it, "
			    "early: too many partial lines at once).",
			    { "outcome" } },
	[FAM_METRIC_POINTS] = { "obsprobe_metric_points",
				COUNTER,
				"Metric data points pushed over OTLP (--otlp-metrics), by outcome: exported, export_failed.",
				{ "outcome" } },
	[FAM_PROBE_CPU] = { "obsprobe_probe_cpu_seconds",
			    COUNTER,
			    "CPU the loaded BPF programs used, by program, from the kernel's run-time statistics (uprobe traps not "
			    "included: see obsprobe_probe_overhead_seconds).",
			    { "program" },
			    .ns = true },
	[FAM_PROBE_RUNS] = { "obsprobe_probe_runs",
			     COUNTER,
			     "Runs of the loaded BPF programs, by program, from the kernel's run-time statistics.",
			     { "program" } },
	[FAM_SHED] = { "obsprobe_shed",
		       COUNTER,
		       "Work the overhead budget (--max-overhead) shed, by what: payload, logs, syscalls, functions.",
		       { "what" } },
	[FAM_PUSHES] = { "obsprobe_pushgateway_pushes",
			 COUNTER,
			 "Pushes of the metrics to a Prometheus Pushgateway (run --pushgateway), by outcome: pushed, failed.",
			 { "outcome" } },
	[FAM_RING_WAKEUPS] = { "obsprobe_ring_wakeups",
			       COUNTER,
			       "Times a ring past half full woke the collector before its 20 ms drain, by ring.",
			       { "ring" } },
};

/* the families that take the container labels (--container-labels): the RED histograms; the syscall and socket
 * families are summed in the kernel per syscall and direction, with no process to name (SPEC "Metrics") */
static const bool ctr_families[FAM__COUNT] = {
	[FAM_HTTP_SERVER_DURATION] = true, [FAM_HTTP_CLIENT_DURATION] = true, [FAM_DB_DURATION] = true,
	[FAM_RPC_SERVER_DURATION] = true,  [FAM_RPC_CLIENT_DURATION] = true,
};

const struct family_def *metrics__defs(const struct metrics *m)
{
	return m->defs;
}

static uint64_t unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int metrics__nlabels(enum family_id fam)
{
	int n = 0;

	while (n < METRICS_MAX_LABELS && families[fam].labels[n])
		n++;
	return n;
}

struct metrics *metrics__new(const struct metrics_opts *opts)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->order_lock, NULL);
	m->bounds.n = opts->nbounds;
	memcpy(m->bounds.ns, opts->bounds_ns, sizeof(uint64_t) * opts->nbounds);
	m->max_series = opts->max_series > 0 ? opts->max_series : 2000;
	m->start_unix_ns = unix_ns();
	memcpy(m->defs, families, sizeof(families));
	m->ctr_on = opts->container_labels;
	m->max_ctr = opts->max_containers > 0 ? opts->max_containers : 256;
	m->ctr_none = (struct metrics_ctr){ "", "", false };
	m->ctr_over = (struct metrics_ctr){ METRICS_OVERFLOW_VALUE, METRICS_OVERFLOW_VALUE, true };
	for (int f = 0; f < FAM__COUNT; f++) {
		struct family *fm = &m->fam[f];

		fm->nlabels = metrics__nlabels(f);
		if (m->ctr_on && ctr_families[f]) {
			_Static_assert(METRICS_MAX_LABELS >= 7, "room for the container labels after a family's five");
			m->defs[f].labels[fm->nlabels++] = "container_id";
			m->defs[f].labels[fm->nlabels++] = "k8s_pod_uid";
			fm->ctr = true;
		}
	}
	return m;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	for (int f = 0; f < FAM__COUNT; f++) {
		for (int i = 0; i < m->fam[f].n; i++) {
			struct series *s = m->fam[f].all[i];

			for (int l = 0; l < m->fam[f].nlabels; l++)
				free(s->values[l]);
			free(s->hist);
			free(s->ex);
			free(s);
		}
		free(m->fam[f].all);
		free(m->order[f]);
	}
	for (int b = 0; b < NBUCKETS_CTR; b++)
		for (struct ctr_entry *e = m->ctr_hash[b], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&m->order_lock);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const struct hist_bounds *metrics__bounds(const struct metrics *m)
{
	return &m->bounds;
}

/* eight bytes a step; each value's length goes in too, so ("ab", "c") and ("a", "bc") differ */
static uint64_t hash_values(const char *const *values, int n)
{
	uint64_t h = TEXTHASH_SEED;

	for (int i = 0; i < n; i++) {
		const char *p = values[i] ? values[i] : "";

		h = texthash__step(h, p, strlen(p));
	}
	return h ^ (h >> 32);
}

static struct series *lookup(struct family *fm, const char *const *values, uint64_t h)
{
	for (struct series *s = fm->hash[h % NBUCKETS_HASH]; s; s = s->next) {
		int l;

		if (s->hash != h)
			continue;
		for (l = 0; l < fm->nlabels; l++)
			if (strcmp(s->values[l], values[l] ? values[l] : ""))
				break;
		if (l == fm->nlabels)
			return s;
	}
	return NULL;
}

static struct series *insert(struct metrics *m, enum family_id fam, const char *const *values, uint64_t h)
{
	struct family *fm = &m->fam[fam];
	struct series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (fm->n == fm->cap) {
		int cap = fm->cap ? fm->cap * 2 : 16;
		struct series **all = realloc(fm->all, cap * sizeof(*all));

		if (!all) {
			free(s);
			return NULL;
		}
		fm->all = all;
		fm->cap = cap;
	}
	for (int l = 0; l < fm->nlabels; l++)
		s->values[l] = strdup(values[l] ? values[l] : "");
	if (families[fam].type == HISTOGRAM)
		s->hist = calloc(1, sizeof(*s->hist));
	s->hash = h;
	s->m = m;
	s->next = fm->hash[h % NBUCKETS_HASH];
	fm->hash[h % NBUCKETS_HASH] = s;
	fm->all[fm->n++] = s;
	return s;
}

static struct series *series_locked(struct metrics *m, enum family_id fam, const char *const *values, bool *was_folded);

/* obsprobe_series_overflow_total{metric=@fam's name} + 1 (lock held) */
static void count_fold(struct metrics *m, enum family_id fam)
{
	const char *name[1] = { families[fam].name };
	bool ov_folded;
	struct series *ov = series_locked(m, FAM_SERIES_OVERFLOW, name, &ov_folded);

	if (ov) {
		series_write_begin(ov);
		ov->counter++;
		series_write_end(ov);
	}
}

static struct series *series_locked(struct metrics *m, enum family_id fam, const char *const *values, bool *was_folded)
{
	struct family *fm = &m->fam[fam];
	const char *folded[METRICS_MAX_LABELS];
	uint64_t h = hash_values(values, fm->nlabels);
	struct series *s = lookup(fm, values, h);

	*was_folded = false;
	if (s)
		return s;
	if (fm->n < m->max_series || fam == FAM_SERIES_OVERFLOW)
		return insert(m, fam, values, h);
	*was_folded = true;

	/* fold: keep "service", replace every other label with __overflow__ */
	for (int l = 0; l < fm->nlabels; l++)
		folded[l] = strcmp(m->defs[fam].labels[l], "service") ? METRICS_OVERFLOW_VALUE : values[l];
	count_fold(m, fam);
	h = hash_values(folded, fm->nlabels);
	s = lookup(fm, folded, h);
	return s ? s : insert(m, fam, folded, h); /* the overflow series may exceed the cap by one */
}

/* @values with @ctr's two values after them when @fam carries the container labels (into @buf) */
static const char *const *with_ctr(const struct metrics *m, enum family_id fam, const char *const *values,
				   const struct metrics_ctr *ctr, const char **buf)
{
	int n = m->fam[fam].nlabels - 2;

	if (!m->fam[fam].ctr)
		return values;
	memcpy(buf, values, n * sizeof(*buf));
	buf[n] = ctr ? ctr->id : "";
	buf[n + 1] = ctr ? ctr->pod_uid : "";
	return buf;
}

struct series *metrics__series_ctr(struct metrics *m, enum family_id fam, const char *const *values,
				   const struct metrics_ctr *ctr, bool *folded)
{
	const char *buf[METRICS_MAX_LABELS];
	struct series *s;

	values = with_ctr(m, fam, values, ctr, buf);
	pthread_mutex_lock(&m->lock);
	s = series_locked(m, fam, values, folded);
	/* a container past max_containers is a fold too (counted once when --max-series folded it as well) */
	if (s && !*folded && m->fam[fam].ctr && ctr && ctr->folded) {
		count_fold(m, fam);
		*folded = true;
	}
	pthread_mutex_unlock(&m->lock);
	return s;
}

struct series *metrics__series_folded(struct metrics *m, enum family_id fam, const char *const *values, bool *folded)
{
	return metrics__series_ctr(m, fam, values, NULL, folded);
}

const struct metrics_ctr *metrics__ctr(struct metrics *m, const char *id, const char *pod_uid)
{
	const struct metrics_ctr *r;
	struct ctr_entry *e;
	uint64_t h;

	if (!m || !m->ctr_on)
		return NULL;
	id = id ? id : "";
	pod_uid = pod_uid ? pod_uid : "";
	if (!*id && !*pod_uid)
		return &m->ctr_none;
	h = hash_values((const char *const[]){ id, pod_uid }, 2);
	pthread_mutex_lock(&m->lock);
	for (e = m->ctr_hash[h % NBUCKETS_CTR]; e; e = e->next)
		if (e->hash == h && !strcmp(e->c.id, id) && !strcmp(e->c.pod_uid, pod_uid))
			break;
	if (!e && m->nctr < m->max_ctr) {
		size_t li = strlen(id) + 1, lu = strlen(pod_uid) + 1;

		e = malloc(sizeof(*e) + li + lu);
		if (e) {
			char *p = (char *)(e + 1);

			memcpy(p, id, li);
			memcpy(p + li, pod_uid, lu);
			e->c = (struct metrics_ctr){ p, p + li, false };
			e->hash = h;
			e->next = m->ctr_hash[h % NBUCKETS_CTR];
			m->ctr_hash[h % NBUCKETS_CTR] = e;
			m->nctr++;
		}
	}
	r = e ? &e->c : &m->ctr_over; /* past the cap (or out of memory): __overflow__ */
	pthread_mutex_unlock(&m->lock);
	return r;
}

struct series *metrics__series(struct metrics *m, enum family_id fam, const char *const *values)
{
	bool folded;

	return metrics__series_folded(m, fam, values, &folded);
}

/* Series ops take the registry lock (writers on several threads); each change is also a write section of the
 * series' sequence count, so that /metrics reads the series without the lock (metrics_impl.h). */
#define WITH_LOCK(s, body)                           \
	do {                                         \
		if (!(s))                            \
			break;                       \
		pthread_mutex_lock(&(s)->m->lock);   \
		series_write_begin(s);               \
		body;                                \
		series_write_end(s);                 \
		pthread_mutex_unlock(&(s)->m->lock); \
	} while (0)

void series__add(struct series *s, uint64_t n)
{
	WITH_LOCK(s, s->counter += n);
}

void series__set_total(struct series *s, uint64_t total)
{
	WITH_LOCK(s, if (total > s->counter) s->counter = total);
}

void series__set(struct series *s, double v)
{
	WITH_LOCK(s, s->gauge = v);
}

void series__gauge_add(struct series *s, double delta)
{
	WITH_LOCK(s, s->gauge += delta);
}

void series__observe_ns(struct series *s, uint64_t ns)
{
	WITH_LOCK(s, if (s->hist) hist__observe(s->hist, &s->m->bounds, ns));
}

void series__add_hist(struct series *s, const uint64_t *buckets, uint64_t count, uint64_t sum_ns)
{
	WITH_LOCK(
		s, if (s->hist) {
			for (int i = 0; i <= s->m->bounds.n; i++)
				s->hist->buckets[i] += buckets[i];
			s->hist->count += count;
			s->hist->sum_ns += sum_ns;
		});
}

void series__exemplar(struct series *s, uint64_t ns, const char *trace_id, const char *span_id, double unix_ts)
{
	WITH_LOCK(
		s, if (s->hist) {
			int b = hist_bounds__index(&s->m->bounds, ns);

			if (!s->ex)
				s->ex = calloc(OBS_HIST_SLOTS, sizeof(*s->ex));
			if (s->ex) {
				snprintf(s->ex[b].trace_id, sizeof(s->ex[b].trace_id), "%s", trace_id);
				snprintf(s->ex[b].span_id, sizeof(s->ex[b].span_id), "%s", span_id);
				s->ex[b].ns = ns;
				s->ex[b].ts = unix_ts;
			}
		});
}

bool metrics__get_hist(struct metrics *m, enum family_id fam, const char *const *values, struct hist *out)
{
	const char *buf[METRICS_MAX_LABELS];
	struct series *s;

	values = with_ctr(m, fam, values, NULL, buf);
	pthread_mutex_lock(&m->lock);
	s = lookup(&m->fam[fam], values, hash_values(values, m->fam[fam].nlabels));
	if (s && s->hist)
		*out = *s->hist;
	pthread_mutex_unlock(&m->lock);
	return s && s->hist;
}

void metrics__foreach_hist(struct metrics *m, enum family_id fam, metrics_hist_cb cb, void *ctx)
{
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < m->fam[fam].n; i++) {
		struct series *s = m->fam[fam].all[i];

		if (s->hist)
			cb(ctx, (const char *const *)s->values, s->hist);
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---- exposition (expo.c formats) ---------------------------------------- */

/* copy family @f's series (caller holds the lock); NULL with *@n = 0 when empty or out of memory */
static struct snap *snapshot_family(struct metrics *m, enum family_id f, bool om, int *n, bool *oom)
{
	struct family *fm = &m->fam[f];
	struct snap *out;

	*n = 0;
	if (!fm->n)
		return NULL;
	out = calloc(fm->n, sizeof(*out));
	if (!out) {
		*oom = true;
		return NULL;
	}
	for (int i = 0; i < fm->n; i++) {
		const struct series *s = fm->all[i];

		out[i].values = s->values;
		out[i].counter = s->counter; /* the whole union */
		if (s->hist)
			out[i].hist = *s->hist;
		if (om && s->ex && (out[i].ex = malloc(OBS_HIST_SLOTS * sizeof(*s->ex))))
			memcpy(out[i].ex, s->ex, OBS_HIST_SLOTS * sizeof(*s->ex));
	}
	*n = fm->n;
	return out;
}

static void fold_total(struct metrics *m, enum family_id fam, const char *value, uint64_t total)
{
	if (total)
		series__set_total(metrics__series(m, fam, (const char *[]){ value }), total);
}

void metrics__fold_redactor(struct metrics *m, const struct redactor *r)
{
	struct redact_stats st;

	if (!m || !r)
		return;
	redactor__stats(r, &st);
	for (int i = 0; i < REDACT_RULE__COUNT; i++)
		fold_total(m, FAM_REDACTIONS, redact__rule_name(i), st.rules[i]);
	fold_total(m, FAM_REDACTED_TEXTS, "truncated", st.truncated);
	fold_total(m, FAM_REDACTED_TEXTS, "failed", st.dropped);
}

int metrics__snapshot(struct metrics *m, struct metrics_snapshot *out)
{
	bool oom = false;

	*out = (struct metrics_snapshot){ .defs = m->defs, .bounds = m->bounds, .start_unix_ns = m->start_unix_ns };
	pthread_mutex_lock(&m->lock);
	out->unix_ns = unix_ns();
	for (int f = 0; f < FAM__COUNT; f++)
		out->sn[f] = snapshot_family(m, f, true, &out->n[f], &oom);
	pthread_mutex_unlock(&m->lock);
	if (oom) {
		metrics_snapshot__free(out);
		return -ENOMEM;
	}
	return 0;
}

void metrics_snapshot__free(struct metrics_snapshot *s)
{
	for (int f = 0; f < FAM__COUNT; f++) {
		for (int i = 0; i < s->n[f]; i++)
			free(s->sn[f][i].ex);
		free(s->sn[f]);
		s->sn[f] = NULL;
		s->n[f] = 0;
	}
}
