/* test_otlp_json.c -- the direct OTLP/JSON writer (export/otlp_json.c) prints byte for byte what the cJSON encoder
 * it replaced printed (tests/unit/otlp_json_cjson.h), over generated spans and log records: every byte value in
 * strings, invalid and truncated UTF-8, empty and full-length fields, every kind and status, extreme numbers,
 * resources that group and do not; and the worst-case text fits the bounds the writer reserves. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp.h"
#include "export/otlp_json.h"
#include "otlp_json_cjson.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: repeatable from the seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* pieces that test UTF-8 handling: valid 2/3/4-byte forms, overlongs, surrogates, past U+10FFFF, lone bytes */
static const char *const utf8_bits[] = {
	"\xc3\xa9",	"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc0\xaf",
	"\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80",
	"\xff",		"\xe2\x82",	"\xf0\x9f\x98",	    "\x80",
	"\xbf",		"\xc2\x80",	"\xef\xbf\xbf",	    "\xf4\x8f\xbf\xbf",
	"\xed\x9f\xbf", "\xee\x80\x80",
};

/* fill dst[0..size) with a generated string: NUL-terminated unless @full and the generator chose to fill it */
static void gen_str(char *dst, size_t size, bool may_fill)
{
	size_t len, i = 0;
	unsigned mode = rn(8);

	memset(dst, 0, size);
	switch (mode) {
	case 0: /* empty */
		return;
	case 1: /* every byte value 1..255, from a random start, as far as it fits */
	{
		unsigned b = 1 + rn(255);

		len = size - 1;
		for (i = 0; i < len; i++, b = b == 255 ? 1 : b + 1)
			dst[i] = (char)b;
		break;
	}
	case 2: /* plain ASCII */
		len = rn((unsigned)size);
		for (i = 0; i < len; i++)
			dst[i] = (char)(' ' + rn(95));
		break;
	case 3: /* UTF-8 pieces, valid and not, ending wherever the room does (truncated sequences) */
		len = rn((unsigned)size);
		while (i < len) {
			const char *bit = utf8_bits[rn(sizeof(utf8_bits) / sizeof(utf8_bits[0]))];

			for (size_t k = 0; bit[k] && i < len; k++)
				dst[i++] = bit[k];
		}
		break;
	case 4: /* controls, quotes, backslashes, DEL */
		len = rn((unsigned)size);
		for (i = 0; i < len; i++) {
			static const char pick[] = "\"\\/\x7f\x01\x1f\b\f\n\r\t\x0b";

			dst[i] = rn(3) ? pick[rn(sizeof(pick) - 1)] : (char)(1 + rn(31));
		}
		break;
	default: /* random bytes */
		len = rn((unsigned)size);
		for (i = 0; i < len; i++)
			dst[i] = (char)(1 + rn(255));
		break;
	}
	/* some fields are read with their size as the bound: fill the last byte too, no NUL */
	if (may_fill && rn(4) == 0) {
		for (; i < size; i++)
			dst[i] = (char)(0x20 + rn(95));
		if (rn(2)) /* a sequence cut by the bound: the bytes after the field are no part of it */
			dst[size - 1 - rn(2)] = "\xc3\xe2\xf0"[rn(3)];
	}
}

static const uint64_t u64_edges[] = { 0, 1, 9, 10, 99, 4294967295ull, 9007199254740993ull, UINT64_MAX };
static const int64_t i64_edges[] = { 0, -1, 1, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX, -9007199254740993ll };
static const uint32_t u32_edges[] = {
	0, 1, SPAN_FLAG_SAMPLED | SPAN_FLAG_HAS_IS_REMOTE | SPAN_FLAG_IS_REMOTE, INT_MAX, 0x80000000u, UINT32_MAX
};

static uint64_t gen_u64(void)
{
	return rn(2) ? u64_edges[rn(sizeof(u64_edges) / sizeof(u64_edges[0]))] : rnd() >> rn(64);
}

/* a few resources, so that batches group; service "" exercises unknown_service */
static void gen_resource(struct span_resource *r, unsigned which)
{
	uint64_t saved = rng_state;

	rng_state = 0x9e3779b97f4a7c15ull * (which + 1);
	memset(r, 0, sizeof(*r));
	if (which)
		gen_str(r->service_name, sizeof(r->service_name), true);
	gen_str(r->executable_name, sizeof(r->executable_name), true);
	r->pid = which % 3 ? (int32_t)rnd() : 0;
	if (which & 1) {
		gen_str(r->ctr.id, sizeof(r->ctr.id), true);
		gen_str(r->ctr.pod_uid, sizeof(r->ctr.pod_uid), true);
		gen_str(r->ctr.cgroup, sizeof(r->ctr.cgroup), true);
	}
	rng_state = saved;
}

