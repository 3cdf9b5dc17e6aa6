/* otlpresp.c -- OTLP/HTTP success bodies: partial_success of Export{Trace,Logs}ServiceResponse, protobuf or JSON */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "export/otlpresp.h"

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* walk one protobuf message: @cb sees each field (number, wire type, varint value or bytes); -1 on bad framing */
static int pb_fields(const uint8_t *p, size_t len,
		     void (*cb)(void *ctx, uint64_t field, int wire, uint64_t v, const uint8_t *b, size_t blen),
		     void *ctx)
{
	const uint8_t *end = p + len;

	while (p < end) {
		uint64_t key, v = 0;
		const uint8_t *b = NULL;

		if (pb_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (pb_varint(&p, end, &v))
				return -1;
			break;
		case 1:
		case 5:
			if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
				return -1;
			p += (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (pb_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return -1;
			b = p;
			p += v;
			break;
		default:
			return -1;
		}
		cb(ctx, key >> 3, (int)(key & 7), v, b, b ? (size_t)v : 0);
	}
	return 0;
}

struct partial {
	uint64_t rejected;
	char *msg;
	size_t msglen;
	bool bad;
};

static void partial_field(void *ctx, uint64_t field, int wire, uint64_t v, const uint8_t *b, size_t blen)
{
	struct partial *ps = ctx;

	if (field == 1 && wire == 0) { /* rejected_spans / _log_records / _data_points (int64) */
		ps->rejected = v;
		ps->bad |= (int64_t)v < 0;
	} else if (field == 2 && wire == 2) /* error_message */
		snprintf(ps->msg, ps->msglen, "%.*s", (int)blen, (const char *)b);
}

static void response_field(void *ctx, uint64_t field, int wire, uint64_t v, const uint8_t *b, size_t blen)
{
	struct partial *ps = ctx;

	(void)v;
	if (field == 1 && wire == 2) { /* partial_success */
		if (pb_fields(b, blen, partial_field, ps))
			ps->bad = true;
	}
}

/* {"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}: int64 is a string in OTLP/JSON, a number is
 * taken too */
static int parse_json(const void *body, size_t len, uint64_t *rejected, char *msg, size_t msglen)
{
	cJSON *o = cJSON_ParseWithLength(body, len), *p, *r, *m;
	int err = -1;

	if (!cJSON_IsObject(o))
		goto cleanup;
	p = cJSON_GetObjectItemCaseSensitive(o, "partialSuccess");
	if (p && !cJSON_IsObject(p))
		goto cleanup;
	r = cJSON_GetObjectItemCaseSensitive(p, "rejectedSpans");
	if (!r)
		r = cJSON_GetObjectItemCaseSensitive(p, "rejectedLogRecords");
	if (!r)
		r = cJSON_GetObjectItemCaseSensitive(p, "rejectedDataPoints");
	if (cJSON_IsString(r)) {
		char *end;

		errno = 0;
		*rejected = strtoull(r->valuestring, &end, 10);
		if (errno || end == r->valuestring || *end || r->valuestring[0] == '-')
			goto cleanup;
	} else if (cJSON_IsNumber(r)) {
		if (!(r->valuedouble >= 0 && r->valuedouble <= 1e18))
			goto cleanup;
		*rejected = (uint64_t)r->valuedouble;
	} else if (r) {
		goto cleanup;
	}
	m = cJSON_GetObjectItemCaseSensitive(p, "errorMessage");
	if (cJSON_IsString(m))
		snprintf(msg, msglen, "%s", m->valuestring);
	err = 0;
cleanup:
	cJSON_Delete(o);
	return err;
}

int otlpresp__parse(const void *body, size_t len, bool json, uint64_t *rejected, char *msg, size_t msglen)
{
	struct partial ps = { .msg = msg, .msglen = msglen };
	int err;

	*rejected = 0;
	if (!msglen)
		return -1;
	msg[0] = '\0';
	if (!len)
		return 0; /* an empty body: full success */
	if (json)
		err = parse_json(body, len, rejected, msg, msglen);
	else {
		err = pb_fields(body, len, response_field, &ps) || ps.bad ? -1 : 0;
		*rejected = ps.rejected;
	}
	if (err) {
		*rejected = 0;
		msg[0] = '\0';
	}
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?'; /* the receiver's text goes to our stderr */
	return err;
}
