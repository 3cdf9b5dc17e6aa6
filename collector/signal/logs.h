/* logs.h -- trace-tagged log records: redacted, then written as JSON lines and exported over OTLP */
#ifndef OBSPROBE_LOGS_H
#define OBSPROBE_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/exporter.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "export/span.h"

struct logs_opts {
	struct metrics *metrics;
	struct exporter *exporter; /* NULL: no OTLP /v1/logs */
	struct redactor *redactor; /* required */
	const char *log_file;	   /* --log-file: a path, "-" = stdout, NULL = off */
};

struct logs;

struct logs *logs__new(const struct logs_opts *opts, char *err, size_t errlen);
void logs__free(struct logs *l);

/* true when records go anywhere (a file or OTLP): capture can be skipped otherwise */
bool logs__enabled(const struct logs *l);

/* Bytes a traced thread wrote to stdout (@stream 1) or stderr (2) at @mono_ns: reassembled into lines
 * per thread.  @trace_id/@span_id: the request it was serving (NULL outside one); @captured_all false
 * when only a prefix of the write was captured (the line is marked truncated). */
void logs__write(struct logs *l, int pid, int tid, int stream, uint64_t mono_ns, const void *buf, size_t len,
		 bool captured_all, const uint8_t *trace_id, const uint8_t *span_id, const struct span_resource *res);

/* Emit partial lines older than a second (@all: every partial line, at exit). */
void logs__tick(struct logs *l, bool all);

/* One line a traced thread wrote.  @r->body is redacted in place first: when the redacted body does not
 * fit, it is cut, ends with " [truncated]" and counts as outcome="redaction_truncated" (and is still
 * written); only a body that cannot be scanned at all (out of memory) is dropped, as
 * outcome="redaction_failed" (fail closed).  Severity is parsed here when the caller left it 0. */
void logs__record(struct logs *l, struct log_record *r);

/* Fold the exporter's outcomes into obsprobe_log_records_total, and the line assembly's counts into
 * obsprobe_log_lines_total. */
void logs__poll(struct logs *l);
/* --log-file lines a write error kept from the file, since the start (0 without a file) */
uint64_t logs__file_failed(const struct logs *l);

/* One JSON line (SPEC "Logs") for @r into @out; returns its length without the newline, or -1. */
int logs__format_line(const struct log_record *r, char *out, size_t outlen);

#endif
