/* fuzz-srcs: collector/export/otlp.c collector/export/otlp_pb.c collector/export/otlp_group.c collector/export/otlp_json.c */
/* fuzz_otlp.c -- the OTLP encoders: spans and log records built from the input, encoded, decoded back.
 *
 * Input: consumed field by field (zeros past its end): a host name, 1..4 spans (ids, name and
 * tracestate of any bytes, possibly filling their arrays without a NUL, kind, status, flags, times,
 * a resource of 4 kinds, an attribute count of 0..255 with attributes of any type byte), then 1..4
 * log records the same way, then a service.instance.id.  The protobuf requests are decoded by the
 * small wire-format walker below and every field must come back as put in (strings with invalid UTF-8 bytes each replaced by U+FFFD,
 * zero values omitted, resources grouped in order of first appearance).  The JSON requests and the
 * span line must parse, hold as many items and the same ids.  A mismatch is a crash. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "export/otlp.h"
#include "export/otlp_json.h"
#include "lib/hex.h"

#define MAX_ITEMS 4

/* ---- what an encoder must make of a string: UTF-8 checked by code point ---- */

/* the code point of a valid sequence at s[0..n) and its length in *len, or -1 */
static long utf8_decode(const uint8_t *s, size_t n, size_t *len)
{
	static const long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t k = s[0] < 0x80		   ? 1
		   : (s[0] & 0xe0) == 0xc0 ? 2
		   : (s[0] & 0xf0) == 0xe0 ? 3
		   : (s[0] & 0xf8) == 0xf0 ? 4
					   : 0;
	long cp;

	if (!k || k > n)
		return -1;
	cp = k == 1 ? s[0] : s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = k;
	return cp;
}

/* @src up to a NUL or @max bytes, with each byte that starts no valid sequence as EF BF BD */
static size_t expect_utf8(char *dst, const char *src, size_t max)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t n = 0, out = 0, k;

	while (n < max && s[n])
		n++;
	for (size_t i = 0; i < n; i += k) {
		if (utf8_decode(s + i, n - i, &k) >= 0) {
			memcpy(dst + out, s + i, k);
			out += k;
		} else {
			memcpy(dst + out, "\xef\xbf\xbd", 3);
			out += 3;
			k = 1;
		}
	}
	return out;
}

/* ---- a protobuf wire-format walker ---- */

struct fld {
	unsigned num, wire;
	uint64_t v;	  /* varint, fixed32, fixed64 */
	const uint8_t *p; /* length-delimited */
	size_t len;
};

struct msg {
	struct fld f[64];
	int n;
};

static uint64_t rd_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		FUZZ_CHECK(*p < end); /* a varint running off the message */
		v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return v;
	}
	FUZZ_CHECK(!"a varint longer than 10 bytes");
	return 0;
}

static void decode(const uint8_t *p, size_t len, struct msg *m)
{
	const uint8_t *end = p + len;

	m->n = 0;
	while (p < end) {
		uint64_t tag = rd_varint(&p, end);
		struct fld *f = &m->f[m->n++];

		FUZZ_CHECK(m->n <= 64);
		f->num = (unsigned)(tag >> 3);
		f->wire = tag & 7;
		FUZZ_CHECK(f->num > 0);
		switch (f->wire) {
		case 0:
			f->v = rd_varint(&p, end);
			break;
		case 1:
		case 5: {
			size_t k = f->wire == 1 ? 8 : 4;

			FUZZ_CHECK((size_t)(end - p) >= k);
			f->v = 0;
			for (size_t i = 0; i < k; i++)
				f->v |= (uint64_t)p[i] << (8 * i);
			p += k;
			break;
		}
		case 2:
			f->len = rd_varint(&p, end);
			FUZZ_CHECK(f->len <= (size_t)(end - p));
			f->p = p;
			p += f->len;
			break;
		default:
			FUZZ_CHECK(!"an unknown wire type");
		}
	}
}

/* the one field @num (NULL when absent), which must have wire type @wire */
static const struct fld *one(const struct msg *m, unsigned num, unsigned wire)
{
	const struct fld *found = NULL;

	for (int i = 0; i < m->n; i++) {
		if (m->f[i].num != num)
			continue;
		FUZZ_CHECK(!found && m->f[i].wire == wire);
		found = &m->f[i];
	}
	return found;
}

static void only(const struct msg *m, const unsigned *nums, size_t k)
{
	for (int i = 0; i < m->n; i++) {
		bool known = false;

		for (size_t j = 0; j < k; j++)
			known |= m->f[i].num == nums[j];
		FUZZ_CHECK(known); /* a field the encoder should not write */
	}
}

