/* otlp.c -- OTLP encoders: ExportTrace/ExportLogsServiceRequest as protobuf and as OTLP/JSON, no I/O */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "export/otlp.h"
#include "lib/hex.h"

/*
 * Why a hand-written protobuf writer and not protobuf-c: protobuf-c needs C code generated from the
 * .proto files at build time (protoc-c plus the OTLP schema in the tree or fetched), and a runtime
 * library, to encode about ten message types one way.  Encoding is four primitives -- varint,
 * fixed32/fixed64 and length-delimited -- and the schema is a handful of field numbers, written out
 * below next to each message.  The unit test decodes what we write with `protoc --decode` against
 * the .proto files under tests/otlp/, so the field numbers are checked by a real protobuf parser.
 */

/* ---- growable buffer ------------------------------------------------------------------------------ */

static int buf_reserve(struct otlp_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1; /* room for a trailing NUL for the JSON encoders */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int otlp_buf__append(struct otlp_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void otlp_buf__reset(struct otlp_buf *b)
{
	b->len = 0;
}

void otlp_buf__free(struct otlp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---- UTF-8 ---------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	/* the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Copy @src (at most @max bytes, stops at NUL) to @dst replacing each invalid byte by U+FFFD.
 * With dst == NULL only measures.  Returns the output length (no NUL written). */
static size_t utf8_clean(char *dst, const char *src, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strnlen(src, max), i = 0, out = 0, k;

	while (i < n) {
		k = utf8_seq(s + i, n - i);
		if (k) {
			if (dst)
				memcpy(dst + out, s + i, k);
			out += k;
			i += k;
		} else {
			if (dst)
				memcpy(dst + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		}
	}
	return out;
}

/* ---- protobuf writer ------------------------------------------------------------------------------ */

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };
#define PB_LEN_RESERVE 5 /* a length-delimited field's size prefix, patched when the field closes */

struct pb {
	struct otlp_buf *b;
	int err;
};

static void pb_raw(struct pb *w, const void *p, size_t n)
{
	if (!w->err && otlp_buf__append(w->b, p, n))
		w->err = -ENOMEM;
}

static size_t varint_encode(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static void pb_varint(struct pb *w, uint64_t v)
{
	uint8_t tmp[10];

	pb_raw(w, tmp, varint_encode(tmp, v));
}

static void pb_tag(struct pb *w, unsigned field, unsigned wire)
{
	pb_varint(w, (uint64_t)field << 3 | wire);
}

/* varint field, omitted when 0 (proto3 default) */
static void pb_uint(struct pb *w, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(w, field, PB_VARINT);
	pb_varint(w, v);
}

static void pb_fixed64(struct pb *w, unsigned field, uint64_t v)
{
	uint8_t le[8];

	if (!v)
		return;
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_tag(w, field, PB_FIXED64);
	pb_raw(w, le, 8);
}

static void pb_fixed32(struct pb *w, unsigned field, uint32_t v)
{
	uint8_t le[4];

	if (!v)
		return;
	for (int i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_tag(w, field, PB_FIXED32);
	pb_raw(w, le, 4);
}

static void pb_bytes(struct pb *w, unsigned field, const void *p, size_t n)
{
	pb_tag(w, field, PB_LEN);
	pb_varint(w, n);
	pb_raw(w, p, n);
}

/* string field from a (possibly unterminated) char array of @max bytes; @always writes "" too
 * (needed inside a oneof, where presence matters) */
static void pb_string(struct pb *w, unsigned field, const char *s, size_t max, bool always)
{
	size_t n = utf8_clean(NULL, s, max);

	if (!n && !always)
		return;
	pb_tag(w, field, PB_LEN);
	pb_varint(w, n);
	if (w->err || buf_reserve(w->b, n)) {
		w->err = -ENOMEM;
		return;
	}
	utf8_clean((char *)w->b->data + w->b->len, s, max);
	w->b->len += n;
}

/* Open a length-delimited (message) field; returns where its content starts. */
static size_t pb_open(struct pb *w, unsigned field)
{
	static const uint8_t zeros[PB_LEN_RESERVE];

	pb_tag(w, field, PB_LEN);
	pb_raw(w, zeros, PB_LEN_RESERVE);
	return w->err ? 0 : w->b->len;
}

/* Close it: write the real size prefix and slide the content down over the unused reserve. */
static void pb_close(struct pb *w, size_t start)
{
	uint8_t tmp[10];
	size_t len, k;
	uint8_t *base;

	if (w->err)
		return;
	len = w->b->len - start;
	k = varint_encode(tmp, len);
	base = w->b->data + start - PB_LEN_RESERVE;
	memcpy(base, tmp, k);
	memmove(base + k, w->b->data + start, len);
	w->b->len = start - PB_LEN_RESERVE + k + len;
}

/* KeyValue { key = 1; AnyValue value = 2 }  AnyValue { string_value = 1; int_value = 3 } */
static void pb_kv_str(struct pb *w, unsigned field, const char *key, const char *val, size_t max)
{
	size_t kv = pb_open(w, field), av;

	pb_string(w, 1, key, SIZE_MAX, true);
	av = pb_open(w, 2);
	pb_string(w, 1, val, max, true);
	pb_close(w, av);
	pb_close(w, kv);
}

static void pb_kv_int(struct pb *w, unsigned field, const char *key, int64_t val)
{
	size_t kv = pb_open(w, field), av;

	pb_string(w, 1, key, SIZE_MAX, true);
	av = pb_open(w, 2);
	pb_tag(w, 3, PB_VARINT); /* inside the oneof: written even when 0 */
	pb_varint(w, (uint64_t)val);
	pb_close(w, av);
	pb_close(w, kv);
}

/* ---- resources: items grouped by who produced them ------------------------------------------------- */

struct res_view {
	const char *service;
	const char *exe;
	int32_t pid;
};

static void span_res(const void *item, struct res_view *rv)
{
	const struct span_resource *r = &((const struct span *)item)->resource;

	rv->service = r->service_name;
	rv->exe = r->executable_name;
	rv->pid = r->pid;
}

static void log_res(const void *item, struct res_view *rv)
{
	const struct log_record *l = item;

	rv->service = l->service;
	rv->exe = l->exe;
	rv->pid = l->pid;
}

static bool res_same(const struct res_view *a, const struct res_view *b)
{
	return a->pid == b->pid && !strncmp(a->service, b->service, SPAN_RES_STR_LEN) &&
	       !strncmp(a->exe, b->exe, SPAN_RES_STR_LEN);
}

/* the service.name value: OpenTelemetry's fallback when none is known */
static const char *res_service(const struct res_view *rv)
{
	return rv->service[0] ? rv->service : "unknown_service";
}

struct group_ops {
	size_t stride;
	void (*res)(const void *item, struct res_view *rv);
	/* begin a resource group / add one item / end the group; ctx is the encoder's */
	void (*begin)(void *ctx, const struct res_view *rv, const char *host);
	void (*item)(void *ctx, const void *item);
	void (*end)(void *ctx);
};

/* Calls begin/item.../end once per distinct resource, in order of first appearance. */
static int for_each_group(const void *items, size_t n, const struct group_ops *ops, void *ctx, const char *host)
{
	const char *base = items;
	struct res_view rv, rj;
	uint8_t *done;

	if (!n)
		return 0;
	done = calloc(n, 1);
	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		ops->res(base + i * ops->stride, &rv);
		ops->begin(ctx, &rv, host);
		for (size_t j = i; j < n; j++) {
			if (done[j])
				continue;
			ops->res(base + j * ops->stride, &rj);
			if (!res_same(&rv, &rj))
				continue;
			done[j] = 1;
			ops->item(ctx, base + j * ops->stride);
		}
		ops->end(ctx);
	}
	free(done);
	return 0;
}

/* ---- protobuf: traces and logs ------------------------------------------------------------------- */

struct pb_ctx {
	struct pb w;
	size_t res_off, scope_off; /* open ResourceSpans/ResourceLogs and ScopeSpans/ScopeLogs */
};

/* Resource { repeated KeyValue attributes = 1 } */
static void pb_resource(struct pb *w, const struct res_view *rv, const char *host)
{
	size_t r = pb_open(w, 1);

	pb_kv_str(w, 1, "service.name", res_service(rv), SPAN_RES_STR_LEN);
	if (rv->pid)
		pb_kv_int(w, 1, "process.pid", rv->pid);
	if (rv->exe[0])
		pb_kv_str(w, 1, "process.executable.name", rv->exe, SPAN_RES_STR_LEN);
	if (host && host[0])
		pb_kv_str(w, 1, "host.name", host, SIZE_MAX);
	pb_close(w, r);
}

/* Resource{Spans,Logs} { resource = 1; repeated Scope{Spans,Logs} = 2 }
 * Scope{Spans,Logs} { InstrumentationScope scope = 1; repeated items = 2 }
 * InstrumentationScope { name = 1; version = 2 }
 * Export{Trace,Logs}ServiceRequest { repeated Resource{Spans,Logs} = 1 } */
static void pb_group_begin(void *ctx, const struct res_view *rv, const char *host)
{
	struct pb_ctx *c = ctx;
	size_t scope;

	c->res_off = pb_open(&c->w, 1);
	pb_resource(&c->w, rv, host);
	c->scope_off = pb_open(&c->w, 2);
	scope = pb_open(&c->w, 1);
	pb_string(&c->w, 1, OTLP_SCOPE_NAME, SIZE_MAX, false);
	pb_string(&c->w, 2, OBSPROBE_VERSION, SIZE_MAX, false);
	pb_close(&c->w, scope);
}

static void pb_group_end(void *ctx)
{
	struct pb_ctx *c = ctx;

	pb_close(&c->w, c->scope_off);
	pb_close(&c->w, c->res_off);
}

/* Span { trace_id = 1; span_id = 2; trace_state = 3; parent_span_id = 4; name = 5; kind = 6;
 *        fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; attributes = 9;
 *        dropped_attributes_count = 10; Status status = 15; fixed32 flags = 16 }
 * Status { code = 3 } */
static void pb_span(void *ctx, const void *item)
{
	struct pb_ctx *c = ctx;
	const struct span *s = item;
	struct pb *w = &c->w;
	size_t off = pb_open(w, 2), st;
	unsigned nattrs = s->nattrs < SPAN_MAX_ATTRS ? s->nattrs : SPAN_MAX_ATTRS;

	pb_bytes(w, 1, s->trace_id, sizeof(s->trace_id));
	pb_bytes(w, 2, s->span_id, sizeof(s->span_id));
	pb_string(w, 3, s->trace_state, sizeof(s->trace_state), false);
	if (!span__id_is_zero(s->parent_span_id, sizeof(s->parent_span_id)))
		pb_bytes(w, 4, s->parent_span_id, sizeof(s->parent_span_id));
	pb_string(w, 5, s->name, sizeof(s->name), false);
	pb_uint(w, 6, s->kind);
	pb_fixed64(w, 7, s->start_ns);
	pb_fixed64(w, 8, s->end_ns);
	for (unsigned i = 0; i < nattrs; i++) {
		const struct span_attr *a = &s->attrs[i];

		if (a->type == SPAN_ATTR_STR)
			pb_kv_str(w, 9, a->key, a->str_value, sizeof(a->str_value));
		else if (a->type == SPAN_ATTR_INT)
			pb_kv_int(w, 9, a->key, a->int_value);
	}
	pb_uint(w, 10, s->dropped_attrs);
	if (s->status_code) {
		st = pb_open(w, 15);
		pb_uint(w, 3, s->status_code);
		pb_close(w, st);
	}
	pb_fixed32(w, 16, s->flags);
	pb_close(w, off);
}

/* LogRecord { fixed64 time_unix_nano = 1; severity_number = 2; severity_text = 3; AnyValue body = 5;
 *             attributes = 6; bytes trace_id = 9; bytes span_id = 10; fixed64 observed_time_unix_nano = 11 } */
static void pb_log(void *ctx, const void *item)
{
	struct pb_ctx *c = ctx;
	const struct log_record *l = item;
	struct pb *w = &c->w;
	size_t off = pb_open(w, 2), body;

	pb_fixed64(w, 1, l->time_ns);
	if (l->severity_number > 0)
		pb_uint(w, 2, (uint64_t)l->severity_number);
	pb_string(w, 3, l->severity_text, sizeof(l->severity_text), false);
	body = pb_open(w, 5);
	pb_string(w, 1, l->body, sizeof(l->body), true);
	pb_close(w, body);
	if (l->stream[0])
		pb_kv_str(w, 6, "log.iostream", l->stream, sizeof(l->stream));
	if (l->tid)
		pb_kv_int(w, 6, "thread.id", l->tid);
	if (!span__id_is_zero(l->trace_id, sizeof(l->trace_id)))
		pb_bytes(w, 9, l->trace_id, sizeof(l->trace_id));
	if (!span__id_is_zero(l->span_id, sizeof(l->span_id)))
		pb_bytes(w, 10, l->span_id, sizeof(l->span_id));
	pb_fixed64(w, 11, l->observed_ns);
	pb_close(w, off);
}

static int pb_encode(struct otlp_buf *out, const void *items, size_t n, const struct group_ops *ops, const char *host)
{
	struct pb_ctx c = { .w = { .b = out } };
	size_t start = out->len;
	int err;

	err = for_each_group(items, n, ops, &c, host);
	if (!err)
		err = c.w.err;
	if (err)
		out->len = start;
	return err;
}

int otlp__traces_pb(struct otlp_buf *out, const struct span *spans, size_t n, const char *host_name)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct span),
		.res = span_res,
		.begin = pb_group_begin,
		.item = pb_span,
		.end = pb_group_end,
	};

	return pb_encode(out, spans, n, &ops, host_name);
}

int otlp__logs_pb(struct otlp_buf *out, const struct log_record *logs, size_t n, const char *host_name)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct log_record),
		.res = log_res,
		.begin = pb_group_begin,
		.item = pb_log,
		.end = pb_group_end,
	};

	return pb_encode(out, logs, n, &ops, host_name);
}

