/* otlp_metrics.c -- OTLP metrics: a registry snapshot as an ExportMetricsServiceRequest, protobuf or OTLP/JSON */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "export/otlp_group.h"
#include "export/otlp_metrics.h"
#include "export/otlp_pb.h"
#include "signal/expo.h"

#define SELF_SERVICE "obsprobe" /* the resource of the families without a "service" label */
#define AGGREGATION_TEMPORALITY_CUMULATIVE 2

/* ---- the walk both encoders share ----------------------------------------------------------------- */

/* one series: family @fam's @idx-th, under resource @service (NULL: the collector's own) */
struct ref {
	int fam, idx;
	const char *service;
};

struct walk_ops {
	void (*res_begin)(void *ctx, const char *service, const struct otlp_host *host);
	void (*metric_begin)(void *ctx, const struct family_def *d, const char *name, const char *unit);
	void (*point)(void *ctx, const struct family_def *d, int nlabels, const struct snap *p,
		      const struct metrics_snapshot *s);
	void (*metric_end)(void *ctx, const struct family_def *d);
	void (*res_end)(void *ctx);
};

static int ref_cmp(const void *a, const void *b, void *arg)
{
	const struct ref *x = a, *y = b;
	const struct metrics_snapshot *s = arg;
	int c, nl;

	if (!x->service != !y->service)
		return x->service ? -1 : 1; /* the collector's own last */
	if (x->service && (c = strcmp(x->service, y->service)))
		return c;
	if (x->fam != y->fam)
		return x->fam - y->fam;
	nl = family_def__nlabels(&s->defs[x->fam]);
	for (int l = 0; l < nl; l++)
		if ((c = strcmp(s->sn[x->fam][x->idx].values[l], s->sn[y->fam][y->idx].values[l])))
			return c;
	return 0;
}

/* "..._seconds" -> "..." with unit "s" (OpenMetrics UNIT seconds, as the compatibility rules trim it) */
static void otlp_name(const struct family_def *d, char *name, size_t len, const char **unit)
{
	size_t n = strlen(d->name);

	*unit = "";
	if (n > 8 && !strcmp(d->name + n - 8, "_seconds")) {
		n -= 8;
		*unit = "s";
	}
	snprintf(name, len, "%.*s", (int)n, d->name);
}

static bool same_res(const struct ref *a, const struct ref *b)
{
	return !a->service == !b->service && (!a->service || !strcmp(a->service, b->service));
}