static void expect_bytes(const struct msg *m, unsigned num, const uint8_t *want, size_t n, bool present)
{
	const struct fld *f = one(m, num, 2);

	FUZZ_CHECK(!f == !present);
	if (f)
		FUZZ_CHECK(f->len == n && !memcmp(f->p, want, n));
}

static void expect_str(const struct msg *m, unsigned num, const char *src, size_t max, bool always)
{
	char *want = malloc(3 * (max < 4096 ? max : strlen(src)) + 4);
	size_t n;
	const struct fld *f = one(m, num, 2);

	if (!want)
		return;
	n = expect_utf8(want, src, max);
	FUZZ_CHECK(!f == !(n || always));
	if (f)
		FUZZ_CHECK(f->len == n && !memcmp(f->p, want, n));
	free(want);
}

static void expect_num(const struct msg *m, unsigned num, unsigned wire, uint64_t want)
{
	const struct fld *f = one(m, num, wire);

	FUZZ_CHECK(!f == !want);
	if (f)
		FUZZ_CHECK(f->v == want);
}

/* KeyValue{1 key, 2 AnyValue{1 string | 3 int}} */
struct kv {
	const struct fld *key;
	struct msg value;
};

static void decode_kv(const struct fld *f, struct kv *kv)
{
	struct msg m;
	const struct fld *v;

	FUZZ_CHECK(f->wire == 2);
	decode(f->p, f->len, &m);
	kv->key = one(&m, 1, 2);
	FUZZ_CHECK(kv->key);
	v = one(&m, 2, 2);
	FUZZ_CHECK(v);
	decode(v->p, v->len, &kv->value);
	FUZZ_CHECK(kv->value.n == 1);
}

static void expect_kv_str(const struct fld *f, const char *key, size_t keymax, const char *val, size_t max)
{
	struct kv kv;
	struct msg fake = { .n = 1 };

	decode_kv(f, &kv);
	fake.f[0] = *kv.key;
	expect_str(&fake, 1, key, keymax, true);
	expect_str(&kv.value, 1, val, max, true);
}

static void expect_kv_int(const struct fld *f, const char *key, size_t keymax, int64_t val)
{
	struct msg fake = { .n = 1 };
	struct kv kv;
	const struct fld *v;

	decode_kv(f, &kv);
	fake.f[0] = *kv.key;
	expect_str(&fake, 1, key, keymax, true);
	v = one(&kv.value, 3, 0);
	FUZZ_CHECK(v && (int64_t)v->v == val);
}

/* ---- the items ---- */

struct res {
	char service[SPAN_RES_STR_LEN], exe[SPAN_RES_STR_LEN];
	int32_t pid;
};

static const struct res *res_of(const void *item, bool is_span)
{
	static struct res r;

	if (is_span) {
		const struct span_resource *sr = &((const struct span *)item)->resource;

		memcpy(r.service, sr->service_name, sizeof(r.service));
		memcpy(r.exe, sr->executable_name, sizeof(r.exe));
		r.pid = sr->pid;
	} else {
		const struct log_record *l = item;

		memcpy(r.service, l->service, sizeof(r.service));
		memcpy(r.exe, l->exe, sizeof(r.exe));
		r.pid = l->pid;
	}
	return &r;
}

static bool res_eq(const struct res *a, const struct res *b)
{
	return a->pid == b->pid && !strncmp(a->service, b->service, sizeof(a->service)) &&
	       !strncmp(a->exe, b->exe, sizeof(a->exe));
}

/* bytes into a char array: up to its size, any value; sometimes cut with a NUL */
static void fill_str(struct fz *in, char *dst, size_t size)
{
	size_t want = fz__u8(in), got;
	const uint8_t *p;

	if (want == 255)
		want = size; /* the whole array, no NUL */
	p = fz__bytes(in, want < size ? want : size, &got);
	memset(dst, 0, size);
	memcpy(dst, p, got);
}

static void fill_res(struct fz *in, char *service, char *exe, int32_t *pid)
{
	uint8_t which = fz__u8(in) & 3; /* four resources, so that items share them */
	static const char *const names[4] = { "", "api", "\xff\xfe bad utf8", "worker" };

	snprintf(service, SPAN_RES_STR_LEN, "%s", names[which]);
	snprintf(exe, SPAN_RES_STR_LEN, "%s", which & 1 ? "exe" : "");
	*pid = which == 3 ? -5 : (int32_t)which * 1000;
}

