/* test_otlp.c -- OTLP encoders: protobuf checked by protoc --decode against tests/otlp, JSON by cJSON */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "export/otlp.h"
#include "export/otlp_json.h"
#include "lib/hex.h"

#define PROTO_DIR "tests/otlp"
#define TRACE_SERVICE PROTO_DIR "/opentelemetry/proto/collector/trace/v1/trace_service.proto"
#define LOGS_SERVICE PROTO_DIR "/opentelemetry/proto/collector/logs/v1/logs_service.proto"
#define TRACE_REQ "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
#define LOGS_REQ "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"

static void make_spans(struct span s[3])
{
	memset(s, 0, 3 * sizeof(*s));
	memcpy(s[0].trace_id, "0123456789abcdef", 16);
	memcpy(s[0].span_id, "ABCDEFGH", 8);
	memcpy(s[0].parent_span_id, "parent01", 8);
	span__copy_str(s[0].name, sizeof(s[0].name), "GET /users/{id}");
	s[0].kind = SPAN_KIND_SERVER;
	s[0].status_code = SPAN_STATUS_ERROR;
	s[0].flags = SPAN_FLAG_SAMPLED | SPAN_FLAG_HAS_IS_REMOTE | SPAN_FLAG_IS_REMOTE;
	s[0].start_ns = 1700000000123456789ull;
	s[0].end_ns = 1700000000223456789ull;
	span__copy_str(s[0].trace_state, sizeof(s[0].trace_state), "congo=t61rcWkgMzE");
	span__copy_str(s[0].resource.service_name, SPAN_RES_STR_LEN, "shop");
	span__copy_str(s[0].resource.executable_name, SPAN_RES_STR_LEN, "nginx");
	s[0].resource.pid = 812;
	span__add_str(&s[0], "http.request.method", "GET");
	span__add_int(&s[0], "http.response.status_code", 503);
	span__add_int(&s[0], "test.negative", -42);

	for (int i = 0; i < 16; i++)
		s[1].trace_id[i] = (uint8_t)(0xf0 + i);
	for (int i = 0; i < 8; i++)
		s[1].span_id[i] = (uint8_t)(0x80 + i);
	span__copy_str(s[1].name, sizeof(s[1].name), "POST");
	s[1].kind = SPAN_KIND_CLIENT;
	s[1].status_code = SPAN_STATUS_OK;
	s[1].start_ns = 5;
	s[1].end_ns = 6;
	span__copy_str(s[1].resource.service_name, SPAN_RES_STR_LEN, "curl");
	s[1].resource.pid = 900;

	s[2] = s[0];
	memcpy(s[2].span_id, "IJKLMNOP", 8);
	memcpy(s[2].parent_span_id, "ABCDEFGH", 8);
	span__copy_str(s[2].name, sizeof(s[2].name), "handle_request");
	s[2].kind = SPAN_KIND_INTERNAL;
	s[2].status_code = SPAN_STATUS_UNSET;
	s[2].flags = 0;
	s[2].trace_state[0] = '\0';
	s[2].nattrs = 0;
	span__add_str(&s[2], "code.function", "");
}

static void make_logs(struct log_record l[2])
{
	memset(l, 0, 2 * sizeof(*l));
	l[0].time_ns = 1700000000000000001ull;
	l[0].observed_ns = 1700000000000000002ull;
	l[0].severity_number = 17;
	span__copy_str(l[0].severity_text, sizeof(l[0].severity_text), "ERROR");
	span__copy_str(l[0].body, sizeof(l[0].body), "ERROR db timeout after 3s");
	memcpy(l[0].trace_id, "0123456789abcdef", 16);
	memcpy(l[0].span_id, "ABCDEFGH", 8);
	l[0].pid = 812;
	l[0].tid = 813;
	span__copy_str(l[0].stream, sizeof(l[0].stream), "stderr");
	span__copy_str(l[0].service, sizeof(l[0].service), "shop");
	span__copy_str(l[0].exe, sizeof(l[0].exe), "nginx");

	l[1].time_ns = 7;
	l[1].observed_ns = 8;
	span__copy_str(l[1].body, sizeof(l[1].body), "plain line");
	l[1].pid = 812;
	l[1].tid = 812;
	span__copy_str(l[1].stream, sizeof(l[1].stream), "stdout");
	span__copy_str(l[1].service, sizeof(l[1].service), "shop");
	span__copy_str(l[1].exe, sizeof(l[1].exe), "nginx");
}

