/* otlp_json_cjson.h -- the OTLP/JSON encoders as they were before issue 13 (cJSON tree, printed, freed): the
 * reference test_otlp_json.c holds the direct writer (export/otlp_json.c) to, byte for byte.  Test-only. */
#ifndef OBSPROBE_OTLP_JSON_CJSON_H
#define OBSPROBE_OTLP_JSON_CJSON_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "export/otlp_group.h"
#include "export/otlp_json.h"
#include "lib/hex.h"

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
	size_t n = otlp_group__utf8_clean(NULL, s, max);
	cJSON *item;

	if (n >= sizeof(stack) && !(tmp = malloc(n + 1))) {
		c->oom = true;
		return NULL;
	}
	otlp_group__utf8_clean(tmp, s, max);
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

static void j_group_begin(void *ctx, const struct res_view *rv, const struct otlp_host *host)
{
	struct json_ctx *c = ctx;
	cJSON *group = j_obj(c, c->groups, NULL);
	cJSON *attrs = j_arr(c, j_obj(c, group, "resource"), "attributes");
	cJSON *scope_items = j_obj(c, j_arr(c, group, c->res_key), NULL);
	cJSON *scope = j_obj(c, scope_items, "scope");

	j_kv_str(c, attrs, "service.name", otlp_group__service(rv), SPAN_RES_STR_LEN);
	if (rv->pid)
		j_kv_int(c, attrs, "process.pid", rv->pid);
	if (rv->exe[0])
		j_kv_str(c, attrs, "process.executable.name", rv->exe, SPAN_RES_STR_LEN);
	if (rv->ctr->id[0])
		j_kv_str(c, attrs, "container.id", rv->ctr->id, sizeof(rv->ctr->id));
	if (rv->ctr->pod_uid[0])
		j_kv_str(c, attrs, "k8s.pod.uid", rv->ctr->pod_uid, sizeof(rv->ctr->pod_uid));
	if (rv->ctr->cgroup[0])
		j_kv_str(c, attrs, "process.linux.cgroup", rv->ctr->cgroup, sizeof(rv->ctr->cgroup));
	if (host && host->name && host->name[0])
		j_kv_str(c, attrs, "host.name", host->name, SIZE_MAX);
	if (host && host->instance_id && host->instance_id[0])
		j_kv_str(c, attrs, "service.instance.id", host->instance_id, SIZE_MAX);
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

static int json_encode(struct otlp_buf *out, const void *items, size_t n, const struct group_ops *ops,
		       const struct otlp_host *host, const char *top_key, const char *res_key, const char *items_key)
{
	struct json_ctx c = { .res_key = res_key, .items_key = items_key };
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	size_t start = out->len;
	int err = -ENOMEM;

	if (!root)
		return -ENOMEM;
	c.groups = j_arr(&c, root, top_key);
	if (otlp_group__for_each(items, n, ops, &c, host) || c.oom)
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
	.res = otlp_group__span_res,
	.begin = j_group_begin,
	.item = j_span,
	.end = j_group_end,
};

static int ref__traces_json(struct otlp_buf *out, const struct span *spans, size_t n, const struct otlp_host *host)
{
	return json_encode(out, spans, n, &json_span_ops, host, "resourceSpans", "scopeSpans", "spans");
}

static int ref__logs_json(struct otlp_buf *out, const struct log_record *logs, size_t n, const struct otlp_host *host)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct log_record),
		.res = otlp_group__log_res,
		.begin = j_group_begin,
		.item = j_log,
		.end = j_group_end,
	};

	return json_encode(out, logs, n, &ops, host, "resourceLogs", "scopeLogs", "logRecords");
}

static int ref__span_line(struct otlp_buf *out, const struct span *span, const struct otlp_host *host)
{
	size_t start = out->len;
	int err = ref__traces_json(out, span, 1, host);

	if (!err)
		err = otlp_buf__append(out, "\n", 1);
	if (err)
		out->len = start;
	else
		out->data[out->len] = '\0';
	return err;
}

#endif
