/* otlp_json.c -- OTLP encoders: ExportTrace/ExportLogsServiceRequest in the OTLP/JSON mapping, no I/O.
 *
 * A direct writer: every resource group and every item first reserves its worst case in the output buffer (one
 * check, no allocation once the buffer has grown), then writes with no further checks.  The text is byte for byte
 * what the cJSON encoder this replaced printed (tests/unit/test_otlp_json.c holds it to that): keys in a fixed
 * order, no whitespace, strings escaped as cJSON_PrintUnformatted does (", \ and the C0 controls; \b \f \n \r \t
 * short, the others \u00xx in lowercase; DEL and bytes >= 0x80 as they are), after the bytes that are not valid
 * UTF-8 became U+FFFD, numbers in decimal. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_group.h"
#include "export/otlp_json.h"
#include "lib/hex.h"

/* ---- the writer ------------------------------------------------------------------------------------ */

struct jw {
	struct otlp_buf *b;
	char *p;	       /* next byte; NULL until the first jw_room */
	char *lim;	       /* end of the room the open piece reserved */
	const char *res_key;   /* "scopeSpans" / "scopeLogs" */
	const char *items_key; /* "spans" / "logRecords" */
	size_t ngroups, nitems;
	int err;
};

/* a string of at most @n bytes, quoted: each byte at worst 6 (a control as \u00xx; a bad byte as U+FFFD is 3) */
#define JSTR_MAX(n) (2 + 6 * (size_t)(n))
/* one attribute's {"key":..,"value":{"stringValue":..}} or {..,"intValue":"-9223372036854775808"}} around its
 * strings, with the comma before it */
#define JKV_FIXED 96
/* every key, id, number and bracket of a span / log record around its strings (about 370 / 300 bytes) */
#define JITEM_FIXED 512

#define SPAN_JSON_MAX                                                             \
	(JITEM_FIXED + JSTR_MAX(SPAN_NAME_LEN) + JSTR_MAX(SPAN_TRACE_STATE_LEN) + \
	 SPAN_MAX_ATTRS * (JKV_FIXED + JSTR_MAX(SPAN_ATTR_KEY_LEN) + JSTR_MAX(SPAN_ATTR_STR_LEN)))
#define LOG_JSON_MAX \
	(JITEM_FIXED + JSTR_MAX(LOG_SEVERITY_TEXT_LEN) + JSTR_MAX(LOG_BODY_LEN) + 2 * (JKV_FIXED + JSTR_MAX(8)))
/* the resource and scope around a group's items, but for host.name, service.instance.id, the scope's name and version */
#define GROUP_JSON_FIXED                                                                                  \
	(JITEM_FIXED + 8 * JKV_FIXED + 2 * JSTR_MAX(SPAN_RES_STR_LEN) + JSTR_MAX(SPAN_CONTAINER_ID_LEN) + \
	 JSTR_MAX(SPAN_POD_UID_LEN) + JSTR_MAX(SPAN_CGROUP_LEN))

/* the bytes written so far into b->len */
static void jw_sync(struct jw *w)
{
	if (!w->p)
		return;
	if (w->p > w->lim) /* a piece wrote past its reservation: the bounds above are wrong */
		abort();
	w->b->len = (size_t)(w->p - (char *)w->b->data);
}

/* room for @need more bytes (and a NUL) at w->p; false after an allocation failure */
static bool jw_room(struct jw *w, size_t need)
{
	if (w->err)
		return false;
	jw_sync(w);
	if (otlp_buf__reserve(w->b, need)) {
		w->err = -ENOMEM;
		return false;
	}
	w->p = (char *)w->b->data + w->b->len;
	w->lim = w->p + need;
	return true;
}

static inline char *put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* a string literal, without its NUL */
#define PUT(p, lit) put_mem((p), (lit), sizeof(lit) - 1)