/* ---- OTLP/JSON ----------------------------------------------------------------------------------- */

struct json_ctx {
	cJSON *groups;	       /* the resourceSpans / resourceLogs array */
	cJSON *items;	       /* the open group's spans / logRecords array */
	const char *res_key;   /* "scopeSpans" / "scopeLogs" */
	const char *items_key; /* "spans" / "logRecords" */
	bool oom;
};

/* cJSON returns NULL when out of memory; every helper remembers that in ctx->oom */
static cJSON *j_check(struct json_ctx *c, cJSON *item)
{
	if (!item)
		c->oom = true;
	return item;
}

static void j_add(struct json_ctx *c, cJSON *obj, const char *key, cJSON *item)
{
	if (!item || !obj) {
		c->oom = true;
		cJSON_Delete(item);
		return;
	}
	if (key)
		cJSON_AddItemToObject(obj, key, item);
	else
		cJSON_AddItemToArray(obj, item);
}

static cJSON *j_string(struct json_ctx *c, const char *s, size_t max)
{
	char stack[1024], *tmp = stack;
	size_t n = utf8_clean(NULL, s, max);
	cJSON *item;

	if (n >= sizeof(stack) && !(tmp = malloc(n + 1))) {
		c->oom = true;
		return NULL;
	}
	utf8_clean(tmp, s, max);
	tmp[n] = '\0';
	item = j_check(c, cJSON_CreateString(tmp));
	if (tmp != stack)
		free(tmp);
	return item;
}