static int walk(const struct metrics_snapshot *s, const struct walk_ops *ops, void *ctx, const struct otlp_host *host,
		size_t *npoints)
{
	struct ref *refs;
	size_t n = 0, k = 0;

	for (int f = 0; f < FAM__COUNT; f++)
		n += (size_t)s->n[f];
	*npoints = n;
	if (!n)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (int f = 0; f < FAM__COUNT; f++) {
		bool by_service = s->defs[f].labels[0] && !strcmp(s->defs[f].labels[0], "service");

		for (int i = 0; i < s->n[f]; i++)
			refs[k++] = (struct ref){ f, i, by_service ? s->sn[f][i].values[0] : NULL };
	}
	qsort_r(refs, n, sizeof(*refs), ref_cmp, (void *)s);
	for (k = 0; k < n; k++) {
		const struct family_def *d = &s->defs[refs[k].fam];
		bool new_res = !k || !same_res(&refs[k - 1], &refs[k]);

		if (new_res)
			ops->res_begin(ctx, refs[k].service ? refs[k].service : SELF_SERVICE, host);
		if (new_res || refs[k - 1].fam != refs[k].fam) {
			char name[128];
			const char *unit;

			otlp_name(d, name, sizeof(name), &unit);
			ops->metric_begin(ctx, d, name, unit);
		}
		ops->point(ctx, d, family_def__nlabels(d), &s->sn[refs[k].fam][refs[k].idx], s);
		if (k + 1 == n || !same_res(&refs[k], &refs[k + 1]) || refs[k + 1].fam != refs[k].fam)
			ops->metric_end(ctx, d);
		if (k + 1 == n || !same_res(&refs[k], &refs[k + 1]))
			ops->res_end(ctx);
	}
	free(refs);
	return 0;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* @n bytes from 2*@n hex digits; false when @hex is not that */
static bool hex_id(uint8_t *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = unhex(hex[2 * i]), lo = hi < 0 ? -1 : unhex(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return !hex[2 * n];
}

/* the registry keeps an exemplar's time as double seconds (OpenMetrics' form): good to the microsecond */
static uint64_t ts_ns(double unix_s)
{
	return unix_s > 0 ? (uint64_t)llround(unix_s * 1e6) * 1000 : 0;
}

/* ---- protobuf -------------------------------------------------------------------------------------- */

struct pbm {
	struct pb w;
	size_t res, scope_metrics, metric, data;
};

/* ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2 }
 * ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2 }
 * ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1 } */
static void pb_res_begin(void *ctx, const char *service, const struct otlp_host *host)
{
	struct pbm *c = ctx;
	size_t r, scope;

	c->res = pb_open(&c->w, 1);
	r = pb_open(&c->w, 1);
	pb_kv_str(&c->w, 1, "service.name", service[0] ? service : "unknown_service", SIZE_MAX);
	if (host && host->name && host->name[0])
		pb_kv_str(&c->w, 1, "host.name", host->name, SIZE_MAX);
	if (host && host->instance_id && host->instance_id[0])
		pb_kv_str(&c->w, 1, "service.instance.id", host->instance_id, SIZE_MAX);
	pb_close(&c->w, r);
	c->scope_metrics = pb_open(&c->w, 2);
	scope = pb_open(&c->w, 1);
	pb_string(&c->w, 1, OTLP_SCOPE_NAME, SIZE_MAX, false);
	pb_string(&c->w, 2, OBSPROBE_VERSION, SIZE_MAX, false);
	pb_close(&c->w, scope);
}

static void pb_res_end(void *ctx)
{
	struct pbm *c = ctx;

	pb_close(&c->w, c->scope_metrics);
	pb_close(&c->w, c->res);
}

/* Metric { name = 1; description = 2; unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9 } } */
static void pb_metric_begin(void *ctx, const struct family_def *d, const char *name, const char *unit)
{
	struct pbm *c = ctx;

	c->metric = pb_open(&c->w, 2);
	pb_string(&c->w, 1, name, SIZE_MAX, false);
	pb_string(&c->w, 2, d->help, SIZE_MAX, false);
	pb_string(&c->w, 3, unit, SIZE_MAX, false);
	c->data = pb_open(&c->w, d->type == COUNTER ? 7 : d->type == GAUGE ? 5 : 9);
}

/* Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2;
 *       bool is_monotonic = 3 }   Histogram { repeated HistogramDataPoint data_points = 1;
 *       aggregation_temporality = 2 }   Gauge { repeated NumberDataPoint data_points = 1 } */
static void pb_metric_end(void *ctx, const struct family_def *d)
{
	struct pbm *c = ctx;

	if (d->type != GAUGE)
		pb_uint(&c->w, 2, AGGREGATION_TEMPORALITY_CUMULATIVE);
	if (d->type == COUNTER)
		pb_uint(&c->w, 3, 1);
	pb_close(&c->w, c->data);
	pb_close(&c->w, c->metric);
}

/* Exemplar { fixed64 time_unix_nano = 2; double as_double = 3; bytes span_id = 4; bytes trace_id = 5 } */
static void pb_exemplar(struct pb *w, const struct exemplar *ex)
{
	uint8_t tid[16], sid[8];
	size_t off;

	if (!hex_id(tid, ex->trace_id, 16) || !hex_id(sid, ex->span_id, 8))
		return;
	off = pb_open(w, 8);
	pb_fixed64(w, 2, ts_ns(ex->ts));
	pb_double(w, 3, (double)ex->ns / 1e9);
	pb_bytes(w, 4, sid, 8);
	pb_bytes(w, 5, tid, 16);
	pb_close(w, off);
}

/* NumberDataPoint { attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
 *                   double as_double = 4; sfixed64 as_int = 6 }
 * HistogramDataPoint { attributes = 9; start_time_unix_nano = 2; time_unix_nano = 3; fixed64 count = 4;
 *                      double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
 *                      repeated Exemplar exemplars = 8 } */
static void pb_point(void *ctx, const struct family_def *d, int nlabels, const struct snap *p,
		     const struct metrics_snapshot *s)
{
	struct pbm *c = ctx;
	struct pb *w = &c->w;
	size_t off = pb_open(w, 1);
	unsigned attrs = d->type == HISTOGRAM ? 9 : 7;

	for (int l = 0; l < nlabels; l++)
		pb_kv_str(w, attrs, d->labels[l], p->values[l], SIZE_MAX);
	if (d->type != GAUGE)
		pb_fixed64(w, 2, s->start_unix_ns);
	pb_fixed64(w, 3, s->unix_ns);
	if (d->type == COUNTER && d->ns) {
		pb_double(w, 4, (double)p->counter / 1e9); /* kept in ns, shown in seconds as /metrics does */
	} else if (d->type == COUNTER) {
		pb_sfixed64(w, 6, (int64_t)p->counter);
	} else if (d->type == GAUGE) {
		pb_double(w, 4, p->gauge);
	} else {
		double bounds[OBS_MAX_BOUNDS];

		for (int i = 0; i < s->bounds.n; i++)
			bounds[i] = (double)s->bounds.ns[i] / 1e9;
		pb_fixed64(w, 4, p->hist.count);
		pb_double(w, 5, (double)p->hist.sum_ns / 1e9);
		pb_packed64(w, 6, p->hist.buckets, NULL, (size_t)s->bounds.n + 1);
		pb_packed64(w, 7, NULL, bounds, (size_t)s->bounds.n);
		for (int i = 0; p->ex && i <= s->bounds.n; i++)
			if (p->ex[i].trace_id[0])
				pb_exemplar(w, &p->ex[i]);
	}
	pb_close(w, off);
}

int otlp__metrics_pb(struct otlp_buf *out, const struct metrics_snapshot *s, const struct otlp_host *host,
		     size_t *npoints)
{
	static const struct walk_ops ops = { pb_res_begin, pb_metric_begin, pb_point, pb_metric_end, pb_res_end };
	struct pbm c = { .w = { .b = out } };
	size_t start = out->len;
	int err = walk(s, &ops, &c, host, npoints);

	if (!err)
		err = c.w.err;
	if (err)
		out->len = start;
	return err;
}

/* ---- OTLP/JSON ------------------------------------------------------------------------------------- */

struct jm {
	cJSON *root, *res_arr, *metrics, *data, *points;
	bool oom;
};

static cJSON *jadd(struct jm *c, cJSON *parent, const char *key, cJSON *item)
{
	if (!item || !parent) {
		c->oom = true;
		cJSON_Delete(item);
		return NULL;
	}
	if (key)
		cJSON_AddItemToObject(parent, key, item);
	else
		cJSON_AddItemToArray(parent, item);
	return item;
}

static void jstr(struct jm *c, cJSON *o, const char *key, const char *v)
{
	size_t n = otlp_group__utf8_clean(NULL, v, SIZE_MAX);
	char *tmp = malloc(n + 1);

	if (!tmp) {
		c->oom = true;
		return;
	}
	otlp_group__utf8_clean(tmp, v, SIZE_MAX);
	tmp[n] = '\0';
	jadd(c, o, key, cJSON_CreateString(tmp));
	free(tmp);
}

/* 64-bit integers are decimal strings in OTLP/JSON */
static void ju64(struct jm *c, cJSON *o, const char *key, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	jadd(c, o, key, cJSON_CreateString(tmp));
}

static void jnum(struct jm *c, cJSON *o, const char *key, double v)
{
	jadd(c, o, key, cJSON_CreateNumber(v));
}

static void jkv(struct jm *c, cJSON *arr, const char *key, const char *val)
{
	cJSON *kv = jadd(c, arr, NULL, cJSON_CreateObject());

	jstr(c, kv, "key", key);
	jstr(c, jadd(c, kv, "value", cJSON_CreateObject()), "stringValue", val);
}

static void j_res_begin(void *ctx, const char *service, const struct otlp_host *host)
{
	struct jm *c = ctx;
	cJSON *rm = jadd(c, c->res_arr, NULL, cJSON_CreateObject());
	cJSON *attrs = jadd(c, jadd(c, rm, "resource", cJSON_CreateObject()), "attributes", cJSON_CreateArray());
	cJSON *sm = jadd(c, jadd(c, rm, "scopeMetrics", cJSON_CreateArray()), NULL, cJSON_CreateObject());
	cJSON *scope = jadd(c, sm, "scope", cJSON_CreateObject());

	jkv(c, attrs, "service.name", service[0] ? service : "unknown_service");
	if (host && host->name && host->name[0])
		jkv(c, attrs, "host.name", host->name);
	if (host && host->instance_id && host->instance_id[0])
		jkv(c, attrs, "service.instance.id", host->instance_id);
	jstr(c, scope, "name", OTLP_SCOPE_NAME);
	jstr(c, scope, "version", OBSPROBE_VERSION);
	c->metrics = jadd(c, sm, "metrics", cJSON_CreateArray());
}

static void j_res_end(void *ctx)
{
	((struct jm *)ctx)->metrics = NULL;
}

static void j_metric_begin(void *ctx, const struct family_def *d, const char *name, const char *unit)
{
	struct jm *c = ctx;
	cJSON *m = jadd(c, c->metrics, NULL, cJSON_CreateObject());

	jstr(c, m, "name", name);
	jstr(c, m, "description", d->help);
	if (unit[0])
		jstr(c, m, "unit", unit);
	c->data = jadd(c, m,
		       d->type == COUNTER ? "sum"
		       : d->type == GAUGE ? "gauge"
					  : "histogram",
		       cJSON_CreateObject());
	c->points = jadd(c, c->data, "dataPoints", cJSON_CreateArray());
}

static void j_metric_end(void *ctx, const struct family_def *d)
{
	struct jm *c = ctx;

	if (d->type != GAUGE)
		jnum(c, c->data, "aggregationTemporality", AGGREGATION_TEMPORALITY_CUMULATIVE);
	if (d->type == COUNTER)
		jadd(c, c->data, "isMonotonic", cJSON_CreateBool(1));
}

static void j_point(void *ctx, const struct family_def *d, int nlabels, const struct snap *p,
		    const struct metrics_snapshot *s)
{
	struct jm *c = ctx;
	cJSON *dp = jadd(c, c->points, NULL, cJSON_CreateObject());
	cJSON *attrs = jadd(c, dp, "attributes", cJSON_CreateArray()), *buckets, *bounds, *exs;

	for (int l = 0; l < nlabels; l++)
		jkv(c, attrs, d->labels[l], p->values[l]);
	if (d->type != GAUGE)
		ju64(c, dp, "startTimeUnixNano", s->start_unix_ns);
	ju64(c, dp, "timeUnixNano", s->unix_ns);
	if (d->type == COUNTER && d->ns) {
		jnum(c, dp, "asDouble", (double)p->counter / 1e9);
		return;
	}
	if (d->type == COUNTER) {
		ju64(c, dp, "asInt", p->counter);
		return;
	}
	if (d->type == GAUGE) {
		jnum(c, dp, "asDouble", p->gauge);
		return;
	}
	ju64(c, dp, "count", p->hist.count);
	jnum(c, dp, "sum", (double)p->hist.sum_ns / 1e9);
	buckets = jadd(c, dp, "bucketCounts", cJSON_CreateArray());
	bounds = jadd(c, dp, "explicitBounds", cJSON_CreateArray());
	for (int i = 0; i <= s->bounds.n; i++) {
		char tmp[24];

		snprintf(tmp, sizeof(tmp), "%" PRIu64, p->hist.buckets[i]);
		jadd(c, buckets, NULL, cJSON_CreateString(tmp));
		if (i < s->bounds.n)
			jadd(c, bounds, NULL, cJSON_CreateNumber((double)s->bounds.ns[i] / 1e9));
	}
	exs = NULL;
	for (int i = 0; p->ex && i <= s->bounds.n; i++) {
		const struct exemplar *ex = &p->ex[i];
		uint8_t tid[16], sid[8];
		cJSON *e;

		if (!ex->trace_id[0] || !hex_id(tid, ex->trace_id, 16) || !hex_id(sid, ex->span_id, 8))
			continue;
		if (!exs)
			exs = jadd(c, dp, "exemplars", cJSON_CreateArray());
		e = jadd(c, exs, NULL, cJSON_CreateObject());
		ju64(c, e, "timeUnixNano", ts_ns(ex->ts));
		jnum(c, e, "asDouble", (double)ex->ns / 1e9);
		jstr(c, e, "spanId", ex->span_id);
		jstr(c, e, "traceId", ex->trace_id);
	}
}

int otlp__metrics_json(struct otlp_buf *out, const struct metrics_snapshot *s, const struct otlp_host *host,
		       size_t *npoints)
{
	static const struct walk_ops ops = { j_res_begin, j_metric_begin, j_point, j_metric_end, j_res_end };
	struct jm c = { 0 };
	char *text = NULL;
	int err;

	c.root = cJSON_CreateObject();
	c.res_arr = jadd(&c, c.root, "resourceMetrics", cJSON_CreateArray());
	err = walk(s, &ops, &c, host, npoints);
	if (!err && !c.oom)
		text = cJSON_PrintUnformatted(c.root);
	if (!err && (c.oom || !text || otlp_buf__append(out, text, strlen(text))))
		err = -ENOMEM;
	if (!err)
		out->data[out->len] = '\0'; /* otlp_buf keeps room for it */
	free(text);
	cJSON_Delete(c.root);
	return err;
}

/* ---- the exporter's producer ----------------------------------------------------------------------- */

int otlp_metrics__collect(void *ctx, struct otlp_buf *out, bool json, const struct otlp_host *host, size_t *npoints)
{
	struct metrics_snapshot s;
	int err = metrics__snapshot(ctx, &s);

	*npoints = 0;
	if (err)
		return err;
	err = json ? otlp__metrics_json(out, &s, host, npoints) : otlp__metrics_pb(out, &s, host, npoints);
	metrics_snapshot__free(&s);
	return err;
}
