/* test_otlp_metrics.c -- OTLP metrics encoders: a known registry read back with a small protobuf reader (and one
 * request compared byte for byte with a hand-built one), the OTLP/JSON mapping with cJSON */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "export/otlp_metrics.h"
#include "signal/expo.h"
#include "signal/metrics.h"

/* ---- a protobuf reader, written from the wire format (independent of the encoder's writer) ---------- */

struct msg {
	const uint8_t *p;
	size_t len;
};

struct fld {
	unsigned wire;
	uint64_t v;	  /* varint, fixed64, fixed32 */
	struct msg bytes; /* length-delimited */
};

static bool rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* the @nth (from 0) field numbered @num of @m; false when there are fewer (fails the test on bad bytes) */
static bool field(struct msg m, unsigned num, int nth, struct fld *f)
{
	const uint8_t *p = m.p, *end = m.p + m.len;

	while (p < end) {
		uint64_t key, v = 0;
		struct msg b = { 0 };

		ck_assert_msg(rd_varint(&p, end, &key), "bad key");
		switch (key & 7) {
		case 0:
			ck_assert(rd_varint(&p, end, &v));
			break;
		case 1:
		case 5: {
			int n = (key & 7) == 1 ? 8 : 4;

			ck_assert(p + n <= end);
			for (int i = 0; i < n; i++)
				v |= (uint64_t)p[i] << (8 * i);
			p += n;
			break;
		}
		case 2:
			ck_assert(rd_varint(&p, end, &v));
			ck_assert(v <= (uint64_t)(end - p));
			b = (struct msg){ p, (size_t)v };
			p += v;
			break;
		default:
			ck_abort_msg("wire type %u", (unsigned)(key & 7));
		}
		if ((key >> 3) == num && nth-- == 0) {
			*f = (struct fld){ (unsigned)(key & 7), v, b };
			return true;
		}
	}
	return false;
}

static int nfields(struct msg m, unsigned num)
{
	struct fld f;
	int n = 0;

	while (field(m, num, n, &f))
		n++;
	return n;
}

static struct msg sub(struct msg m, unsigned num, int nth)
{
	struct fld f;

	ck_assert_msg(field(m, num, nth, &f), "field %u #%d missing", num, nth);
	ck_assert_uint_eq(f.wire, 2);
	return f.bytes;
}

static uint64_t num_of(struct msg m, unsigned num, unsigned wire)
{
	struct fld f;

	ck_assert_msg(field(m, num, 0, &f), "field %u missing", num);
	ck_assert_uint_eq(f.wire, wire);
	return f.v;
}

static bool str_is(struct msg m, const char *s)
{
	return m.len == strlen(s) && !memcmp(m.p, s, m.len);
}

static double as_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* KeyValue #nth of @m's field @num is key = string value */
static void ck_kv(struct msg m, unsigned num, int nth, const char *key, const char *val)
{
	struct msg kv = sub(m, num, nth);

	ck_assert_msg(str_is(sub(kv, 1, 0), key), "attribute %d is not %s", nth, key);
	ck_assert_msg(str_is(sub(sub(kv, 2, 0), 1, 0), val), "%s is not %s", key, val);
}

/* ---- the registry ---------------------------------------------------------------------------------- */

static const uint64_t bounds_ns[] = { 1000000, 10000000, 100000000 }; /* 1 ms, 10 ms, 100 ms */
#define TID "0af7651916cd43dd8448eb211c80319c"
#define SID "b7ad6b7169203331"

static struct metrics *known_registry(void)
{
	struct metrics_opts o = { .bounds_ns = bounds_ns, .nbounds = 3 };
	struct metrics *m = metrics__new(&o);
	const char *http[] = { "shop", "GET", "200", "/users/{id}" };
	struct series *h;

