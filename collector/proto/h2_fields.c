/* h2_fields.c -- the header fields of one decoded HTTP/2 header block into an exchange's strings and the
 * trace context the request carries */
#include <string.h>

#include "proto/h2_fields.h"

void h2_fields__init(struct h2_fields *f)
{
	memset(f, 0, offsetof(struct h2_fields, ctx));
	ctx_extractor__init(&f->ctx);
	memset(&f->bin, 0, sizeof(f->bin));
}

static void keep(char *dst, size_t size, const char *v, size_t n, bool *truncated)
{
	if (n >= size) {
		n = size - 1;
		*truncated = true;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static bool is(const char *name, size_t nlen, const char *lit)
{
	return nlen == strlen(lit) && !memcmp(name, lit, nlen);
}

static int b64_value(unsigned char c)
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

bool h2_fields__trace_bin(const char *val, size_t vlen, struct trace_ctx *out)
{
	uint8_t b[64];
	size_t n = 0, i = 0;
	uint32_t acc = 0;
	int bits = 0;
	bool have_tid = false, have_sid = false;

	memset(out, 0, sizeof(*out));
	while (vlen && val[vlen - 1] == '=') /* gRPC may send it padded or not */
		vlen--;
	for (size_t k = 0; k < vlen; k++) {
		int v = b64_value(val[k]);

		if (v < 0 || n == sizeof(b))
			return false;
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b[n++] = acc >> bits & 0xff;
		}
	}
	if (n < 1 || b[0] != 0) /* version 0 */
		return false;
	for (i = 1; i < n;) {
		switch (b[i]) {
		case 0:
			if (i + 17 > n)
				return false;
			memcpy(out->trace_id, b + i + 1, 16);
			have_tid = true;
			i += 17;
			break;
		case 1:
			if (i + 9 > n)
				return false;
			memcpy(out->span_id, b + i + 1, 8);
			have_sid = true;
			i += 9;
			break;
		case 2:
			if (i + 2 > n)
				return false;
			out->sampled = b[i + 1] & 1;
			out->decided = 1;
			i += 2;
			break;
		default:
			i = n; /* a field this version does not know: the ones before it stand */
		}
	}
	if (!have_tid || !have_sid)
		return false;
	for (i = 0; i < 16 && !out->trace_id[i]; i++)
		;
	if (i == 16)
		return false;
	for (i = 0; i < 8 && !out->span_id[i]; i++)
		;
	if (i == 8)
		return false;
	out->valid = 1;
	return true;
}

void h2_fields__add(struct h2_fields *f, const char *name, size_t nlen, const char *val, size_t vlen)
{
	if (nlen && name[0] == ':') {
		if (is(name, nlen, ":method"))
			keep(f->method, sizeof(f->method), val, vlen, &f->truncated);
		else if (is(name, nlen, ":path"))
			keep(f->path, sizeof(f->path), val, vlen, &f->truncated);
		else if (is(name, nlen, ":authority"))
			keep(f->authority, sizeof(f->authority), val, vlen, &f->truncated);
		else if (is(name, nlen, ":status")) {
			f->status = 0;
			for (size_t i = 0; i < vlen && i < 3 && val[i] >= '0' && val[i] <= '9'; i++)
				f->status = f->status * 10 + (val[i] - '0');
			if (vlen != 3)
				f->status = 0;
		}
		return;
	}
	if (is(name, nlen, "user-agent"))
		keep(f->agent, sizeof(f->agent), val, vlen, &f->truncated);
	else if (is(name, nlen, "content-type"))
		keep(f->content_type, sizeof(f->content_type), val, vlen, &(bool){ false });
	else if (is(name, nlen, "grpc-status"))
		keep(f->grpc_status, sizeof(f->grpc_status), val, vlen, &f->truncated);
	else if (is(name, nlen, "grpc-trace-bin"))
		h2_fields__trace_bin(val, vlen, &f->bin);
	else /* traceparent, tracestate, baggage, b3, x-b3-* and the rest tracectx.h knows */
		ctx_extractor__header(&f->ctx, name, nlen, val, vlen);
}

static bool grpc_type(const char *ct)
{
	return !strncmp(ct, "application/grpc", 16) && (!ct[16] || ct[16] == '+' || ct[16] == ';');
}

void h2_fields__request(struct h2_fields *f, struct obs_exchange *x, struct trace_ctx *in)
{
	x->proto = grpc_type(f->content_type) ? OBS_PROTO_GRPC : OBS_PROTO_HTTP2;
	x->version = 2;
	x->truncated = f->truncated;
	memcpy(x->op, f->method, sizeof(x->op));
	memcpy(x->target, f->path, sizeof(x->target));
	memcpy(x->host, f->authority, sizeof(x->host));
	memcpy(x->agent, f->agent, sizeof(x->agent));
	if (ctx_extractor__finish(&f->ctx, in)) {
		tracectx__truncate_state(x->tracestate, sizeof(x->tracestate), in->tracestate);
	} else if (f->bin.valid) {
		bool decided = in->decided, sampled = in->sampled;

		*in = f->bin;
		if (!in->decided) { /* a decision the other headers carried ("b3: 0") */
			in->decided = decided;
			in->sampled = sampled;
		}
	}
}

bool h2_fields__response(const struct h2_fields *f, struct obs_exchange *x)
{
	bool final = f->status >= 200;

	if (final)
		x->status = f->status;
	if (f->grpc_status[0])
		memcpy(x->code, f->grpc_status, sizeof(x->code));
	x->truncated |= f->truncated;
	return final;
}

void h2_fields__finish(struct obs_exchange *x)
{
	if (x->proto == OBS_PROTO_GRPC)
		x->error = strcmp(x->code, "0") != 0;
}