static void gen_span(struct span *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)rnd();
	for (size_t i = 0; i < 8; i++) {
		s->span_id[i] = (uint8_t)rnd();
		s->parent_span_id[i] = rn(2) ? (uint8_t)rnd() : 0;
	}
	if (rn(2))
		memset(s->parent_span_id, 0, sizeof(s->parent_span_id));
	gen_str(s->name, sizeof(s->name), true);
	s->kind = (uint8_t)(rn(8) ? rn(4) : rnd());
	s->status_code = (uint8_t)(rn(8) ? rn(3) : rnd());
	s->flags = rn(2) ? u32_edges[rn(sizeof(u32_edges) / sizeof(u32_edges[0]))] : (uint32_t)rnd();
	s->start_ns = gen_u64();
	s->end_ns = gen_u64();
	if (rn(2))
		gen_str(s->trace_state, sizeof(s->trace_state), true);
	gen_resource(&s->resource, rn(5));
	s->nattrs = (uint8_t)(rn(8) ? rn(SPAN_MAX_ATTRS + 1) : rnd()); /* past SPAN_MAX_ATTRS: clamped */
	for (unsigned i = 0; i < SPAN_MAX_ATTRS; i++) {
		struct span_attr *a = &s->attrs[i];

		gen_str(a->key, sizeof(a->key), false); /* keys are NUL-terminated (span__next_attr) */
		a->type = (uint8_t)(rn(8) ? 1 + rn(2) : rn(5));
		a->int_value = rn(2) ? i64_edges[rn(sizeof(i64_edges) / sizeof(i64_edges[0]))] : (int64_t)rnd();
		gen_str(a->str_value, sizeof(a->str_value), true);
	}
	s->dropped_attrs = (uint16_t)(rn(2) ? 0 : rnd());
}

static void gen_log(struct log_record *l)
{
	struct span_resource r;

	memset(l, 0, sizeof(*l));
	l->time_ns = gen_u64();
	l->observed_ns = gen_u64();
	l->severity_number = rn(4) ? (int)rn(25) : (int)rnd();
	gen_str(l->severity_text, sizeof(l->severity_text), true);
	gen_str(l->body, sizeof(l->body), true);
	if (rn(2))
		for (size_t i = 0; i < 16; i++)
			l->trace_id[i] = (uint8_t)rnd();
	if (rn(2))
		for (size_t i = 0; i < 8; i++)
			l->span_id[i] = (uint8_t)rnd();
	l->tid = rn(2) ? (int)rnd() : 0;
	if (rn(2))
		strcpy(l->stream, rn(2) ? "stdout" : "stderr");
	gen_resource(&r, rn(5));
	memcpy(l->service, r.service_name, sizeof(l->service));
	memcpy(l->exe, r.executable_name, sizeof(l->exe));
	l->pid = r.pid;
	l->ctr = r.ctr;
}

static char host_buf[6000], inst_buf[300];
static struct otlp_host host_st;

static const char *gen_name(char *buf, size_t size)
{
	switch (rn(5)) {
	case 0:
		return NULL;
	case 1:
		return "";
	case 2:
		return "web-1";
	case 3:
		gen_str(buf, size < 300 ? size : 300, false);
		return buf;
	default:
		gen_str(buf, size, false);
		return buf;
	}
}

/* NULL, or host.name and service.instance.id each NULL, "", short, or generated */
static const struct otlp_host *gen_host(void)
{
	if (!rn(5))
		return NULL;
	host_st.name = gen_name(host_buf, sizeof(host_buf));
	host_st.instance_id = gen_name(inst_buf, sizeof(inst_buf));
	return &host_st;
}

/* old and new, each appended after the same prefix, must match to the byte (and both keep the NUL after) */
static void same(int rc_old, const struct otlp_buf *old, int rc_new, const struct otlp_buf *new, const char *what,
		 unsigned iter)
{
	ck_assert_int_eq(rc_old, 0);
	ck_assert_int_eq(rc_new, 0);
	if (old->len != new->len || memcmp(old->data, new->data, old->len)) {
		size_t i = 0;

		while (i < old->len && i < new->len && old->data[i] == new->data[i])
			i++;
		ck_abort_msg("%s #%u: lengths %zu/%zu, first difference at byte %zu: old \"%.40s\" new \"%.40s\"", what,
			     iter, old->len, new->len, i, (const char *)old->data + i, (const char *)new->data + i);
	}
	ck_assert_int_eq(new->data[new->len], 0);
}

