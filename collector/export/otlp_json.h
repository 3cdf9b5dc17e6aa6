/* otlp_json.h -- OTLP/JSON encoders for spans and log records: pure functions into an otlp_buf */
#ifndef OBSPROBE_OTLP_JSON_H
#define OBSPROBE_OTLP_JSON_H

#include <stddef.h>

#include "export/otlp.h"
#include "export/span.h"

/* Grouping, omitted fields and UTF-8 as for the protobuf encoders (export/otlp.h); all return 0, or -ENOMEM. */

/* The same requests in the OTLP/JSON mapping: camelCase keys, ids as lowercase hex, enums as numbers,
 * 64-bit integers (times, intValue) as decimal strings.  No trailing NUL is counted in len (one is
 * written after it, so out->data can be used as a C string). */
int otlp__traces_json(struct otlp_buf *out, const struct span *spans, size_t n, const struct otlp_host *host);
int otlp__logs_json(struct otlp_buf *out, const struct log_record *logs, size_t n, const struct otlp_host *host);

/* One --spans-file line: {"resourceSpans":[...one span...]} on a single line, ending in '\n'. */
int otlp__span_line(struct otlp_buf *out, const struct span *span, const struct otlp_host *host);

#endif
