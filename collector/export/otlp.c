/* otlp.c -- OTLP encoders: ExportTrace/ExportLogsServiceRequest as protobuf (OTLP/JSON: otlp_json.c), no I/O */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp.h"
#include "export/otlp_group.h"
#include "export/otlp_pb.h"

/* ---- growable buffer ------------------------------------------------------------------------------ */

int otlp_buf__reserve(struct otlp_buf *b, size_t extra)
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

int otlp_buf__append_grow(struct otlp_buf *b, const void *p, size_t n)
{
	if (otlp_buf__reserve(b, n))
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

/* ---- protobuf: traces and logs ------------------------------------------------------------------- */

struct pb_ctx {
	struct pb w;
	size_t res_off, scope_off; /* open ResourceSpans/ResourceLogs and ScopeSpans/ScopeLogs */
};

/* Resource { repeated KeyValue attributes = 1 } */
static void pb_resource(struct pb *w, const struct res_view *rv, const struct otlp_host *host)
{
	size_t r = pb_open(w, 1);

	pb_kv_str(w, 1, "service.name", otlp_group__service(rv), SPAN_RES_STR_LEN);
	if (rv->pid)
		pb_kv_int(w, 1, "process.pid", rv->pid);
	if (rv->exe[0])
		pb_kv_str(w, 1, "process.executable.name", rv->exe, SPAN_RES_STR_LEN);
	if (rv->ctr->id[0])
		pb_kv_str(w, 1, "container.id", rv->ctr->id, sizeof(rv->ctr->id));
	if (rv->ctr->pod_uid[0])
		pb_kv_str(w, 1, "k8s.pod.uid", rv->ctr->pod_uid, sizeof(rv->ctr->pod_uid));
	if (rv->ctr->cgroup[0])
		pb_kv_str(w, 1, "process.linux.cgroup", rv->ctr->cgroup, sizeof(rv->ctr->cgroup));
	if (host && host->name && host->name[0])
		pb_kv_str(w, 1, "host.name", host->name, SIZE_MAX);
	if (host && host->instance_id && host->instance_id[0])
		pb_kv_str(w, 1, "service.instance.id", host->instance_id, SIZE_MAX);
	pb_close(w, r);
}

/* Resource{Spans,Logs} { resource = 1; repeated Scope{Spans,Logs} = 2 }
 * Scope{Spans,Logs} { InstrumentationScope scope = 1; repeated items = 2 }
 * InstrumentationScope { name = 1; version = 2 }
 * Export{Trace,Logs}ServiceRequest { repeated Resource{Spans,Logs} = 1 } */
static void pb_group_begin(void *ctx, const struct res_view *rv, const struct otlp_host *host)
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

static int pb_encode(struct otlp_buf *out, const void *items, size_t n, const struct group_ops *ops,
		     const struct otlp_host *host)
{
	struct pb_ctx c = { .w = { .b = out } };
	size_t start = out->len;
	int err;

	err = otlp_group__for_each(items, n, ops, &c, host);
	if (!err)
		err = c.w.err;
	if (err)
		out->len = start;
	return err;
}

int otlp__traces_pb(struct otlp_buf *out, const struct span *spans, size_t n, const struct otlp_host *host)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct span),
		.res = otlp_group__span_res,
		.begin = pb_group_begin,
		.item = pb_span,
		.end = pb_group_end,
	};

	return pb_encode(out, spans, n, &ops, host);
}

int otlp__logs_pb(struct otlp_buf *out, const struct log_record *logs, size_t n, const struct otlp_host *host)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct log_record),
		.res = otlp_group__log_res,
		.begin = pb_group_begin,
		.item = pb_log,
		.end = pb_group_end,
	};

	return pb_encode(out, logs, n, &ops, host);
}