/* what each byte below 0x80 becomes inside a JSON string: 0 itself, 'u' \u00xx, else \ and that letter */
static const char esc[0x80] = {
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r', ['"'] = '"',  ['\\'] = '\\',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u', [0x06] = 'u',
	[0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u',
	[0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u', [0x19] = 'u',
	[0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
};

/* bit 7 of each byte of the result is set at the first byte of @v (little-endian) that is not plain -- below 0x20
 * (NUL included), 0x80 and up, '"' or '\' -- and maybe at later ones (borrows), never at an earlier one */
static inline uint64_t not_plain(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones << 7;

	return (v | (v - ones * 0x20) | ((v ^ ones * '"') - ones) | ((v ^ ones * '\\') - ones)) & high;
}

/* @src (at most @max bytes, up to its NUL; all @max readable) as a quoted JSON string: at most JSTR_MAX(@max) bytes */
static char *put_str(char *p, const char *src, size_t max)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, k;

	*p++ = '"';
	while (i < max) {
		unsigned char c;

		if (max - i >= 8) { /* eight bytes at once: copied whole, kept up to the first that is not plain */
			uint64_t v, bad;

			memcpy(&v, s + i, 8);
			memcpy(p, &v, 8);
			bad = not_plain(v);
			if (!bad) {
				p += 8;
				i += 8;
				continue;
			}
			k = (size_t)__builtin_ctzll(bad) / 8;
			p += k;
			i += k;
		}
		c = s[i];
		if (!c)
			break;
		if (c < 0x80) {
			char e = esc[c];

			if (!e) {
				*p++ = (char)c;
			} else if (e != 'u') {
				*p++ = '\\';
				*p++ = e;
			} else {
				p = PUT(p, "\\u00");
				*p++ = hexd[c >> 4];
				*p++ = hexd[c & 15];
			}
			i++;
			continue;
		}
		/* the NUL ends the string as strnlen would: the sequence is judged within it */
		k = otlp_group__utf8_seq(s + i, strnlen((const char *)s + i, max - i < 4 ? max - i : 4));
		if (k) {
			p = put_mem(p, (const char *)s + i, k);
			i += k;
		} else {
			p = PUT(p, "\xef\xbf\xbd");
			i++;
		}
	}
	*p++ = '"';
	return p;
}

/* decimal, as cJSON prints integral numbers and as the 64-bit integers travel (inside quotes) */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, (uint64_t)v);
	*p++ = '-';
	return put_u64(p, -(uint64_t)v);
}

static char *put_hex(char *p, const uint8_t *id, size_t len)
{
	*p++ = '"';
	p = hex__put(p, id, len);
	*p++ = '"';
	return p;
}

/* [,]{"key":K,"value":{"stringValue":V}} / [,]{"key":K,"value":{"intValue":"N"}}: at most JKV_FIXED + strings.
 * @kmax 0: @key is a literal with nothing to escape, written as it is */
static char *put_key(char *p, bool comma, const char *key, size_t kmax)
{
	if (comma)
		*p++ = ',';
	p = PUT(p, "{\"key\":");
	if (kmax)
		return put_str(p, key, kmax);
	*p++ = '"';
	p = put_mem(p, key, strlen(key));
	*p++ = '"';
	return p;
}

static char *put_kv_str(char *p, bool comma, const char *key, size_t kmax, const char *val, size_t vmax)
{
	p = put_key(p, comma, key, kmax);
	p = PUT(p, ",\"value\":{\"stringValue\":");
	p = put_str(p, val, vmax);
	return PUT(p, "}}");
}

static char *put_kv_int(char *p, bool comma, const char *key, size_t kmax, int64_t val)
{
	p = put_key(p, comma, key, kmax);
	p = PUT(p, ",\"value\":{\"intValue\":\"");
	p = put_i64(p, val);
	return PUT(p, "\"}}");
}

/* ---- groups and items ------------------------------------------------------------------------------ */

