/* otlp_pb.c -- the protobuf writer the OTLP encoders share (traces and logs: otlp.c, metrics: otlp_metrics.c) */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "export/otlp_group.h"
#include "export/otlp_pb.h"

/*
 * Why a hand-written protobuf writer and not protobuf-c: protobuf-c needs C code generated from the
 * .proto files at build time (protoc-c plus the OTLP schema in the tree or fetched), and a runtime
 * library, to encode about ten message types one way.  Encoding is four primitives -- varint,
 * fixed32/fixed64 and length-delimited -- and the schema is a handful of field numbers, written out
 * below next to each message.  The unit test decodes what we write with `protoc --decode` against
 * the .proto files under tests/otlp/, so the field numbers are checked by a real protobuf parser.
 */

void pb_raw(struct pb *w, const void *p, size_t n)
{
	if (!w->err && otlp_buf__append(w->b, p, n))
		w->err = -ENOMEM;
}

size_t pb_varint_encode(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

void pb_varint(struct pb *w, uint64_t v)
{
	uint8_t tmp[10];

	pb_raw(w, tmp, pb_varint_encode(tmp, v));
}

void pb_tag(struct pb *w, unsigned field, unsigned wire)
{
	pb_varint(w, (uint64_t)field << 3 | wire);
}

/* varint field, omitted when 0 (proto3 default) */
void pb_uint(struct pb *w, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(w, field, PB_VARINT);
	pb_varint(w, v);
}

void pb_fixed64(struct pb *w, unsigned field, uint64_t v)
{
	uint8_t le[8];

	if (!v)
		return;
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_tag(w, field, PB_FIXED64);
	pb_raw(w, le, 8);
}

void pb_fixed32(struct pb *w, unsigned field, uint32_t v)
{
	uint8_t le[4];

	if (!v)
		return;
	for (int i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_tag(w, field, PB_FIXED32);
	pb_raw(w, le, 4);
}

void pb_bytes(struct pb *w, unsigned field, const void *p, size_t n)
{
	pb_tag(w, field, PB_LEN);
	pb_varint(w, n);
	pb_raw(w, p, n);
}

/* string field from a (possibly unterminated) char array of @max bytes; @always writes "" too
 * (needed inside a oneof, where presence matters) */
void pb_string(struct pb *w, unsigned field, const char *s, size_t max, bool always)
{
	size_t n = otlp_group__utf8_clean(NULL, s, max);

	if (!n && !always)
		return;
	pb_tag(w, field, PB_LEN);
	pb_varint(w, n);
	if (w->err || otlp_buf__reserve(w->b, n)) {
		w->err = -ENOMEM;
		return;
	}
	otlp_group__utf8_clean((char *)w->b->data + w->b->len, s, max);
	w->b->len += n;
}

/* Open a length-delimited (message) field; returns where its content starts. */
size_t pb_open(struct pb *w, unsigned field)
{
	static const uint8_t zeros[PB_LEN_RESERVE];

	pb_tag(w, field, PB_LEN);
	pb_raw(w, zeros, PB_LEN_RESERVE);
	return w->err ? 0 : w->b->len;
}

/* Close it: write the real size prefix and slide the content down over the unused reserve. */
void pb_close(struct pb *w, size_t start)
{
	uint8_t tmp[10];
	size_t len, k;
	uint8_t *base;

	if (w->err)
		return;
	len = w->b->len - start;
	k = pb_varint_encode(tmp, len);
	base = w->b->data + start - PB_LEN_RESERVE;
	memcpy(base, tmp, k);
	memmove(base + k, w->b->data + start, len);
	w->b->len = start - PB_LEN_RESERVE + k + len;
}

/* KeyValue { key = 1; AnyValue value = 2 }  AnyValue { string_value = 1; int_value = 3 } */
void pb_kv_str(struct pb *w, unsigned field, const char *key, const char *val, size_t max)
{
	size_t kv = pb_open(w, field), av;

	pb_string(w, 1, key, SIZE_MAX, true);
	av = pb_open(w, 2);
	pb_string(w, 1, val, max, true);
	pb_close(w, av);
	pb_close(w, kv);
}

void pb_kv_int(struct pb *w, unsigned field, const char *key, int64_t val)
{
	size_t kv = pb_open(w, field), av;

	pb_string(w, 1, key, SIZE_MAX, true);
	av = pb_open(w, 2);
	pb_tag(w, 3, PB_VARINT); /* inside the oneof: written even when 0 */
	pb_varint(w, (uint64_t)val);
	pb_close(w, av);
	pb_close(w, kv);
}

/* double field (fixed64 wire type), written even when 0: every double obsprobe sends is a value that is present */
void pb_double(struct pb *w, unsigned field, double v)
{
	uint64_t bits;
	uint8_t le[8];

	memcpy(&bits, &v, sizeof(bits));
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(bits >> (8 * i));
	pb_tag(w, field, PB_FIXED64);
	pb_raw(w, le, 8);
}

/* sfixed64 field, written even when 0 (inside a oneof) */
void pb_sfixed64(struct pb *w, unsigned field, int64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)v >> (8 * i));
	pb_tag(w, field, PB_FIXED64);
	pb_raw(w, le, 8);
}

/* packed repeated fixed64 (@d = NULL) or double (@u = NULL) of @n entries */
void pb_packed64(struct pb *w, unsigned field, const uint64_t *u, const double *d, size_t n)
{
	if (!n)
		return;
	pb_tag(w, field, PB_LEN);
	pb_varint(w, n * 8);
	for (size_t k = 0; k < n; k++) {
		uint64_t bits;
		uint8_t le[8];

		if (u)
			bits = u[k];
		else
			memcpy(&bits, &d[k], sizeof(bits));
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(bits >> (8 * i));
		pb_raw(w, le, 8);
	}
}