static void j_str(struct json_ctx *c, cJSON *obj, const char *key, const char *s, size_t max)
{
	j_add(c, obj, key, j_string(c, s, max));
}

static void j_num(struct json_ctx *c, cJSON *obj, const char *key, double v)
{
	j_add(c, obj, key, j_check(c, cJSON_CreateNumber(v)));
}

/* 64-bit integers travel as decimal strings in OTLP/JSON */
static void j_u64(struct json_ctx *c, cJSON *obj, const char *key, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	j_add(c, obj, key, j_check(c, cJSON_CreateString(tmp)));
}

static void j_hex(struct json_ctx *c, cJSON *obj, const char *key, const uint8_t *id, size_t len)
{
	char tmp[33];

	hex__encode(tmp, id, len);
	j_add(c, obj, key, j_check(c, cJSON_CreateString(tmp)));
}

static cJSON *j_obj(struct json_ctx *c, cJSON *parent, const char *key)
{
	cJSON *o = j_check(c, cJSON_CreateObject());

	j_add(c, parent, key, o);
	return o;
}

static cJSON *j_arr(struct json_ctx *c, cJSON *parent, const char *key)
{
	cJSON *a = j_check(c, cJSON_CreateArray());

	j_add(c, parent, key, a);
	return a;
}

/* {"key":K,"value":{"stringValue":V}} / {"key":K,"value":{"intValue":"N"}} */
static void j_kv_str(struct json_ctx *c, cJSON *arr, const char *key, const char *val, size_t max)
{
	cJSON *kv = j_obj(c, arr, NULL);

	j_str(c, kv, "key", key, SIZE_MAX);
	j_str(c, j_obj(c, kv, "value"), "stringValue", val, max);
}