static void j_group_begin(void *ctx, const struct res_view *rv, const struct otlp_host *host)
{
	struct jw *w = ctx;
	bool has_host = host && host->name && host->name[0];
	bool has_inst = host && host->instance_id && host->instance_id[0];
	size_t hlen = has_host ? strlen(host->name) : 0, ilen = has_inst ? strlen(host->instance_id) : 0;
	const char *svc = otlp_group__service(rv);
	/* put_str reads all of its bound: the fallback is a literal, not the field */
	size_t smax = svc == rv->service ? SPAN_RES_STR_LEN : strlen(svc);
	char *p;

	if (!jw_room(w, GROUP_JSON_FIXED + JSTR_MAX(hlen) + JSTR_MAX(ilen) + JSTR_MAX(sizeof(OTLP_SCOPE_NAME)) +
				JSTR_MAX(sizeof(OBSPROBE_VERSION)) + strlen(w->res_key) + strlen(w->items_key)))
		return;
	p = w->p;
	if (w->ngroups++)
		*p++ = ',';
	p = PUT(p, "{\"resource\":{\"attributes\":[");
	p = put_kv_str(p, false, "service.name", 0, svc, smax);
	if (rv->pid)
		p = put_kv_int(p, true, "process.pid", 0, rv->pid);
	if (rv->exe[0])
		p = put_kv_str(p, true, "process.executable.name", 0, rv->exe, SPAN_RES_STR_LEN);
	if (rv->ctr->id[0])
		p = put_kv_str(p, true, "container.id", 0, rv->ctr->id, sizeof(rv->ctr->id));
	if (rv->ctr->pod_uid[0])
		p = put_kv_str(p, true, "k8s.pod.uid", 0, rv->ctr->pod_uid, sizeof(rv->ctr->pod_uid));
	if (rv->ctr->cgroup[0])
		p = put_kv_str(p, true, "process.linux.cgroup", 0, rv->ctr->cgroup, sizeof(rv->ctr->cgroup));
	if (has_host)
		p = put_kv_str(p, true, "host.name", 0, host->name, hlen);
	if (has_inst)
		p = put_kv_str(p, true, "service.instance.id", 0, host->instance_id, ilen);
	p = PUT(p, "]},\"");
	p = put_mem(p, w->res_key, strlen(w->res_key));
	p = PUT(p, "\":[{\"scope\":{\"name\":");
	p = put_str(p, OTLP_SCOPE_NAME, sizeof(OTLP_SCOPE_NAME) - 1);
	p = PUT(p, ",\"version\":");
	p = put_str(p, OBSPROBE_VERSION, sizeof(OBSPROBE_VERSION) - 1);
	p = PUT(p, "},\"");
	p = put_mem(p, w->items_key, strlen(w->items_key));
	p = PUT(p, "\":[");
	w->p = p;
	w->nitems = 0;
}

static void j_group_end(void *ctx)
{
	struct jw *w = ctx;

	if (jw_room(w, 8))
		w->p = PUT(w->p, "]}]}");
}

static void j_span(void *ctx, const void *item)
{
	struct jw *w = ctx;
	const struct span *s = item;
	unsigned nattrs = s->nattrs < SPAN_MAX_ATTRS ? s->nattrs : SPAN_MAX_ATTRS;
	bool comma = false;
	char *p;

	if (!jw_room(w, SPAN_JSON_MAX))
		return;
	p = w->p;
	if (w->nitems++)
		*p++ = ',';
	p = PUT(p, "{\"traceId\":");
	p = put_hex(p, s->trace_id, sizeof(s->trace_id));
	p = PUT(p, ",\"spanId\":");
	p = put_hex(p, s->span_id, sizeof(s->span_id));
	if (s->trace_state[0]) {
		p = PUT(p, ",\"traceState\":");
		p = put_str(p, s->trace_state, sizeof(s->trace_state));
	}
	if (!span__id_is_zero(s->parent_span_id, sizeof(s->parent_span_id))) {
		p = PUT(p, ",\"parentSpanId\":");
		p = put_hex(p, s->parent_span_id, sizeof(s->parent_span_id));
	}
	if (s->flags) {
		p = PUT(p, ",\"flags\":");
		p = put_u64(p, s->flags);
	}
	p = PUT(p, ",\"name\":");
	p = put_str(p, s->name, sizeof(s->name));
	p = PUT(p, ",\"kind\":");
	p = put_u64(p, s->kind);
	p = PUT(p, ",\"startTimeUnixNano\":\"");
	p = put_u64(p, s->start_ns);
	p = PUT(p, "\",\"endTimeUnixNano\":\"");
	p = put_u64(p, s->end_ns);
	p = PUT(p, "\",\"attributes\":[");
	/* attribute keys are NUL-terminated (span__next_attr) */
	for (unsigned i = 0; i < nattrs; i++) {
		const struct span_attr *a = &s->attrs[i];

		if (a->type == SPAN_ATTR_STR)
			p = put_kv_str(p, comma, a->key, sizeof(a->key), a->str_value, sizeof(a->str_value));
		else if (a->type == SPAN_ATTR_INT)
			p = put_kv_int(p, comma, a->key, sizeof(a->key), a->int_value);
		else
			continue;
		comma = true;
	}
	*p++ = ']';
	if (s->dropped_attrs) {
		p = PUT(p, ",\"droppedAttributesCount\":");
		p = put_u64(p, s->dropped_attrs);
	}
	if (s->status_code) {
		p = PUT(p, ",\"status\":{\"code\":");
		p = put_u64(p, s->status_code);
		*p++ = '}';
	}
	*p++ = '}';
	w->p = p;
}