static void prefix(struct otlp_buf *a, struct otlp_buf *b, unsigned iter)
{
	otlp_buf__reset(a);
	otlp_buf__reset(b);
	if (iter & 1) { /* the encoders append */
		ck_assert_int_eq(otlp_buf__append(a, "prefix:", 7), 0);
		ck_assert_int_eq(otlp_buf__append(b, "prefix:", 7), 0);
	}
}

#define SPAN_LINES 3000
#define BATCHES 400

START_TEST(span_lines_match_cjson)
{
	struct otlp_buf old = { 0 }, new = { 0 };
	struct span s;

	rng_state = 0x0b5e12345678ull;
	for (unsigned it = 0; it < SPAN_LINES; it++) {
		const struct otlp_host *host = gen_host();

		gen_span(&s);
		prefix(&old, &new, it);
		same(ref__span_line(&old, &s, host), &old, otlp__span_line(&new, &s, host), &new, "span line", it);
	}
	otlp_buf__free(&old);
	otlp_buf__free(&new);
}
END_TEST

START_TEST(trace_batches_match_cjson)
{
	struct otlp_buf old = { 0 }, new = { 0 };
	static struct span s[64];

	rng_state = 0x7ace5ull;
	for (unsigned it = 0; it < BATCHES; it++) {
		size_t n = rn(65);
		const struct otlp_host *host = gen_host();

		for (size_t i = 0; i < n; i++)
			gen_span(&s[i]);
		prefix(&old, &new, it);
		same(ref__traces_json(&old, s, n, host), &old, otlp__traces_json(&new, s, n, host), &new, "traces", it);
	}
	otlp_buf__free(&old);
	otlp_buf__free(&new);
}
END_TEST

START_TEST(log_batches_match_cjson)
{
	struct otlp_buf old = { 0 }, new = { 0 };
	static struct log_record l[64];

	rng_state = 0x1065ull;
	for (unsigned it = 0; it < BATCHES; it++) {
		size_t n = rn(65);
		const struct otlp_host *host = gen_host();

		for (size_t i = 0; i < n; i++)
			gen_log(&l[i]);
		prefix(&old, &new, it);
		same(ref__logs_json(&old, l, n, host), &old, otlp__logs_json(&new, l, n, host), &new, "logs", it);
	}
	otlp_buf__free(&old);
	otlp_buf__free(&new);
}
END_TEST

/* the longest text each field can become: controls (6 bytes each) and bad bytes (3) filling every string */
static void fill_worst(char *dst, size_t size, char c, bool nul)
{
	memset(dst, c, size);
	if (nul)
		dst[size - 1] = '\0';
}

START_TEST(worst_case_fits_and_matches)
{
	struct otlp_buf old = { 0 }, new = { 0 };
	static struct span s[2];
	static struct log_record l[2];
	static const char fills[] = { '\x01', '\xff', '"', 'a' };

	for (size_t f = 0; f < sizeof(fills); f++) {
		char c = fills[f];

		for (int k = 0; k < 2; k++) {
			struct span *sp = &s[k];
			struct log_record *lr = &l[k];

			memset(sp, 0xff, sizeof(*sp));
			fill_worst(sp->name, sizeof(sp->name), c, false);
			fill_worst(sp->trace_state, sizeof(sp->trace_state), c, false);
			fill_worst(sp->resource.service_name, SPAN_RES_STR_LEN, c, false);
			fill_worst(sp->resource.executable_name, SPAN_RES_STR_LEN, c, false);
			fill_worst(sp->resource.ctr.id, sizeof(sp->resource.ctr.id), c, false);
			fill_worst(sp->resource.ctr.pod_uid, sizeof(sp->resource.ctr.pod_uid), c, false);
			fill_worst(sp->resource.ctr.cgroup, sizeof(sp->resource.ctr.cgroup), c, false);
			sp->resource.pid = INT32_MIN + k; /* two resources */
			sp->nattrs = SPAN_MAX_ATTRS;
			for (int i = 0; i < SPAN_MAX_ATTRS; i++) {
				fill_worst(sp->attrs[i].key, sizeof(sp->attrs[i].key), c, true);
				fill_worst(sp->attrs[i].str_value, sizeof(sp->attrs[i].str_value), c, false);
				sp->attrs[i].type = (uint8_t)(i == 3 ? SPAN_ATTR_INT : SPAN_ATTR_STR);
				sp->attrs[i].int_value = INT64_MIN;
			}
			memset(lr, 0xff, sizeof(*lr));
			fill_worst(lr->severity_text, sizeof(lr->severity_text), c, false);
			fill_worst(lr->body, sizeof(lr->body), c, false);
			fill_worst(lr->stream, sizeof(lr->stream), c, false);
			fill_worst(lr->service, sizeof(lr->service), c, false);
			fill_worst(lr->exe, sizeof(lr->exe), c, false);
			fill_worst(lr->ctr.id, sizeof(lr->ctr.id), c, false);
			fill_worst(lr->ctr.pod_uid, sizeof(lr->ctr.pod_uid), c, false);
			fill_worst(lr->ctr.cgroup, sizeof(lr->ctr.cgroup), c, false);
			lr->pid = k;
			lr->severity_number = INT_MAX;
			lr->tid = INT_MIN;
		}
		memset(host_buf, c, sizeof(host_buf) - 1);
		host_buf[sizeof(host_buf) - 1] = '\0';
		memset(inst_buf, c, sizeof(inst_buf) - 1);
		inst_buf[sizeof(inst_buf) - 1] = '\0';
		host_st = (struct otlp_host){ .name = host_buf, .instance_id = inst_buf };
		for (unsigned it = 0; it < 2; it++) {
			prefix(&old, &new, it);
			same(ref__span_line(&old, s, &host_st), &old, otlp__span_line(&new, s, &host_st), &new,
			     "worst span line", it);
			prefix(&old, &new, it);
			same(ref__traces_json(&old, s, 2, &host_st), &old, otlp__traces_json(&new, s, 2, &host_st),
			     &new, "worst traces", it);
			prefix(&old, &new, it);
			same(ref__logs_json(&old, l, 2, &host_st), &old, otlp__logs_json(&new, l, 2, &host_st), &new,
			     "worst logs", it);
		}
	}
	otlp_buf__free(&old);
	otlp_buf__free(&new);
}
END_TEST