static void j_kv_int(struct json_ctx *c, cJSON *arr, const char *key, int64_t val)
{
	cJSON *kv = j_obj(c, arr, NULL);
	char tmp[24];

	j_str(c, kv, "key", key, SIZE_MAX);
	snprintf(tmp, sizeof(tmp), "%" PRId64, val);
	j_str(c, j_obj(c, kv, "value"), "intValue", tmp, sizeof(tmp));
}

static void j_group_begin(void *ctx, const struct res_view *rv, const char *host)
{
	struct json_ctx *c = ctx;
	cJSON *group = j_obj(c, c->groups, NULL);
	cJSON *attrs = j_arr(c, j_obj(c, group, "resource"), "attributes");
	cJSON *scope_items = j_obj(c, j_arr(c, group, c->res_key), NULL);
	cJSON *scope = j_obj(c, scope_items, "scope");

	j_kv_str(c, attrs, "service.name", res_service(rv), SPAN_RES_STR_LEN);
	if (rv->pid)
		j_kv_int(c, attrs, "process.pid", rv->pid);
	if (rv->exe[0])
		j_kv_str(c, attrs, "process.executable.name", rv->exe, SPAN_RES_STR_LEN);
	if (host && host[0])
		j_kv_str(c, attrs, "host.name", host, SIZE_MAX);
	j_str(c, scope, "name", OTLP_SCOPE_NAME, SIZE_MAX);
	j_str(c, scope, "version", OBSPROBE_VERSION, SIZE_MAX);
	c->items = j_arr(c, scope_items, c->items_key);
}

