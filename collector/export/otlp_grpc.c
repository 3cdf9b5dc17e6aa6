/* otlp_grpc.c -- OTLP/gRPC's wire pieces: message framing, request headers, the call's status (pure, no I/O) */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "export/otlp_grpc.h"

#define DETAILS_MAX 4096 /* a grpc-status-details-bin longer than this (decoded) is not read */

void otlp_grpc__status_reset(struct grpc_status *st)
{
	*st = (struct grpc_status){ .code = -1, .retry_delay_ms = -1 };
}

void otlp_grpc__prefix(uint8_t out[GRPC_PREFIX], bool compressed, uint32_t len)
{
	out[0] = compressed;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

int otlp_grpc__timeout_header(char *out, size_t len, long ms)
{
	/* TimeoutValue is 1 to 8 digits: the finest unit that fits */
	static const struct {
		char unit;
		long per;
	} units[] = { { 'm', 1 }, { 'S', 1000 }, { 'M', 60000 }, { 'H', 3600000 } };
	int n = -1;

	if (ms < 1)
		ms = 1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long v = (ms + units[i].per - 1) / units[i].per;

		if (v <= 99999999) {
			n = snprintf(out, len, "grpc-timeout: %ld%c", v, units[i].unit);
			break;
		}
	}
	return n >= 0 && (size_t)n < len ? n : -1;
}

/* ---- a bounded protobuf reader ------------------------------------------------------------------------ */

struct pb_field {
	uint64_t num, v; /* v: a varint's value, or a length-delimited field's length */
	int wire;
	const uint8_t *b; /* a length-delimited field's bytes */
};

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

/* the next field of [*p, end): 1, 0 at the end, -1 on bad framing */
static int pb_next(const uint8_t **p, const uint8_t *end, struct pb_field *f)
{
	uint64_t key;

	if (*p >= end)
		return 0;
	if (pb_varint(p, end, &key))
		return -1;
	f->num = key >> 3;
	f->wire = (int)(key & 7);
	f->v = 0;
	f->b = NULL;
	switch (f->wire) {
	case 0:
		return pb_varint(p, end, &f->v) ? -1 : 1;
	case 1:
	case 5:
		if ((size_t)(end - *p) < (f->wire == 1 ? 8u : 4u))
			return -1;
		*p += f->wire == 1 ? 8 : 4;
		return 1;
	case 2:
		if (pb_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
			return -1;
		f->b = *p;
		*p += f->v;
		return 1;
	default:
		return -1;
	}
}

/* google.protobuf.Duration{1: int64 seconds, 2: int32 nanos} -> ms, capped at an hour; negative -> 0 */
static int duration_ms(const uint8_t *p, size_t len, long *ms)
{
	const uint8_t *end = p + len;
	struct pb_field f;
	int64_t s = 0, ns = 0;
	int r;

	while ((r = pb_next(&p, end, &f)) == 1) {
		if (f.num == 1 && f.wire == 0)
			s = (int64_t)f.v;
		else if (f.num == 2 && f.wire == 0)
			ns = (int32_t)f.v;
	}
	if (r)
		return -1;
	if (s < 0 || (s == 0 && ns < 0))
		s = ns = 0;
	if (ns < 0)
		ns = 0;
	*ms = s >= 3600 ? 3600000 : (long)(s * 1000 + ns / 1000000);
	if (*ms > 3600000)
		*ms = 3600000;
	return 0;
}

#define RETRY_INFO_URL "type.googleapis.com/google.rpc.RetryInfo"

/* google.protobuf.Any{1: type_url, 2: value}: RetryInfo{1: Duration retry_delay} -> @ms (-1: another detail) */
static int any_retry_info(const uint8_t *p, size_t len, long *ms)
{
	const uint8_t *end = p + len, *val = NULL, *v, *vend;
	size_t vlen = 0;
	bool is_retry = false;
	struct pb_field f;
	int r;

	while ((r = pb_next(&p, end, &f)) == 1) {
		if (f.num == 1 && f.wire == 2)
			is_retry = f.v == strlen(RETRY_INFO_URL) && !memcmp(f.b, RETRY_INFO_URL, f.v);
		else if (f.num == 2 && f.wire == 2) {
			val = f.b;
			vlen = (size_t)f.v;
		}
	}
	*ms = -1;
	if (r)
		return -1;
	if (!is_retry)
		return 0;
	*ms = 0; /* a RetryInfo without retry_delay: retry, with our backoff's first delay */
	if (!val)
		return 0;
	for (v = val, vend = val + vlen; (r = pb_next(&v, vend, &f)) == 1;)
		if (f.num == 1 && f.wire == 2 && duration_ms(f.b, (size_t)f.v, ms))
			return -1;
	return r ? -1 : 0;
}

int otlp_grpc__retry_info(const uint8_t *p, size_t len, long *delay_ms)
{
	const uint8_t *end = p + len;
	struct pb_field f;
	long ms;
	int r;

	*delay_ms = -1;
	/* google.rpc.Status{1: int32 code, 2: string message, 3: repeated Any details} */
	while ((r = pb_next(&p, end, &f)) == 1) {
		if (f.num != 3 || f.wire != 2)
			continue;
		if (any_retry_info(f.b, (size_t)f.v, &ms)) {
			*delay_ms = -1;
			return -1;
		}
		if (ms >= 0 && *delay_ms < 0)
			*delay_ms = ms;
	}
	if (r)
		*delay_ms = -1;
	return r ? -1 : 0;
}

/* ---- headers and trailers ----------------------------------------------------------------------------- */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

long otlp_grpc__base64(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	while (len && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)n;
}

static int hexval(char c)
{
	return isdigit((unsigned char)c)    ? c - '0'
	       : isxdigit((unsigned char)c) ? (tolower((unsigned char)c) - 'a' + 10)
					    : -1;
}

/* grpc-message is percent-encoded UTF-8 */
static void set_message(struct grpc_status *st, const char *v, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < sizeof(st->msg); i++) {
		char c = v[i];

		if (c == '%' && i + 2 < len && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
			c = (char)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
			i += 2;
		}
		st->msg[n++] = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
	}
	st->msg[n] = '\0';
}