static void fill_span(struct fz *in, struct span *s)
{
	size_t got;

	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, fz__bytes(in, 16, &got), got);
	memcpy(s->span_id, fz__bytes(in, 8, &got), got);
	memcpy(s->parent_span_id, fz__bytes(in, 8, &got), got);
	fill_str(in, s->name, sizeof(s->name));
	fill_str(in, s->trace_state, sizeof(s->trace_state));
	s->kind = fz__u8(in);
	s->status_code = fz__u8(in);
	s->flags = fz__u16(in) | (uint32_t)fz__u16(in) << 16;
	s->start_ns = fz__u64(in);
	s->end_ns = fz__u64(in);
	s->dropped_attrs = fz__u16(in);
	fill_res(in, s->resource.service_name, s->resource.executable_name, &s->resource.pid);
	s->nattrs = fz__u8(in);
	for (int i = 0; i < SPAN_MAX_ATTRS && i < s->nattrs; i++) {
		struct span_attr *a = &s->attrs[i];

		fill_str(in, a->key, sizeof(a->key));
		a->key[sizeof(a->key) - 1] = '\0'; /* producers terminate keys (span__next_attr) */
		a->type = fz__u8(in) % 4;
		if (a->type == SPAN_ATTR_STR)
			fill_str(in, a->str_value, sizeof(a->str_value));
		else
			a->int_value = (int64_t)fz__u64(in);
	}
}

static void fill_log(struct fz *in, struct log_record *l)
{
	size_t got;

	memset(l, 0, sizeof(*l));
	l->time_ns = fz__u64(in);
	l->observed_ns = fz__u64(in);
	l->severity_number = (int8_t)fz__u8(in);
	fill_str(in, l->severity_text, sizeof(l->severity_text));
	fill_str(in, l->body, sizeof(l->body));
	memcpy(l->trace_id, fz__bytes(in, 16, &got), got);
	memcpy(l->span_id, fz__bytes(in, 8, &got), got);
	l->tid = (int)(fz__u16(in) | (uint32_t)fz__u16(in) << 16);
	fill_str(in, l->stream, sizeof(l->stream));
	fill_res(in, l->service, l->exe, &l->pid);
}

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void check_span(const struct fld *f, const struct span *s)
{
	static const unsigned fields[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16 };
	unsigned nattrs = s->nattrs < SPAN_MAX_ATTRS ? s->nattrs : SPAN_MAX_ATTRS, k = 0;
	const struct fld *st;
	struct msg m, sm;

	decode(f->p, f->len, &m);
	only(&m, fields, sizeof(fields) / sizeof(fields[0]));
	expect_bytes(&m, 1, s->trace_id, 16, true);
	expect_bytes(&m, 2, s->span_id, 8, true);
	expect_str(&m, 3, s->trace_state, sizeof(s->trace_state), false);
	expect_bytes(&m, 4, s->parent_span_id, 8, !zero(s->parent_span_id, 8));
	expect_str(&m, 5, s->name, sizeof(s->name), false);
	expect_num(&m, 6, 0, s->kind);
	expect_num(&m, 7, 1, s->start_ns);
	expect_num(&m, 8, 1, s->end_ns);
	expect_num(&m, 10, 0, s->dropped_attrs);
	expect_num(&m, 16, 5, s->flags);
	st = one(&m, 15, 2);
	FUZZ_CHECK(!st == !s->status_code);
	if (st) {
		decode(st->p, st->len, &sm);
		FUZZ_CHECK(sm.n == 1);
		expect_num(&sm, 3, 0, s->status_code);
	}
	for (int i = 0; i < m.n; i++) { /* attributes in order, those of a known type only */
		const struct span_attr *a;

		if (m.f[i].num != 9)
			continue;
		while (k < nattrs && s->attrs[k].type != SPAN_ATTR_STR && s->attrs[k].type != SPAN_ATTR_INT)
			k++;
		FUZZ_CHECK(k < nattrs);
		a = &s->attrs[k++];
		if (a->type == SPAN_ATTR_STR)
			expect_kv_str(&m.f[i], a->key, sizeof(a->key), a->str_value, sizeof(a->str_value));
		else
			expect_kv_int(&m.f[i], a->key, sizeof(a->key), a->int_value);
	}
	while (k < nattrs && s->attrs[k].type != SPAN_ATTR_STR && s->attrs[k].type != SPAN_ATTR_INT)
		k++;
	FUZZ_CHECK(k == nattrs); /* every attribute written */
}