static void j_group_end(void *ctx)
{
	((struct json_ctx *)ctx)->items = NULL;
}

static void j_span(void *ctx, const void *item)
{
	struct json_ctx *c = ctx;
	const struct span *s = item;
	cJSON *o = j_obj(c, c->items, NULL), *attrs;
	unsigned nattrs = s->nattrs < SPAN_MAX_ATTRS ? s->nattrs : SPAN_MAX_ATTRS;

	j_hex(c, o, "traceId", s->trace_id, sizeof(s->trace_id));
	j_hex(c, o, "spanId", s->span_id, sizeof(s->span_id));
	if (s->trace_state[0])
		j_str(c, o, "traceState", s->trace_state, sizeof(s->trace_state));
	if (!span__id_is_zero(s->parent_span_id, sizeof(s->parent_span_id)))
		j_hex(c, o, "parentSpanId", s->parent_span_id, sizeof(s->parent_span_id));
	if (s->flags)
		j_num(c, o, "flags", s->flags);
	j_str(c, o, "name", s->name, sizeof(s->name));
	j_num(c, o, "kind", s->kind);
	j_u64(c, o, "startTimeUnixNano", s->start_ns);
	j_u64(c, o, "endTimeUnixNano", s->end_ns);
	attrs = j_arr(c, o, "attributes");
	for (unsigned i = 0; i < nattrs; i++) {
		const struct span_attr *a = &s->attrs[i];

		if (a->type == SPAN_ATTR_STR)
			j_kv_str(c, attrs, a->key, a->str_value, sizeof(a->str_value));
		else if (a->type == SPAN_ATTR_INT)
			j_kv_int(c, attrs, a->key, a->int_value);
	}
	if (s->dropped_attrs)
		j_num(c, o, "droppedAttributesCount", s->dropped_attrs);
	if (s->status_code)
		j_num(c, j_obj(c, o, "status"), "code", s->status_code);
}