/* `protoc --decode=TYPE` of @len bytes; returns its stdout (malloc'ed), fails the test if protoc does */
static char *protoc_decode(const char *type, const char *proto, const void *data, size_t len)
{
	char path[] = "/tmp/test_otlp.XXXXXX", cmd[512], *out = NULL;
	size_t n = 0, cap = 0;
	FILE *p;
	int fd = mkstemp(path), rc;

	ck_assert_msg(fd >= 0, "mkstemp");
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	ck_assert_msg(access(proto, R_OK) == 0, "%s missing: run the test from the repository root", proto);
	snprintf(cmd, sizeof(cmd), "protoc --decode=%s -I %s %s < %s 2>&1", type, PROTO_DIR, proto, path);
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "popen protoc");
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
		}
		size_t got = fread(out + n, 1, 4096, p);
		if (!got)
			break;
		n += got;
	}
	out[n] = '\0';
	rc = pclose(p);
	unlink(path);
	ck_assert_msg(rc == 0, "protoc failed (%d): %s", rc, out);
	return out;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char expected_traces[] =
	"resource_spans {\n"
	"  resource {\n"
	"    attributes {\n"
	"      key: \"service.name\"\n"
	"      value {\n"
	"        string_value: \"shop\"\n"
	"      }\n"
	"    }\n"
	"    attributes {\n"
	"      key: \"process.pid\"\n"
	"      value {\n"
	"        int_value: 812\n"
	"      }\n"
	"    }\n"
	"    attributes {\n"
	"      key: \"process.executable.name\"\n"
	"      value {\n"
	"        string_value: \"nginx\"\n"
	"      }\n"
	"    }\n"
	"    attributes {\n"
	"      key: \"host.name\"\n"
	"      value {\n"
	"        string_value: \"host1\"\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"  scope_spans {\n"
	"    scope {\n"
	"      name: \"obsprobe\"\n"
	"      version: \"0.1.0\"\n"
	"    }\n"
	"    spans {\n"
	"      trace_id: \"0123456789abcdef\"\n"
	"      span_id: \"ABCDEFGH\"\n"
	"      trace_state: \"congo=t61rcWkgMzE\"\n"
	"      parent_span_id: \"parent01\"\n"
	"      name: \"GET /users/{id}\"\n"
	"      kind: SPAN_KIND_SERVER\n"
	"      start_time_unix_nano: 1700000000123456789\n"
	"      end_time_unix_nano: 1700000000223456789\n"
	"      attributes {\n"
	"        key: \"http.request.method\"\n"
	"        value {\n"
	"          string_value: \"GET\"\n"
	"        }\n"
	"      }\n"
	"      attributes {\n"
	"        key: \"http.response.status_code\"\n"
	"        value {\n"
	"          int_value: 503\n"
	"        }\n"
	"      }\n"
	"      attributes {\n"
	"        key: \"test.negative\"\n"
	"        value {\n"
	"          int_value: -42\n"
	"        }\n"
	"      }\n"
	"      status {\n"
	"        code: STATUS_CODE_ERROR\n"
	"      }\n"
	"      flags: 769\n"
	"    }\n"
	"    spans {\n"
	"      trace_id: \"0123456789abcdef\"\n"
	"      span_id: \"IJKLMNOP\"\n"
	"      parent_span_id: \"ABCDEFGH\"\n"
	"      name: \"handle_request\"\n"
	"      kind: SPAN_KIND_INTERNAL\n"
	"      start_time_unix_nano: 1700000000123456789\n"
	"      end_time_unix_nano: 1700000000223456789\n"
	"      attributes {\n"
	"        key: \"code.function\"\n"
	"        value {\n"
	"          string_value: \"\"\n"
	"        }\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n"
	"resource_spans {\n"
	"  resource {\n"
	"    attributes {\n"
	"      key: \"service.name\"\n"
	"      value {\n"
	"        string_value: \"curl\"\n"
	"      }\n"
	"    }\n"
	"    attributes {\n"
	"      key: \"process.pid\"\n"
	"      value {\n"
	"        int_value: 900\n"
	"      }\n"
	"    }\n"
	"    attributes {\n"
	"      key: \"host.name\"\n"
	"      value {\n"
	"        string_value: \"host1\"\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"  scope_spans {\n"
	"    scope {\n"
	"      name: \"obsprobe\"\n"
	"      version: \"0.1.0\"\n"
	"    }\n"
	"    spans {\n"
	"      trace_id: \"\\360\\361\\362\\363\\364\\365\\366\\367\\370\\371\\372\\373\\374\\375\\376\\377\"\n"
	"      span_id: \"\\200\\201\\202\\203\\204\\205\\206\\207\"\n"
	"      name: \"POST\"\n"
	"      kind: SPAN_KIND_CLIENT\n"
	"      start_time_unix_nano: 5\n"
	"      end_time_unix_nano: 6\n"
	"      status {\n"
	"        code: STATUS_CODE_OK\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n";

static const char expected_logs[] = "resource_logs {\n"
				    "  resource {\n"
				    "    attributes {\n"
				    "      key: \"service.name\"\n"
				    "      value {\n"
				    "        string_value: \"shop\"\n"
				    "      }\n"
				    "    }\n"
				    "    attributes {\n"
				    "      key: \"process.pid\"\n"
				    "      value {\n"
				    "        int_value: 812\n"
				    "      }\n"
				    "    }\n"
				    "    attributes {\n"
				    "      key: \"process.executable.name\"\n"
				    "      value {\n"
				    "        string_value: \"nginx\"\n"
				    "      }\n"
				    "    }\n"
				    "    attributes {\n"
				    "      key: \"host.name\"\n"
				    "      value {\n"
				    "        string_value: \"host1\"\n"
				    "      }\n"
				    "    }\n"
				    "  }\n"
				    "  scope_logs {\n"
				    "    scope {\n"
				    "      name: \"obsprobe\"\n"
				    "      version: \"0.1.0\"\n"
				    "    }\n"
				    "    log_records {\n"
				    "      time_unix_nano: 1700000000000000001\n"
				    "      severity_number: SEVERITY_NUMBER_ERROR\n"
				    "      severity_text: \"ERROR\"\n"
				    "      body {\n"
				    "        string_value: \"ERROR db timeout after 3s\"\n"
				    "      }\n"
				    "      attributes {\n"
				    "        key: \"log.iostream\"\n"
				    "        value {\n"
				    "          string_value: \"stderr\"\n"
				    "        }\n"
				    "      }\n"
				    "      attributes {\n"
				    "        key: \"thread.id\"\n"
				    "        value {\n"
				    "          int_value: 813\n"
				    "        }\n"
				    "      }\n"
				    "      trace_id: \"0123456789abcdef\"\n"
				    "      span_id: \"ABCDEFGH\"\n"
				    "      observed_time_unix_nano: 1700000000000000002\n"
				    "    }\n"
				    "    log_records {\n"
				    "      time_unix_nano: 7\n"
				    "      body {\n"
				    "        string_value: \"plain line\"\n"
				    "      }\n"
				    "      attributes {\n"
				    "        key: \"log.iostream\"\n"
				    "        value {\n"
				    "          string_value: \"stdout\"\n"
				    "        }\n"
				    "      }\n"
				    "      attributes {\n"
				    "        key: \"thread.id\"\n"
				    "        value {\n"
				    "          int_value: 812\n"
				    "        }\n"
				    "      }\n"
				    "      observed_time_unix_nano: 8\n"
				    "    }\n"
				    "  }\n"
				    "}\n";

START_TEST(traces_protobuf_decodes_exactly)
{
	struct span s[3];
	struct otlp_buf b = { 0 };
	char *text;

	make_spans(s);
	ck_assert_int_eq(otlp__traces_pb(&b, s, 3, &(struct otlp_host){ .name = "host1" }), 0);
	text = protoc_decode(TRACE_REQ, TRACE_SERVICE, b.data, b.len);
	ck_assert_str_eq(text, expected_traces);
	free(text);
	otlp_buf__free(&b);
}
END_TEST

START_TEST(logs_protobuf_decodes_exactly)
{
	struct log_record l[2];
	struct otlp_buf b = { 0 };
	char *text;

	make_logs(l);
	ck_assert_int_eq(otlp__logs_pb(&b, l, 2, &(struct otlp_host){ .name = "host1" }), 0);
	text = protoc_decode(LOGS_REQ, LOGS_SERVICE, b.data, b.len);
	ck_assert_str_eq(text, expected_logs);
	free(text);
	otlp_buf__free(&b);
}
END_TEST

/* the wire bytes of a tiny request, by hand: tags, lengths, fixed64 little-endian */
START_TEST(protobuf_wire_bytes)
{
	struct span s;
	struct otlp_buf b = { 0 };
	static const uint8_t span_msg[] = {
		0x12, 0x33, /* ScopeSpans.spans, 51 bytes */
		0x0a, 0x10, 1,	  2,	3,    4,    5,	  6,	7,    8,
		9,    10,   11,	  12,	13,   14,   15,	  16,		    /* trace_id */
		0x12, 0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* span_id */
		0x2a, 0x01, 'x',					    /* name */
		0x30, 0x01,						    /* kind INTERNAL */
		0x39, 0x00, 0x01, 0,	0,    0,    0,	  0,	0,	    /* start 256 */
		0x41, 0x01, 0x02, 0,	0,    0,    0,	  0,	0,	    /* end 513 */
	};

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 16; i++)
		s.trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++)
		s.span_id[i] = (uint8_t)(0x11 + i);
	strcpy(s.name, "x");
	s.kind = SPAN_KIND_INTERNAL;
	s.start_ns = 256;
	s.end_ns = 513;
	ck_assert_int_eq(otlp__traces_pb(&b, &s, 1, NULL), 0);
	/* the request ends with the span: ResourceSpans{resource, ScopeSpans{scope, span}} */
	ck_assert_uint_ge(b.len, sizeof(span_msg));
	ck_assert_int_eq(memcmp(b.data + b.len - sizeof(span_msg), span_msg, sizeof(span_msg)), 0);
	ck_assert_uint_eq(b.data[0], 0x0a); /* ExportTraceServiceRequest.resource_spans */
	ck_assert_uint_eq(b.data[1], b.len - 2);
	otlp_buf__free(&b);
}
END_TEST