	ck_assert_ptr_nonnull(m);
	h = metrics__series(m, FAM_HTTP_SERVER_DURATION, http);
	series__observe_ns(h, 500000);	   /* bucket 0 */
	series__observe_ns(h, 5000000);	   /* 1 */
	series__observe_ns(h, 7000001);	   /* 1 */
	series__observe_ns(h, 2000000000); /* +Inf */
	series__exemplar(h, 7000001, TID, SID, 1700000000.25);
	series__add(metrics__series(m, FAM_SOCKET_BYTES, (const char *[]){ "shop", "in", "tcp" }), 1234);
	series__set(metrics__series(m, FAM_TCP_ACTIVE, (const char *[]){ "shop", "server" }), 3);
	series__add(metrics__series(m, FAM_EVENTS, (const char *[]){ "ebpf" }), 7);
	return m;
}

static void fixed_times(struct metrics_snapshot *s)
{
	s->start_unix_ns = 1700000000000000000ull;
	s->unix_ns = 1700000060000000000ull;
}

START_TEST(protobuf_reads_back_exactly)
{
	struct metrics *m = known_registry();
	struct metrics_snapshot s;
	struct otlp_buf b = { 0 };
	struct msg req, rm, res, sm, met, data, dp, ex, packed;
	struct fld f;
	size_t n = 99;

	ck_assert_int_eq(metrics__snapshot(m, &s), 0);
	fixed_times(&s);
	ck_assert_int_eq(otlp__metrics_pb(&b, &s, &(struct otlp_host){ .name = "host1" }, &n), 0);
	ck_assert_uint_eq(n, 4);
	req = (struct msg){ b.data, b.len };

	/* two resources: the traced service, then the collector's own families */
	ck_assert_int_eq(nfields(req, 1), 2);
	rm = sub(req, 1, 0);
	res = sub(rm, 1, 0);
	ck_assert_int_eq(nfields(res, 1), 2);
	ck_kv(res, 1, 0, "service.name", "shop");
	ck_kv(res, 1, 1, "host.name", "host1");
	ck_assert_int_eq(nfields(rm, 2), 1);
	sm = sub(rm, 2, 0);
	ck_assert(str_is(sub(sub(sm, 1, 0), 1, 0), "obsprobe"));
	ck_assert_int_eq(nfields(sm, 2), 3); /* socket bytes, tcp active, http server: family order */

	/* a counter: a monotonic cumulative Sum of one as_int point */
	met = sub(sm, 2, 0);
	ck_assert(str_is(sub(met, 1, 0), "obsprobe_socket_bytes"));
	ck_assert(str_is(sub(met, 2, 0), "Bytes moved through sockets."));
	ck_assert(!field(met, 3, 0, &f)); /* no unit */
	data = sub(met, 7, 0);
	ck_assert_uint_eq(num_of(data, 2, 0), 2); /* CUMULATIVE */
	ck_assert_uint_eq(num_of(data, 3, 0), 1); /* is_monotonic */
	ck_assert_int_eq(nfields(data, 1), 1);
	dp = sub(data, 1, 0);
	ck_assert_int_eq(nfields(dp, 7), 3);
	ck_kv(dp, 7, 0, "service", "shop");
	ck_kv(dp, 7, 1, "direction", "in");
	ck_kv(dp, 7, 2, "protocol", "tcp");
	ck_assert_uint_eq(num_of(dp, 2, 1), 1700000000000000000ull);
	ck_assert_uint_eq(num_of(dp, 3, 1), 1700000060000000000ull);
	ck_assert_uint_eq(num_of(dp, 6, 1), 1234); /* sfixed64 as_int */

	/* a gauge: as_double, no start time */
	met = sub(sm, 2, 1);
	ck_assert(str_is(sub(met, 1, 0), "obsprobe_tcp_connections_active"));
	dp = sub(sub(met, 5, 0), 1, 0);
	ck_assert(as_double(num_of(dp, 4, 1)) == 3.0);
	ck_assert(!field(dp, 2, 0, &f));
	ck_kv(dp, 7, 1, "direction", "server");

	/* the histogram: name without _seconds, unit s, per-bucket counts with +Inf last, bounds in seconds */
	met = sub(sm, 2, 2);
	ck_assert(str_is(sub(met, 1, 0), "http_server_request_duration"));
	ck_assert(str_is(sub(met, 3, 0), "s"));
	data = sub(met, 9, 0);
	ck_assert_uint_eq(num_of(data, 2, 0), 2);
	dp = sub(data, 1, 0);
	ck_assert_int_eq(nfields(dp, 9), 4);
	ck_kv(dp, 9, 3, "http_route", "/users/{id}");
	ck_assert_uint_eq(num_of(dp, 4, 1), 4);
	ck_assert(as_double(num_of(dp, 5, 1)) == 2012500001 / 1e9);
	packed = sub(dp, 6, 0);
	ck_assert_uint_eq(packed.len, 4 * 8);
	{
		const uint64_t want[] = { 1, 2, 0, 1 };

		for (int i = 0; i < 4; i++) {
			uint64_t v = 0;

			for (int k = 0; k < 8; k++)
				v |= (uint64_t)packed.p[8 * i + k] << (8 * k);
			ck_assert_uint_eq(v, want[i]);
		}
	}
	packed = sub(dp, 7, 0);
	ck_assert_uint_eq(packed.len, 3 * 8);
	{
		const double want[] = { 0.001, 0.01, 0.1 };

		for (int i = 0; i < 3; i++) {
			uint64_t v = 0;

			for (int k = 0; k < 8; k++)
				v |= (uint64_t)packed.p[8 * i + k] << (8 * k);
			ck_assert(as_double(v) == want[i]);
		}
	}
	/* the exemplar of the bucket it fell in */
	ck_assert_int_eq(nfields(dp, 8), 1);
	ex = sub(dp, 8, 0);
	ck_assert_uint_eq(num_of(ex, 2, 1), 1700000000250000000ull);
	ck_assert(as_double(num_of(ex, 3, 1)) == 0.007000001);
	ck_assert(!memcmp(sub(ex, 5, 0).p, "\x0a\xf7\x65\x19\x16\xcd\x43\xdd\x84\x48\xeb\x21\x1c\x80\x31\x9c", 16));
	ck_assert(!memcmp(sub(ex, 4, 0).p, "\xb7\xad\x6b\x71\x69\x20\x33\x31", 8));

	/* the collector's own: service.name obsprobe, its label as the only attribute */
	rm = sub(req, 1, 1);
	ck_kv(sub(rm, 1, 0), 1, 0, "service.name", "obsprobe");
	sm = sub(rm, 2, 0);
	ck_assert_int_eq(nfields(sm, 2), 1);
	met = sub(sm, 2, 0);
	ck_assert(str_is(sub(met, 1, 0), "obsprobe_events"));
	dp = sub(sub(met, 7, 0), 1, 0);
	ck_assert_int_eq(nfields(dp, 7), 1);
	ck_kv(dp, 7, 0, "source", "ebpf");
	ck_assert_uint_eq(num_of(dp, 6, 1), 7);

	metrics_snapshot__free(&s);
	otlp_buf__free(&b);
	metrics__free(m);
}
END_TEST

