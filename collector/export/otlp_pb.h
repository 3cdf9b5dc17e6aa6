/* otlp_pb.h -- the protobuf writer the OTLP encoders share: varint, fixed, length-delimited fields into an otlp_buf */
#ifndef OBSPROBE_OTLP_PB_H
#define OBSPROBE_OTLP_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/otlp.h"

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };
#define PB_LEN_RESERVE 5 /* a length-delimited field's size prefix, patched when the field closes */

/* Appends to @b; the first allocation failure sets @err (-ENOMEM) and every later write does nothing. */
struct pb {
	struct otlp_buf *b;
	int err;
};

size_t pb_varint_encode(uint8_t *out, uint64_t v); /* up to 10 bytes; returns how many */
void pb_raw(struct pb *w, const void *p, size_t n);
void pb_varint(struct pb *w, uint64_t v);
void pb_tag(struct pb *w, unsigned field, unsigned wire);
/* varint / fixed64 / fixed32 fields, omitted when 0 (proto3 default) */
void pb_uint(struct pb *w, unsigned field, uint64_t v);
void pb_fixed64(struct pb *w, unsigned field, uint64_t v);
void pb_fixed32(struct pb *w, unsigned field, uint32_t v);
/* double and sfixed64 fields, always written */
void pb_double(struct pb *w, unsigned field, double v);
void pb_sfixed64(struct pb *w, unsigned field, int64_t v);
/* packed repeated fixed64 (@d NULL) or double (@u NULL) */
void pb_packed64(struct pb *w, unsigned field, const uint64_t *u, const double *d, size_t n);
void pb_bytes(struct pb *w, unsigned field, const void *p, size_t n);
/* string from a (possibly unterminated) char array of @max bytes, invalid UTF-8 replaced; @always writes "" too
 * (needed inside a oneof, where presence matters) */
void pb_string(struct pb *w, unsigned field, const char *s, size_t max, bool always);
/* open a length-delimited (message) field, returning where its content starts; close it */
size_t pb_open(struct pb *w, unsigned field);
void pb_close(struct pb *w, size_t start);
/* KeyValue { key = 1; AnyValue value = 2 }  AnyValue { string_value = 1; int_value = 3 } as field @field */
void pb_kv_str(struct pb *w, unsigned field, const char *key, const char *val, size_t max);
void pb_kv_int(struct pb *w, unsigned field, const char *key, int64_t val);

#endif