static cJSON *parse(const struct otlp_buf *b)
{
	cJSON *root;

	ck_assert_uint_eq(strlen((const char *)b->data), b->len);
	root = cJSON_Parse((const char *)b->data);
	ck_assert_msg(root != NULL, "invalid JSON: %s", (const char *)b->data);
	return root;
}

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", key);
	return v->valuestring;
}

static double jnum(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", key);
	return v->valuedouble;
}

static const cJSON *jget(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(v != NULL, "no %s", key);
	return v;
}

/* attributes[i] == {"key":K,"value":{TYPE:V}} */
static void check_attr(const cJSON *attrs, int i, const char *key, const char *type, const char *val)
{
	const cJSON *kv = cJSON_GetArrayItem(attrs, i), *v;

	ck_assert_msg(kv != NULL, "no attribute %d (%s)", i, key);
	ck_assert_str_eq(jstr(kv, "key"), key);
	v = jget(kv, "value");
	ck_assert_int_eq(cJSON_GetArraySize(v), 1);
	ck_assert_str_eq(jstr(v, type), val);
}

START_TEST(traces_json_mapping)
{
	struct span s[3];
	struct otlp_buf b = { 0 };
	const cJSON *rs, *res, *ss, *spans, *sp, *scope;
	cJSON *root;

	make_spans(s);
	ck_assert_int_eq(otlp__traces_json(&b, s, 3, &(struct otlp_host){ .name = "host1" }), 0);
	root = parse(&b);
	rs = jget(root, "resourceSpans");
	ck_assert_int_eq(cJSON_GetArraySize(rs), 2);

	res = jget(jget(cJSON_GetArrayItem(rs, 0), "resource"), "attributes");
	ck_assert_int_eq(cJSON_GetArraySize(res), 4);
	check_attr(res, 0, "service.name", "stringValue", "shop");
	check_attr(res, 1, "process.pid", "intValue", "812");
	check_attr(res, 2, "process.executable.name", "stringValue", "nginx");
	check_attr(res, 3, "host.name", "stringValue", "host1");
	ss = jget(cJSON_GetArrayItem(rs, 0), "scopeSpans");
	ck_assert_int_eq(cJSON_GetArraySize(ss), 1);
	scope = jget(cJSON_GetArrayItem(ss, 0), "scope");
	ck_assert_str_eq(jstr(scope, "name"), "obsprobe");
	ck_assert_str_eq(jstr(scope, "version"), OBSPROBE_VERSION);
	spans = jget(cJSON_GetArrayItem(ss, 0), "spans");
	ck_assert_int_eq(cJSON_GetArraySize(spans), 2);

	sp = cJSON_GetArrayItem(spans, 0);
	ck_assert_str_eq(jstr(sp, "traceId"), "30313233343536373839616263646566");
	ck_assert_str_eq(jstr(sp, "spanId"), "4142434445464748");
	ck_assert_str_eq(jstr(sp, "parentSpanId"), "706172656e743031");
	ck_assert_str_eq(jstr(sp, "traceState"), "congo=t61rcWkgMzE");
	ck_assert_str_eq(jstr(sp, "name"), "GET /users/{id}");
	ck_assert_int_eq((int)jnum(sp, "kind"), 2);
	ck_assert_int_eq((int)jnum(sp, "flags"), 0x301);
	ck_assert_str_eq(jstr(sp, "startTimeUnixNano"), "1700000000123456789");
	ck_assert_str_eq(jstr(sp, "endTimeUnixNano"), "1700000000223456789");
	ck_assert_int_eq((int)jnum(jget(sp, "status"), "code"), 2);
	ck_assert_int_eq(cJSON_GetArraySize(jget(sp, "attributes")), 3);
	check_attr(jget(sp, "attributes"), 0, "http.request.method", "stringValue", "GET");
	check_attr(jget(sp, "attributes"), 1, "http.response.status_code", "intValue", "503");
	check_attr(jget(sp, "attributes"), 2, "test.negative", "intValue", "-42");

	sp = cJSON_GetArrayItem(spans, 1);
	ck_assert_str_eq(jstr(sp, "name"), "handle_request");
	ck_assert_str_eq(jstr(sp, "parentSpanId"), "4142434445464748");
	ck_assert_int_eq((int)jnum(sp, "kind"), 1);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(sp, "status"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(sp, "flags"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(sp, "traceState"));
	check_attr(jget(sp, "attributes"), 0, "code.function", "stringValue", "");

	res = jget(jget(cJSON_GetArrayItem(rs, 1), "resource"), "attributes");
	ck_assert_int_eq(cJSON_GetArraySize(res), 3);
	check_attr(res, 0, "service.name", "stringValue", "curl");
	check_attr(res, 1, "process.pid", "intValue", "900");
	check_attr(res, 2, "host.name", "stringValue", "host1");
	spans = jget(cJSON_GetArrayItem(jget(cJSON_GetArrayItem(rs, 1), "scopeSpans"), 0), "spans");
	ck_assert_int_eq(cJSON_GetArraySize(spans), 1);
	sp = cJSON_GetArrayItem(spans, 0);
	ck_assert_str_eq(jstr(sp, "traceId"), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	ck_assert_str_eq(jstr(sp, "spanId"), "8081828384858687");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(sp, "parentSpanId")); /* root */
	ck_assert_int_eq((int)jnum(sp, "kind"), 3);
	ck_assert_str_eq(jstr(sp, "startTimeUnixNano"), "5");
	ck_assert_int_eq((int)jnum(jget(sp, "status"), "code"), 1);
	ck_assert_int_eq(cJSON_GetArraySize(jget(sp, "attributes")), 0);
	cJSON_Delete(root);
	otlp_buf__free(&b);
}
END_TEST

/* service.instance.id: after host.name on every resource, in both encodings and for logs too */
START_TEST(instance_id_on_every_resource)
{
	const struct otlp_host h = { .name = "hostA", .instance_id = "hostA-812" };
	struct span s[3];
	struct log_record l[2];
	struct otlp_buf b = { 0 };
	const cJSON *rs, *res;
	cJSON *root;
	char *text, *p;
	int found = 0;

	make_spans(s);
	ck_assert_int_eq(otlp__traces_json(&b, s, 3, &h), 0);
	root = parse(&b);
	rs = jget(root, "resourceSpans");
	ck_assert_int_eq(cJSON_GetArraySize(rs), 2);
	for (int i = 0; i < 2; i++) {
		res = jget(jget(cJSON_GetArrayItem(rs, i), "resource"), "attributes");
		int n = cJSON_GetArraySize(res);

		check_attr(res, n - 2, "host.name", "stringValue", "hostA");
		check_attr(res, n - 1, "service.instance.id", "stringValue", "hostA-812");
	}
	cJSON_Delete(root);
	otlp_buf__reset(&b);

	ck_assert_int_eq(otlp__traces_pb(&b, s, 3, &h), 0);
	text = protoc_decode(TRACE_REQ, TRACE_SERVICE, b.data, b.len);
	for (p = text; (p = strstr(p, "key: \"service.instance.id\"\n")); p++) {
		ck_assert_ptr_nonnull(strstr(p, "string_value: \"hostA-812\""));
		found++;
	}
	ck_assert_int_eq(found, 2);
	free(text);
	otlp_buf__reset(&b);

	make_logs(l);
	ck_assert_int_eq(otlp__logs_json(&b, l, 2, &(struct otlp_host){ .instance_id = "only-id" }), 0);
	root = parse(&b);
	res = jget(jget(cJSON_GetArrayItem(jget(root, "resourceLogs"), 0), "resource"), "attributes");
	check_attr(res, cJSON_GetArraySize(res) - 1, "service.instance.id", "stringValue", "only-id");
	for (int i = 0; i < cJSON_GetArraySize(res); i++)
		ck_assert_str_ne(jstr(cJSON_GetArrayItem(res, i), "key"), "host.name");
	cJSON_Delete(root);
	otlp_buf__free(&b);
}
END_TEST

START_TEST(logs_json_mapping)
{
	struct log_record l[2];
	struct otlp_buf b = { 0 };
	const cJSON *rl, *recs, *r;
	cJSON *root;

	make_logs(l);
	ck_assert_int_eq(otlp__logs_json(&b, l, 2, NULL), 0);
	root = parse(&b);
	rl = jget(root, "resourceLogs");
	ck_assert_int_eq(cJSON_GetArraySize(rl), 1);
	ck_assert_int_eq(cJSON_GetArraySize(jget(jget(cJSON_GetArrayItem(rl, 0), "resource"), "attributes")), 3);
	recs = jget(cJSON_GetArrayItem(jget(cJSON_GetArrayItem(rl, 0), "scopeLogs"), 0), "logRecords");
	ck_assert_int_eq(cJSON_GetArraySize(recs), 2);
	r = cJSON_GetArrayItem(recs, 0);
	ck_assert_str_eq(jstr(r, "timeUnixNano"), "1700000000000000001");
	ck_assert_str_eq(jstr(r, "observedTimeUnixNano"), "1700000000000000002");
	ck_assert_int_eq((int)jnum(r, "severityNumber"), 17);
	ck_assert_str_eq(jstr(r, "severityText"), "ERROR");
	ck_assert_str_eq(jstr(jget(r, "body"), "stringValue"), "ERROR db timeout after 3s");
	ck_assert_str_eq(jstr(r, "traceId"), "30313233343536373839616263646566");
	ck_assert_str_eq(jstr(r, "spanId"), "4142434445464748");
	check_attr(jget(r, "attributes"), 0, "log.iostream", "stringValue", "stderr");
	check_attr(jget(r, "attributes"), 1, "thread.id", "intValue", "813");
	r = cJSON_GetArrayItem(recs, 1);
	ck_assert_str_eq(jstr(jget(r, "body"), "stringValue"), "plain line");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(r, "traceId"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(r, "spanId"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(r, "severityNumber"));
	cJSON_Delete(root);
	otlp_buf__free(&b);
}
END_TEST

/* the container a process runs in is part of its resource: spans of two containers are two groups */
START_TEST(container_resource)
{
	struct span s[3];
	struct log_record l[2];
	struct otlp_buf b = { 0 };
	const cJSON *rs, *res;
	cJSON *root;
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

	make_spans(s);
	s[2].resource = s[0].resource; /* same service, pid, exe ... */
	span__copy_str(s[0].resource.ctr.id, sizeof(s[0].resource.ctr.id), id);
	span__copy_str(s[0].resource.ctr.pod_uid, sizeof(s[0].resource.ctr.pod_uid),
		       "0a1b2c3d-4e5f-6789-abcd-ef0123456789");
	span__copy_str(s[0].resource.ctr.cgroup, sizeof(s[0].resource.ctr.cgroup), "0::/kubepods/x");
	s[1].resource = s[0].resource;
	ck_assert_int_eq(otlp__traces_json(&b, s, 3, &(struct otlp_host){ .name = "host1" }), 0);
	root = parse(&b);
	rs = jget(root, "resourceSpans");
	ck_assert_int_eq(cJSON_GetArraySize(rs), 2); /* ... in no container: another group */
	res = jget(jget(cJSON_GetArrayItem(rs, 0), "resource"), "attributes");
	ck_assert_int_eq(cJSON_GetArraySize(res), 7);
	check_attr(res, 2, "process.executable.name", "stringValue", "nginx");
	check_attr(res, 3, "container.id", "stringValue", id);
	check_attr(res, 4, "k8s.pod.uid", "stringValue", "0a1b2c3d-4e5f-6789-abcd-ef0123456789");
	check_attr(res, 5, "process.linux.cgroup", "stringValue", "0::/kubepods/x");
	check_attr(res, 6, "host.name", "stringValue", "host1");
	ck_assert_int_eq(cJSON_GetArraySize(
				 jget(cJSON_GetArrayItem(jget(cJSON_GetArrayItem(rs, 0), "scopeSpans"), 0), "spans")),
			 2);
	ck_assert_int_eq(cJSON_GetArraySize(jget(jget(cJSON_GetArrayItem(rs, 1), "resource"), "attributes")), 4);
	cJSON_Delete(root);
	otlp_buf__free(&b);
	/* protobuf: the same keys and values on the wire */
	ck_assert_int_eq(otlp__traces_pb(&b, s, 3, &(struct otlp_host){ .name = "host1" }), 0);
	ck_assert_ptr_nonnull(memmem(b.data, b.len, "container.id", 12));
	ck_assert_ptr_nonnull(memmem(b.data, b.len, id, 64));
	ck_assert_ptr_nonnull(memmem(b.data, b.len, "k8s.pod.uid", 11));
	ck_assert_ptr_nonnull(memmem(b.data, b.len, "process.linux.cgroup", 20));
	otlp_buf__free(&b);
	/* log records the same way */
	make_logs(l);
	span__copy_str(l[1].ctr.id, sizeof(l[1].ctr.id), id);
	ck_assert_int_eq(otlp__logs_json(&b, l, 2, NULL), 0);
	root = parse(&b);
	rs = jget(root, "resourceLogs");
	ck_assert_int_eq(cJSON_GetArraySize(rs), 2);
	res = jget(jget(cJSON_GetArrayItem(rs, 1), "resource"), "attributes");
	ck_assert_int_eq(cJSON_GetArraySize(res), 4);
	check_attr(res, 3, "container.id", "stringValue", id);
	cJSON_Delete(root);
	otlp_buf__free(&b);
}
END_TEST

START_TEST(span_line_is_one_line)
{
	struct span s[3];
	struct otlp_buf b = { 0 };
	const cJSON *rs, *spans;
	cJSON *root;
	char *nl;

	make_spans(s);
	ck_assert_int_eq(otlp_buf__append(&b, "prev\n", 5), 0);
	ck_assert_int_eq(otlp__span_line(&b, &s[1], &(struct otlp_host){ .name = "h" }), 0);
	ck_assert_int_eq(memcmp(b.data, "prev\n", 5), 0);
	ck_assert_uint_eq(b.data[b.len - 1], '\n');
	nl = memchr(b.data + 5, '\n', b.len - 5);
	ck_assert_ptr_eq(nl, b.data + b.len - 1);
	root = cJSON_ParseWithLength((const char *)b.data + 5, b.len - 5);
	ck_assert_ptr_nonnull(root);
	rs = jget(root, "resourceSpans");
	ck_assert_int_eq(cJSON_GetArraySize(rs), 1);
	spans = jget(cJSON_GetArrayItem(jget(cJSON_GetArrayItem(rs, 0), "scopeSpans"), 0), "spans");
	ck_assert_int_eq(cJSON_GetArraySize(spans), 1);
	ck_assert_str_eq(jstr(cJSON_GetArrayItem(spans, 0), "name"), "POST");
	cJSON_Delete(root);
	otlp_buf__free(&b);
}
END_TEST

START_TEST(invalid_utf8_is_replaced)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" }, /* valid */
		{ "a\xff"
		  "b",
		  "a\xef\xbf\xbd"
		  "b" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },				    /* overlong '/' */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },		    /* a UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* past U+10FFFF */
		{ "end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd" },			    /* cut short */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct span s;
		struct otlp_buf b = { 0 };
		cJSON *root;
		const cJSON *sp;
		char *text, want[128];

		memset(&s, 0, sizeof(s));
		s.span_id[0] = 1;
		span__copy_str(s.name, sizeof(s.name), cases[i].in);
		ck_assert_int_eq(otlp__traces_json(&b, &s, 1, NULL), 0);
		root = parse(&b);
		sp = cJSON_GetArrayItem(jget(cJSON_GetArrayItem(jget(cJSON_GetArrayItem(jget(root, "resourceSpans"), 0),
								     "scopeSpans"),
								0),
					     "spans"),
					0);
		ck_assert_str_eq(jstr(sp, "name"), cases[i].out);
		cJSON_Delete(root);

		/* protobuf: the same bytes, as protoc prints them (octal escapes for non-ASCII) */
		otlp_buf__reset(&b);
		ck_assert_int_eq(otlp__traces_pb(&b, &s, 1, NULL), 0);
		text = protoc_decode(TRACE_REQ, TRACE_SERVICE, b.data, b.len);
		{
			char *w = want;

			for (const unsigned char *p = (const unsigned char *)cases[i].out; *p; p++)
				w += *p >= 0x80 ? sprintf(w, "\\%03o", *p) : sprintf(w, "%c", *p);
		}
		ck_assert_msg(count_of(text, want) == 1, "case %zu: %s not in %s", i, want, text);
		free(text);
		otlp_buf__free(&b);
	}
}
END_TEST