static void j_log(void *ctx, const void *item)
{
	struct json_ctx *c = ctx;
	const struct log_record *l = item;
	cJSON *o = j_obj(c, c->items, NULL), *attrs;

	j_u64(c, o, "timeUnixNano", l->time_ns);
	j_u64(c, o, "observedTimeUnixNano", l->observed_ns);
	if (l->severity_number > 0)
		j_num(c, o, "severityNumber", l->severity_number);
	if (l->severity_text[0])
		j_str(c, o, "severityText", l->severity_text, sizeof(l->severity_text));
	j_str(c, j_obj(c, o, "body"), "stringValue", l->body, sizeof(l->body));
	attrs = j_arr(c, o, "attributes");
	if (l->stream[0])
		j_kv_str(c, attrs, "log.iostream", l->stream, sizeof(l->stream));
	if (l->tid)
		j_kv_int(c, attrs, "thread.id", l->tid);
	if (!span__id_is_zero(l->trace_id, sizeof(l->trace_id)))
		j_hex(c, o, "traceId", l->trace_id, sizeof(l->trace_id));
	if (!span__id_is_zero(l->span_id, sizeof(l->span_id)))
		j_hex(c, o, "spanId", l->span_id, sizeof(l->span_id));
}

static int json_encode(struct otlp_buf *out, const void *items, size_t n, const struct group_ops *ops, const char *host,
		       const char *top_key, const char *res_key, const char *items_key)
{
	struct json_ctx c = { .res_key = res_key, .items_key = items_key };
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	size_t start = out->len;
	int err = -ENOMEM;

	if (!root)
		return -ENOMEM;
	c.groups = j_arr(&c, root, top_key);
	if (for_each_group(items, n, ops, &c, host) || c.oom)
		goto cleanup;
	text = cJSON_PrintUnformatted(root);
	if (!text)
		goto cleanup;
	err = otlp_buf__append(out, text, strlen(text));
	if (!err)
		out->data[out->len] = '\0';
cleanup:
	if (err)
		out->len = start;
	free(text);
	cJSON_Delete(root);
	return err;
}

static const struct group_ops json_span_ops = {
	.stride = sizeof(struct span),
	.res = span_res,
	.begin = j_group_begin,
	.item = j_span,
	.end = j_group_end,
};

int otlp__traces_json(struct otlp_buf *out, const struct span *spans, size_t n, const char *host_name)
{
	return json_encode(out, spans, n, &json_span_ops, host_name, "resourceSpans", "scopeSpans", "spans");
}

int otlp__logs_json(struct otlp_buf *out, const struct log_record *logs, size_t n, const char *host_name)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct log_record),
		.res = log_res,
		.begin = j_group_begin,
		.item = j_log,
		.end = j_group_end,
	};

	return json_encode(out, logs, n, &ops, host_name, "resourceLogs", "scopeLogs", "logRecords");
}

int otlp__span_line(struct otlp_buf *out, const struct span *span, const char *host_name)
{
	size_t start = out->len;
	int err = otlp__traces_json(out, span, 1, host_name);

	if (!err)
		err = otlp_buf__append(out, "\n", 1);
	if (err)
		out->len = start;
	else
		out->data[out->len] = '\0';
	return err;
}