static bool name_is(const char *line, size_t nlen, const char *name)
{
	return nlen == strlen(name) && !strncasecmp(line, name, nlen);
}

void otlp_grpc__header(struct grpc_status *st, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v;
	size_t nlen, vlen;

	if (!colon || colon == line)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (name_is(line, nlen, "grpc-status")) {
		long code = 0;
		size_t i;

		for (i = 0; i < vlen && i < 4 && isdigit((unsigned char)v[i]); i++)
			code = code * 10 + (v[i] - '0');
		st->code = vlen && i == vlen && code <= 16 ? (int)code : GRPC_UNKNOWN;
	} else if (name_is(line, nlen, "grpc-message")) {
		set_message(st, v, vlen);
	} else if (name_is(line, nlen, "grpc-encoding")) {
		st->gzip = vlen == 4 && !strncasecmp(v, "gzip", 4);
	} else if (name_is(line, nlen, "grpc-status-details-bin")) {
		uint8_t buf[DETAILS_MAX];
		long n = otlp_grpc__base64(v, vlen, buf, sizeof(buf));

		st->bad_details = n < 0 || otlp_grpc__retry_info(buf, (size_t)n, &st->retry_delay_ms);
		if (st->bad_details)
			st->retry_delay_ms = -1;
	}
}

/* ---- codes -------------------------------------------------------------------------------------------- */

int otlp_grpc__from_http(long http_status)
{
	switch (http_status) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

bool otlp_grpc__retryable(int code, bool has_retry_info)
{
	switch (code) {
	case GRPC_CANCELLED:
	case GRPC_DEADLINE_EXCEEDED:
	case GRPC_ABORTED:
	case GRPC_OUT_OF_RANGE:
	case GRPC_UNAVAILABLE:
	case GRPC_DATA_LOSS:
		return true;
	case GRPC_RESOURCE_EXHAUSTED:
		return has_retry_info;
	default:
		return false;
	}
}

const char *otlp_grpc__code_name(int code, char *buf, size_t len)
{
	static const char *const names[] = {
		"OK",	     "CANCELLED",	"UNKNOWN",	     "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS",	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED",   "OUT_OF_RANGE",	"UNIMPLEMENTED",     "INTERNAL",	   "UNAVAILABLE",
		"DATA_LOSS", "UNAUTHENTICATED",
	};

	if (code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])))
		return names[code];
	snprintf(buf, len, "code %d", code);
	return buf;
}

int otlp_grpc__unframe(const uint8_t *body, size_t len, const uint8_t **msg, size_t *msglen, bool *compressed)
{
	uint32_t n;

	if (!len)
		return 1;
	if (len < GRPC_PREFIX || body[0] > 1)
		return -1;
	n = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 | body[4];
	if (n != len - GRPC_PREFIX) /* a unary response has exactly one message */
		return -1;
	*msg = body + GRPC_PREFIX;
	*msglen = n;
	*compressed = body[0];
	return 0;
}