/* many big spans: multi-byte length prefixes at every level, all of them decodable */
START_TEST(big_batch_decodes)
{
	static struct span s[600];
	struct otlp_buf b = { 0 };
	char key[32], val[SPAN_ATTR_STR_LEN], *text;
	cJSON *root;

	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (int i = 0; i < 600; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].trace_id[0] = 1;
		s[i].span_id[7] = (uint8_t)i;
		snprintf(s[i].name, sizeof(s[i].name), "span-%d", i);
		s[i].kind = SPAN_KIND_SERVER;
		s[i].start_ns = 1;
		s[i].end_ns = UINT64_MAX;
		span__copy_str(s[i].resource.service_name, SPAN_RES_STR_LEN, "svc");
		for (int k = 0; k < SPAN_MAX_ATTRS; k++) {
			snprintf(key, sizeof(key), "attr.%d", k);
			if (k % 2)
				span__add_int(&s[i], key, INT64_MIN + k);
			else
				span__add_str(&s[i], key, val);
		}
	}
	ck_assert_int_eq(otlp__traces_pb(&b, s, 600, &(struct otlp_host){ .name = "h" }), 0);
	ck_assert_uint_gt(b.len, 600u * SPAN_MAX_ATTRS / 2 * (SPAN_ATTR_STR_LEN - 1));
	text = protoc_decode(TRACE_REQ, TRACE_SERVICE, b.data, b.len);
	ck_assert_uint_eq(count_of(text, "\n    spans {\n"), 600);
	ck_assert_uint_eq(count_of(text, "resource_spans {"), 1);
	ck_assert_uint_eq(count_of(text, "int_value: -9223372036854775807\n"), 600);
	ck_assert_uint_eq(count_of(text, "end_time_unix_nano: 18446744073709551615\n"), 600);
	ck_assert_uint_eq(count_of(text, "name: \"span-599\"\n"), 1);
	free(text);

	otlp_buf__reset(&b);
	ck_assert_int_eq(otlp__traces_json(&b, s, 600, &(struct otlp_host){ .name = "h" }), 0);
	root = parse(&b);
	ck_assert_int_eq(cJSON_GetArraySize(
				 jget(cJSON_GetArrayItem(jget(cJSON_GetArrayItem(jget(root, "resourceSpans"), 0),
							      "scopeSpans"),
							 0),
				      "spans")),
			 600);
	ck_assert_uint_eq(count_of((const char *)b.data, "\"intValue\":\"-9223372036854775807\""), 600);
	ck_assert_uint_eq(count_of((const char *)b.data, "\"endTimeUnixNano\":\"18446744073709551615\""), 600);
	cJSON_Delete(root);
	otlp_buf__free(&b);
}
END_TEST

