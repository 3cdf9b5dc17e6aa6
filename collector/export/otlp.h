/* otlp.h -- OTLP encoders (protobuf; JSON in otlp_json.h) for spans and log records: pure functions into a buffer */
#ifndef OBSPROBE_OTLP_H
#define OBSPROBE_OTLP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "export/span.h"

#define OTLP_SCOPE_NAME "obsprobe"
#ifndef OBSPROBE_VERSION
#define OBSPROBE_VERSION "unknown"
#endif

/* A growable byte buffer.  Zero-initialise it; every encoder appends to it.
 * After an allocation failure the buffer keeps its old contents and the encoder returns -ENOMEM. */
struct otlp_buf {
	uint8_t *data;
	size_t len, cap;
};

void otlp_buf__reset(struct otlp_buf *b); /* len = 0, keep the memory */
void otlp_buf__free(struct otlp_buf *b);
/* room for @extra more bytes (and a NUL after them): 0, or -ENOMEM */
int otlp_buf__reserve(struct otlp_buf *b, size_t extra);
int otlp_buf__append_grow(struct otlp_buf *b, const void *p, size_t n); /* otlp_buf__append's slow path */

/* append @n bytes (0, or -ENOMEM): inline, as the protobuf writer appends a few bytes at a time */
static inline int otlp_buf__append(struct otlp_buf *b, const void *p, size_t n)
{
	if (n < b->cap - b->len) { /* room for them and the NUL otlp_buf__reserve keeps */
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	return otlp_buf__append_grow(b, p, n);
}

/* Who exports: the same on every resource of every request (docs/SPEC.md, "Resource attributes"). */
struct otlp_host {
	const char *name;	 /* host.name (NULL or "" = omitted) */
	const char *instance_id; /* service.instance.id (NULL or "" = omitted) */
};

/* Spans are grouped by their resource (service, pid, executable) into one ResourceSpans each,
 * in order of first appearance.  @host names the exporter: host.name and service.instance.id
 * on every resource (NULL, or a NULL/"" member = that attribute omitted).
 * Zero/empty fields are omitted as a proto3 encoder does (root spans carry no parent_span_id).
 * Strings that are not valid UTF-8 have the bad bytes replaced by U+FFFD (receivers reject them).
 * All return 0, or -ENOMEM. */

/* opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest (application/x-protobuf) */
int otlp__traces_pb(struct otlp_buf *out, const struct span *spans, size_t n, const struct otlp_host *host);
/* opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest (application/x-protobuf) */
int otlp__logs_pb(struct otlp_buf *out, const struct log_record *logs, size_t n, const struct otlp_host *host);

/* The same requests in the OTLP/JSON mapping: see export/otlp_json.h. */

#endif