static void check_log(const struct fld *f, const struct log_record *l)
{
	static const unsigned fields[] = { 1, 2, 3, 5, 6, 9, 10, 11 };
	const struct fld *body;
	struct msg m, bm;
	int attr = 0;

	decode(f->p, f->len, &m);
	only(&m, fields, sizeof(fields) / sizeof(fields[0]));
	expect_num(&m, 1, 1, l->time_ns);
	expect_num(&m, 2, 0, l->severity_number > 0 ? (uint64_t)l->severity_number : 0);
	expect_str(&m, 3, l->severity_text, sizeof(l->severity_text), false);
	body = one(&m, 5, 2);
	FUZZ_CHECK(body);
	decode(body->p, body->len, &bm);
	FUZZ_CHECK(bm.n == 1);
	expect_str(&bm, 1, l->body, sizeof(l->body), true);
	expect_bytes(&m, 9, l->trace_id, 16, !zero(l->trace_id, 16));
	expect_bytes(&m, 10, l->span_id, 8, !zero(l->span_id, 8));
	expect_num(&m, 11, 1, l->observed_ns);
	for (int i = 0; i < m.n; i++) {
		if (m.f[i].num != 6)
			continue;
		if (attr == 0 && l->stream[0]) {
			expect_kv_str(&m.f[i], "log.iostream", SIZE_MAX, l->stream, sizeof(l->stream));
		} else {
			FUZZ_CHECK(l->tid && attr == !!l->stream[0]);
			expect_kv_int(&m.f[i], "thread.id", SIZE_MAX, l->tid);
		}
		attr++;
	}
	FUZZ_CHECK(attr == !!l->stream[0] + !!l->tid);
}

/* Resource{1 KeyValue...}: service.name, process.pid, process.executable.name, host.name, service.instance.id */
static void check_resource(const struct fld *f, const struct res *r, const struct otlp_host *host)
{
	struct msg m;
	int i = 0;

	FUZZ_CHECK(f);
	decode(f->p, f->len, &m);
	FUZZ_CHECK(m.n == 1 + !!r->pid + !!r->exe[0] + !!host->name[0] + !!host->instance_id[0]);
	expect_kv_str(&m.f[i++], "service.name", SIZE_MAX, r->service[0] ? r->service : "unknown_service",
		      sizeof(r->service));
	if (r->pid)
		expect_kv_int(&m.f[i++], "process.pid", SIZE_MAX, r->pid);
	if (r->exe[0])
		expect_kv_str(&m.f[i++], "process.executable.name", SIZE_MAX, r->exe, sizeof(r->exe));
	if (host->name[0])
		expect_kv_str(&m.f[i++], "host.name", SIZE_MAX, host->name, SIZE_MAX);
	if (host->instance_id[0])
		expect_kv_str(&m.f[i++], "service.instance.id", SIZE_MAX, host->instance_id, SIZE_MAX);
}

/* a whole Export{Trace,Logs}ServiceRequest against @items, grouped by resource */
static void check_request(const struct otlp_buf *b, const void *items, size_t n, size_t stride, bool is_span,
			  const struct otlp_host *host)
{
	static const unsigned top[] = { 1 }, group[] = { 1, 2 }, scope[] = { 1, 2 };
	const char *base = items;
	bool done[MAX_ITEMS] = { false };
	size_t next = 0, seen = 0;
	struct msg req, g, sc, scope_msg;
	int in_group;

	decode(b->data, b->len, &req);
	only(&req, top, 1);
	for (int gi = 0; gi < req.n; gi++) {
		struct res r;
		const struct fld *sf;

		while (next < n && done[next])
			next++;
		FUZZ_CHECK(next < n); /* more groups than resources */
		r = *res_of(base + next * stride, is_span);
		decode(req.f[gi].p, req.f[gi].len, &g);
		only(&g, group, 2);
		check_resource(one(&g, 1, 2), &r, host);
		sf = one(&g, 2, 2);
		FUZZ_CHECK(sf);
		decode(sf->p, sf->len, &sc);
		only(&sc, scope, 2);
		sf = one(&sc, 1, 2);
		FUZZ_CHECK(sf);
		decode(sf->p, sf->len, &scope_msg);
		expect_str(&scope_msg, 1, OTLP_SCOPE_NAME, SIZE_MAX, false);
		expect_str(&scope_msg, 2, OBSPROBE_VERSION, SIZE_MAX, false);
		in_group = 0;
		for (size_t j = next, k = 0; j < n; j++) {
			if (done[j] || !res_eq(&r, res_of(base + j * stride, is_span)))
				continue;
			while (k < (size_t)sc.n && sc.f[k].num != 2)
				k++;
			FUZZ_CHECK(k < (size_t)sc.n); /* an item missing from its group */
			if (is_span)
				check_span(&sc.f[k], (const struct span *)(base + j * stride));
			else
				check_log(&sc.f[k], (const struct log_record *)(base + j * stride));
			k++;
			done[j] = true;
			seen++;
			in_group++;
		}
		for (int k = 0; k < sc.n; k++)
			in_group -= sc.f[k].num == 2;
		FUZZ_CHECK(in_group == 0); /* items in the group that are not its resource's */
	}
	FUZZ_CHECK(seen == n);
}