static void j_log(void *ctx, const void *item)
{
	struct jw *w = ctx;
	const struct log_record *l = item;
	char *p;

	if (!jw_room(w, LOG_JSON_MAX))
		return;
	p = w->p;
	if (w->nitems++)
		*p++ = ',';
	p = PUT(p, "{\"timeUnixNano\":\"");
	p = put_u64(p, l->time_ns);
	p = PUT(p, "\",\"observedTimeUnixNano\":\"");
	p = put_u64(p, l->observed_ns);
	*p++ = '"';
	if (l->severity_number > 0) {
		p = PUT(p, ",\"severityNumber\":");
		p = put_u64(p, (uint64_t)l->severity_number);
	}
	if (l->severity_text[0]) {
		p = PUT(p, ",\"severityText\":");
		p = put_str(p, l->severity_text, sizeof(l->severity_text));
	}
	p = PUT(p, ",\"body\":{\"stringValue\":");
	p = put_str(p, l->body, sizeof(l->body));
	p = PUT(p, "},\"attributes\":[");
	if (l->stream[0])
		p = put_kv_str(p, false, "log.iostream", 0, l->stream, sizeof(l->stream));
	if (l->tid)
		p = put_kv_int(p, l->stream[0], "thread.id", 0, l->tid);
	*p++ = ']';
	if (!span__id_is_zero(l->trace_id, sizeof(l->trace_id))) {
		p = PUT(p, ",\"traceId\":");
		p = put_hex(p, l->trace_id, sizeof(l->trace_id));
	}
	if (!span__id_is_zero(l->span_id, sizeof(l->span_id))) {
		p = PUT(p, ",\"spanId\":");
		p = put_hex(p, l->span_id, sizeof(l->span_id));
	}
	*p++ = '}';
	w->p = p;
}

/* {"<top_key>":[groups]} and, with @line, a '\n'; NUL-terminated past len */
static int json_encode(struct otlp_buf *out, const void *items, size_t n, const struct group_ops *ops,
		       const struct otlp_host *host, const char *top_key, const char *res_key, const char *items_key,
		       bool line)
{
	struct jw w = { .b = out, .res_key = res_key, .items_key = items_key };
	size_t start = out->len, klen = strlen(top_key);
	int err = 0;

	if (jw_room(&w, klen + 8)) {
		*w.p++ = '{';
		*w.p++ = '"';
		w.p = put_mem(w.p, top_key, klen);
		w.p = PUT(w.p, "\":[");
	}
	if (!w.err)
		err = otlp_group__for_each(items, n, ops, &w, host);
	if (jw_room(&w, 4)) {
		w.p = PUT(w.p, "]}");
		if (line)
			*w.p++ = '\n';
	}
	jw_sync(&w);
	if (err || w.err) {
		out->len = start;
		return -ENOMEM;
	}
	out->data[out->len] = '\0'; /* otlp_buf__reserve keeps room for it */
	return 0;
}

static const struct group_ops json_span_ops = {
	.stride = sizeof(struct span),
	.res = otlp_group__span_res,
	.begin = j_group_begin,
	.item = j_span,
	.end = j_group_end,
};

int otlp__traces_json(struct otlp_buf *out, const struct span *spans, size_t n, const struct otlp_host *host)
{
	return json_encode(out, spans, n, &json_span_ops, host, "resourceSpans", "scopeSpans", "spans", false);
}

int otlp__logs_json(struct otlp_buf *out, const struct log_record *logs, size_t n, const struct otlp_host *host)
{
	static const struct group_ops ops = {
		.stride = sizeof(struct log_record),
		.res = otlp_group__log_res,
		.begin = j_group_begin,
		.item = j_log,
		.end = j_group_end,
	};

	return json_encode(out, logs, n, &ops, host, "resourceLogs", "scopeLogs", "logRecords", false);
}

int otlp__span_line(struct otlp_buf *out, const struct span *span, const struct otlp_host *host)
{
	return json_encode(out, span, 1, &json_span_ops, host, "resourceSpans", "scopeSpans", "spans", true);
}