/* hand-built protobuf, appended to a fixed buffer */
struct hb {
	uint8_t d[1024];
	size_t len;
};

static void hb_raw(struct hb *b, const void *p, size_t n)
{
	ck_assert(b->len + n <= sizeof(b->d));
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

static void hb_len(struct hb *b, uint8_t tag, size_t n)
{
	uint8_t v[10];
	size_t k = 0;

	hb_raw(b, &tag, 1);
	do {
		v[k++] = (uint8_t)((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
		n >>= 7;
	} while (n);
	hb_raw(b, v, k);
}

static void hb_msg(struct hb *b, uint8_t tag, const struct hb *inner)
{
	hb_len(b, tag, inner->len);
	hb_raw(b, inner->d, inner->len);
}

static void hb_str(struct hb *b, uint8_t tag, const char *s)
{
	hb_len(b, tag, strlen(s));
	hb_raw(b, s, strlen(s));
}

static void hb_fixed64(struct hb *b, uint8_t tag, uint64_t v)
{
	hb_raw(b, &tag, 1);
	for (int i = 0; i < 8; i++) {
		uint8_t x = (uint8_t)(v >> (8 * i));

		hb_raw(b, &x, 1);
	}
}

/* KeyValue { key = 1; value = 2 { string_value = 1 } } under @tag */
static void hb_kv(struct hb *b, uint8_t tag, const char *key, const char *val)
{
	struct hb kv = { 0 }, av = { 0 };

	hb_str(&av, 0x0a, val);
	hb_str(&kv, 0x0a, key);
	hb_msg(&kv, 0x12, &av);
	hb_msg(b, tag, &kv);
}

/* one counter, every byte written out by hand from the field numbers and wire types */
START_TEST(protobuf_bytes_by_hand)
{
	struct metrics_opts o = { .bounds_ns = bounds_ns, .nbounds = 3 };
	struct metrics *m = metrics__new(&o);
	struct metrics_snapshot s;
	struct otlp_buf b = { 0 };
	struct hb dp = { 0 }, sum = { 0 }, met = { 0 }, scope = { 0 }, sm = { 0 }, res = { 0 }, rm = { 0 }, req = { 0 };
	size_t n;

	ck_assert_ptr_nonnull(m);
	series__add(metrics__series(m, FAM_EVENTS, (const char *[]){ "x" }), 5);
	ck_assert_int_eq(metrics__snapshot(m, &s), 0);
	s.start_unix_ns = 1;
	s.unix_ns = 2;
	ck_assert_int_eq(otlp__metrics_pb(&b, &s, NULL, &n), 0);
	ck_assert_uint_eq(n, 1);

	hb_kv(&dp, 0x3a, "source", "x");     /* NumberDataPoint.attributes = 7 */
	hb_fixed64(&dp, 0x11, 1);	     /* start_time_unix_nano = 2, fixed64 */
	hb_fixed64(&dp, 0x19, 2);	     /* time_unix_nano = 3 */
	hb_fixed64(&dp, 0x31, 5);	     /* as_int = 6, sfixed64 */
	hb_msg(&sum, 0x0a, &dp);	     /* Sum.data_points = 1 */
	hb_raw(&sum, "\x10\x02\x18\x01", 4); /* aggregation_temporality = 2: CUMULATIVE; is_monotonic = 3 */
	hb_str(&met, 0x0a, "obsprobe_events");
	hb_str(&met, 0x12, "Events received from capture paths.");
	hb_msg(&met, 0x3a, &sum); /* Metric.sum = 7 */
	hb_str(&scope, 0x0a, "obsprobe");
	hb_str(&scope, 0x12, OBSPROBE_VERSION);
	hb_msg(&sm, 0x0a, &scope); /* ScopeMetrics.scope = 1 */
	hb_msg(&sm, 0x12, &met);   /* ScopeMetrics.metrics = 2 */
	hb_kv(&res, 0x0a, "service.name", "obsprobe");
	hb_msg(&rm, 0x0a, &res); /* ResourceMetrics.resource = 1 */
	hb_msg(&rm, 0x12, &sm);	 /* ResourceMetrics.scope_metrics = 2 */
	hb_msg(&req, 0x0a, &rm); /* ExportMetricsServiceRequest.resource_metrics = 1 */

	ck_assert_uint_eq(b.len, req.len);
	ck_assert(!memcmp(b.data, req.d, b.len));
	metrics_snapshot__free(&s);
	otlp_buf__free(&b);
	metrics__free(m);
}
END_TEST

static cJSON *jpath(cJSON *o, const char *key, int idx)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(v != NULL, "no \"%s\"", key);
	if (idx >= 0) {
		ck_assert(cJSON_IsArray(v));
		v = cJSON_GetArrayItem(v, idx);
		ck_assert_msg(v != NULL, "no \"%s\"[%d]", key, idx);
	}
	return v;
}

START_TEST(json_mapping)
{
	struct metrics *m = known_registry();
	struct metrics_snapshot s;
	struct otlp_buf b = { 0 };
	cJSON *root, *sm, *met, *dp, *ex;
	size_t n;

	ck_assert_int_eq(metrics__snapshot(m, &s), 0);
	fixed_times(&s);
	ck_assert_int_eq(otlp__metrics_json(&b, &s, &(struct otlp_host){ .name = "host1", .instance_id = "i-1" }, &n),
			 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(strlen((char *)b.data), b.len);
	root = cJSON_Parse((char *)b.data);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(cJSON_GetArraySize(jpath(root, "resourceMetrics", -1)), 2);
	sm = jpath(jpath(root, "resourceMetrics", 0), "scopeMetrics", 0);
	ck_assert_str_eq(jpath(jpath(jpath(jpath(root, "resourceMetrics", 0), "resource", -1), "attributes", 0),
			       "value", -1)
				 ->child->valuestring,
			 "shop");
	for (int r = 0; r < 2; r++) { /* host.name, then service.instance.id, on both resources */
		cJSON *at = jpath(jpath(jpath(root, "resourceMetrics", r), "resource", -1), "attributes", -1);

		ck_assert_int_eq(cJSON_GetArraySize(at), 3);
		ck_assert_str_eq(jpath(cJSON_GetArrayItem(at, 1), "key", -1)->valuestring, "host.name");
		ck_assert_str_eq(jpath(cJSON_GetArrayItem(at, 2), "key", -1)->valuestring, "service.instance.id");
		ck_assert_str_eq(jpath(jpath(cJSON_GetArrayItem(at, 2), "value", -1), "stringValue", -1)->valuestring,
				 "i-1");
	}

	met = jpath(sm, "metrics", 0);
	ck_assert_str_eq(jpath(met, "name", -1)->valuestring, "obsprobe_socket_bytes");
	ck_assert(cJSON_IsTrue(jpath(jpath(met, "sum", -1), "isMonotonic", -1)));
	ck_assert_int_eq(jpath(jpath(met, "sum", -1), "aggregationTemporality", -1)->valueint, 2);
	dp = jpath(jpath(met, "sum", -1), "dataPoints", 0);
	ck_assert_str_eq(jpath(dp, "asInt", -1)->valuestring, "1234");
	ck_assert_str_eq(jpath(dp, "startTimeUnixNano", -1)->valuestring, "1700000000000000000");
	ck_assert_str_eq(jpath(dp, "timeUnixNano", -1)->valuestring, "1700000060000000000");
	ck_assert_str_eq(jpath(jpath(dp, "attributes", 1), "key", -1)->valuestring, "direction");

	met = jpath(sm, "metrics", 1);
	dp = jpath(jpath(met, "gauge", -1), "dataPoints", 0);
	ck_assert(jpath(dp, "asDouble", -1)->valuedouble == 3.0);

	met = jpath(sm, "metrics", 2);
	ck_assert_str_eq(jpath(met, "name", -1)->valuestring, "http_server_request_duration");
	ck_assert_str_eq(jpath(met, "unit", -1)->valuestring, "s");
	dp = jpath(jpath(met, "histogram", -1), "dataPoints", 0);
	ck_assert_str_eq(jpath(dp, "count", -1)->valuestring, "4");
	ck_assert(jpath(dp, "sum", -1)->valuedouble == 2012500001 / 1e9);
	ck_assert_str_eq(jpath(dp, "bucketCounts", 1)->valuestring, "2");
	ck_assert_str_eq(jpath(dp, "bucketCounts", 3)->valuestring, "1");
	ck_assert_int_eq(cJSON_GetArraySize(jpath(dp, "bucketCounts", -1)), 4);
	ck_assert_int_eq(cJSON_GetArraySize(jpath(dp, "explicitBounds", -1)), 3);
	ck_assert(jpath(dp, "explicitBounds", 1)->valuedouble == 0.01);
	ex = jpath(dp, "exemplars", 0);
	ck_assert_str_eq(jpath(ex, "traceId", -1)->valuestring, TID);
	ck_assert_str_eq(jpath(ex, "spanId", -1)->valuestring, SID);
	ck_assert_str_eq(jpath(ex, "timeUnixNano", -1)->valuestring, "1700000000250000000");
	ck_assert(jpath(ex, "asDouble", -1)->valuedouble == 0.007000001);

	sm = jpath(jpath(root, "resourceMetrics", 1), "scopeMetrics", 0);
	ck_assert_str_eq(jpath(jpath(sm, "metrics", 0), "name", -1)->valuestring, "obsprobe_events");

	cJSON_Delete(root);
	metrics_snapshot__free(&s);
	otlp_buf__free(&b);
	metrics__free(m);
}
END_TEST

/* every series of a family lands in one Metric per resource, sorted by labels; empty registries encode nothing */
START_TEST(grouping_and_empty)
{
	struct metrics_opts o = { .bounds_ns = bounds_ns, .nbounds = 3 };
	struct metrics *m = metrics__new(&o);
	struct metrics_snapshot s;
	struct otlp_buf b = { 0 };
	struct msg req, sm;
	size_t n = 99;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(metrics__snapshot(m, &s), 0);
	ck_assert_int_eq(otlp__metrics_pb(&b, &s, NULL, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(b.len, 0);
	metrics_snapshot__free(&s);

	/* b, a, b again (created in that order), and a second service */
	series__add(metrics__series(m, FAM_TCP_CONNECTIONS, (const char *[]){ "svc2", "client" }), 1);
	series__add(metrics__series(m, FAM_TCP_CONNECTIONS, (const char *[]){ "svc1", "server" }), 2);
	series__add(metrics__series(m, FAM_TCP_CONNECTIONS, (const char *[]){ "svc1", "client" }), 3);
	ck_assert_int_eq(metrics__snapshot(m, &s), 0);
	ck_assert_int_eq(otlp__metrics_pb(&b, &s, NULL, &n), 0);
	ck_assert_uint_eq(n, 3);
	req = (struct msg){ b.data, b.len };
	ck_assert_int_eq(nfields(req, 1), 2);
	ck_kv(sub(sub(req, 1, 0), 1, 0), 1, 0, "service.name", "svc1");
	ck_kv(sub(sub(req, 1, 1), 1, 0), 1, 0, "service.name", "svc2");
	sm = sub(sub(req, 1, 0), 2, 0);
	ck_assert_int_eq(nfields(sm, 2), 1);
	ck_assert_int_eq(nfields(sub(sub(sm, 2, 0), 7, 0), 1), 2);
	ck_kv(sub(sub(sub(sm, 2, 0), 7, 0), 1, 0), 7, 1, "direction", "client");
	ck_kv(sub(sub(sub(sm, 2, 0), 7, 0), 1, 1), 7, 1, "direction", "server");
	metrics_snapshot__free(&s);
	otlp_buf__free(&b);
	metrics__free(m);
}
END_TEST

/* the exporter's producer snapshots and encodes in one call, in the asked format */
START_TEST(collect_both_formats)
{
	struct metrics *m = known_registry();
	struct otlp_buf b = { 0 };
	size_t n = 0;

	ck_assert_int_eq(otlp_metrics__collect(m, &b, false, &(struct otlp_host){ .name = "h" }, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(b.data[0], 0x0a);
	otlp_buf__reset(&b);
	ck_assert_int_eq(otlp_metrics__collect(m, &b, true, &(struct otlp_host){ .name = "h" }, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(b.data[0], '{');
	otlp_buf__free(&b);
	metrics__free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("otlp_metrics");
	TCase *tc = tcase_create("encoders");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, protobuf_reads_back_exactly);
	tcase_add_test(tc, protobuf_bytes_by_hand);
	tcase_add_test(tc, json_mapping);
	tcase_add_test(tc, grouping_and_empty);
	tcase_add_test(tc, collect_both_formats);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