/* OTLP/JSON: parses, as many items, the same ids */
static void check_json(const struct otlp_buf *b, const void *items, size_t n, bool is_span)
{
	cJSON *root, *groups, *g, *it;
	size_t count = 0;

	FUZZ_CHECK(b->len > 0 && b->data[b->len] == '\0' && strlen((const char *)b->data) == b->len);
	root = cJSON_ParseWithLength((const char *)b->data, b->len);
	FUZZ_CHECK(root);
	groups = cJSON_GetObjectItemCaseSensitive(root, is_span ? "resourceSpans" : "resourceLogs");
	FUZZ_CHECK(cJSON_IsArray(groups));
	cJSON_ArrayForEach(g, groups)
	{
		cJSON *sc =
			cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(g, is_span ? "scopeSpans" : "scopeLogs"),
					   0);

		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sc, is_span ? "spans" : "logRecords"))
		{
			cJSON *tid = cJSON_GetObjectItemCaseSensitive(it, "traceId");
			bool found = false;
			char hex[33];

			count++;
			if (!is_span && !tid)
				continue;
			FUZZ_CHECK(cJSON_IsString(tid) && strlen(tid->valuestring) == 32);
			for (size_t i = 0; i < n && !found; i++) {
				const uint8_t *id = is_span ? ((const struct span *)items)[i].trace_id
							    : ((const struct log_record *)items)[i].trace_id;

				hex__encode(hex, id, 16);
				found = !strcmp(hex, tid->valuestring);
			}
			FUZZ_CHECK(found);
		}
	}
	FUZZ_CHECK(count == n);
	cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	struct span *spans = calloc(MAX_ITEMS, sizeof(*spans));
	struct log_record *logs = calloc(MAX_ITEMS, sizeof(*logs));
	struct otlp_buf b = { 0 };
	char host[32], iid[40];
	const struct otlp_host oh = { .name = host, .instance_id = iid };
	size_t ns, nl;

	if (!spans || !logs)
		goto cleanup;
	fill_str(&in, host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	ns = 1 + fz__u8(&in) % MAX_ITEMS;
	for (size_t i = 0; i < ns; i++)
		fill_span(&in, &spans[i]);
	nl = 1 + fz__u8(&in) % MAX_ITEMS;
	for (size_t i = 0; i < nl; i++)
		fill_log(&in, &logs[i]);
	fill_str(&in, iid, sizeof(iid)); /* last: the seeds written before it keep their meaning */
	iid[sizeof(iid) - 1] = '\0';

	FUZZ_CHECK(otlp__traces_pb(&b, spans, ns, &oh) == 0);
	check_request(&b, spans, ns, sizeof(*spans), true, &oh);
	otlp_buf__reset(&b);
	FUZZ_CHECK(otlp__logs_pb(&b, logs, nl, &oh) == 0);
	check_request(&b, logs, nl, sizeof(*logs), false, &oh);
	otlp_buf__reset(&b);
	FUZZ_CHECK(otlp__traces_json(&b, spans, ns, &oh) == 0);
	check_json(&b, spans, ns, true);
	otlp_buf__reset(&b);
	FUZZ_CHECK(otlp__logs_json(&b, logs, nl, &oh) == 0);
	check_json(&b, logs, nl, false);
	otlp_buf__reset(&b);
	FUZZ_CHECK(otlp__span_line(&b, spans, &oh) == 0);
	FUZZ_CHECK(b.len > 1 && b.data[b.len - 1] == '\n' && !memchr(b.data, '\n', b.len - 1));
cleanup:
	otlp_buf__free(&b);
	free(spans);
	free(logs);
	return 0;
}