START_TEST(empty_batch)
{
	struct otlp_buf b = { 0 };

	ck_assert_int_eq(otlp__traces_pb(&b, NULL, 0, &(struct otlp_host){ .name = "h" }), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(otlp__traces_json(&b, NULL, 0, &(struct otlp_host){ .name = "h" }), 0);
	ck_assert_str_eq((const char *)b.data, "{\"resourceSpans\":[]}");
	otlp_buf__reset(&b);
	ck_assert_int_eq(otlp__logs_json(&b, NULL, 0, &(struct otlp_host){ .name = "h" }), 0);
	ck_assert_str_eq((const char *)b.data, "{\"resourceLogs\":[]}");
	otlp_buf__free(&b);
}
END_TEST

START_TEST(span_helpers_truncate_and_count)
{
	struct span s;
	struct otlp_buf b = { 0 };
	char key[16], longval[400], *text;

	memset(&s, 0, sizeof(s));
	memset(longval, 'x', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	for (int i = 0; i < SPAN_MAX_ATTRS + 2; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		span__add_str(&s, key, longval);
	}
	ck_assert_uint_eq(s.nattrs, SPAN_MAX_ATTRS);
	ck_assert_uint_eq(s.dropped_attrs, 2);
	ck_assert_uint_eq(strlen(s.attrs[0].str_value), SPAN_ATTR_STR_LEN - 1);
	ck_assert_str_eq(s.attrs[15].key, "k15");
	span__copy_str(s.name, 4, "abcdef");
	ck_assert_str_eq(s.name, "abc");
	ck_assert_int_eq(otlp__traces_pb(&b, &s, 1, NULL), 0);
	text = protoc_decode(TRACE_REQ, TRACE_SERVICE, b.data, b.len);
	ck_assert_uint_eq(count_of(text, "dropped_attributes_count: 2\n"), 1);
	ck_assert_uint_eq(count_of(text, "key: \"k"), SPAN_MAX_ATTRS);
	/* no service.name known: OpenTelemetry's fallback */
	ck_assert_uint_eq(count_of(text, "string_value: \"unknown_service\"\n"), 1);
	free(text);
	otlp_buf__free(&b);
}
END_TEST

START_TEST(hex_ids)
{
	uint8_t id[8] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[17];

	hex__encode(out, id, 8);
	ck_assert_str_eq(out, "00017f80abcdefff");
	hex__encode(out, id, 0);
	ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("otlp");
	TCase *tc = tcase_create("encoders");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, traces_protobuf_decodes_exactly);
	tcase_add_test(tc, logs_protobuf_decodes_exactly);
	tcase_add_test(tc, protobuf_wire_bytes);
	tcase_add_test(tc, traces_json_mapping);
	tcase_add_test(tc, logs_json_mapping);
	tcase_add_test(tc, instance_id_on_every_resource);
	tcase_add_test(tc, container_resource);
	tcase_add_test(tc, span_line_is_one_line);
	tcase_add_test(tc, invalid_utf8_is_replaced);
	tcase_add_test(tc, big_batch_decodes);
	tcase_add_test(tc, empty_batch);
	tcase_add_test(tc, span_helpers_truncate_and_count);
	tcase_add_test(tc, hex_ids);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