/* otlp_group__utf8_clean (both encoders; eight ASCII bytes at a time) against the byte-at-a-time loop it was */
static size_t ref_clean(char *dst, const char *src, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strnlen(src, max), i = 0, out = 0, k;

	while (i < n) {
		k = otlp_group__utf8_seq(s + i, n - i);
		if (k) {
			memcpy(dst + out, s + i, k);
			out += k;
			i += k;
		} else {
			memcpy(dst + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		}
	}
	return out;
}

START_TEST(utf8_clean_matches_bytewise)
{
	char in[300], a[900], b[900];

	rng_state = 0xc1ea4ull;
	for (unsigned it = 0; it < 20000; it++) {
		size_t max = 1 + rn(sizeof(in)), na, nb;

		gen_str(in, sizeof(in), true);
		na = ref_clean(a, in, max);
		nb = otlp_group__utf8_clean(b, in, max);
		ck_assert_uint_eq(na, nb);
		ck_assert_uint_eq(otlp_group__utf8_clean(NULL, in, max), na);
		ck_assert_msg(!memcmp(a, b, na), "#%u differs", it);
	}
}
END_TEST

/* the escapes themselves, spelled out: what cJSON printed is what we print */
START_TEST(escapes_spelled_out)
{
	struct otlp_buf b = { 0 };
	struct span s = { 0 };
	char want[256];

	span__copy_str(s.name, sizeof(s.name), "\x01\x1f\b\f\n\r\t\"\\/\x7f\xc3\xa9\xff\xe2\x82");
	ck_assert_int_eq(otlp__span_line(&b, &s, NULL), 0);
	snprintf(want, sizeof(want), "\"name\":\"%s\"",
		 "\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\x7f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_msg(strstr((const char *)b.data, want), "%s", (const char *)b.data);
	/* a full name ending in a lead byte, a continuation byte after it in memory (kind): cut, so U+FFFD */
	memset(s.name, 'x', sizeof(s.name));
	s.name[sizeof(s.name) - 1] = '\xc3';
	s.kind = 0xa9;
	otlp_buf__reset(&b);
	ck_assert_int_eq(otlp__span_line(&b, &s, NULL), 0);
	ck_assert_ptr_nonnull(strstr((const char *)b.data, "xx\xef\xbf\xbd\",\"kind\":169,"));
	otlp_buf__free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("otlp_json");
	TCase *tc = tcase_create("byte_identical");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, span_lines_match_cjson);
	tcase_add_test(tc, trace_batches_match_cjson);
	tcase_add_test(tc, log_batches_match_cjson);
	tcase_add_test(tc, worst_case_fits_and_matches);
	tcase_add_test(tc, escapes_spelled_out);
	tcase_add_test(tc, utf8_clean_matches_bytewise);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
