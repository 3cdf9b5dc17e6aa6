/* logs.c -- trace-tagged log records: redacted, then written as JSON lines and exported over OTLP */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "signal/logline.h"
#include "export/linefile.h"
#include "signal/logs.h"
#include "lib/hex.h"
#include "base/privs.h"
#include "lib/clock.h"

/* what a write came with (its trace context and process): each line keeps the tag of its first write */
struct tag {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	struct span_resource res;
};

struct logs {
	struct logs_opts opts;
	struct logline_asm *lines;
	FILE *file;
	bool own_file;
	struct linefile lf; /* file's lines, written once per poll */
	struct exporter_stats last_exp;
};

static void on_line(const struct logline *ln, void *ctx);

struct logs *logs__new(const struct logs_opts *opts, char *err, size_t errlen)
{
	struct logs *l = calloc(1, sizeof(*l));

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->opts = *opts;
	if (opts->log_file && !strcmp(opts->log_file, "-")) {
		l->file = stdout;
	} else if (opts->log_file) {
		l->file = privs__open_output(opts->log_file, "--log-file", err, errlen);
		if (!l->file) {
			free(l);
			return NULL;
		}
		l->own_file = true;
	}
	if (l->file) {
		fflush(l->file); /* stdout: whatever stdio holds goes before the lines */
		linefile__init(&l->lf, fileno(l->file));
	}
	if (logs__enabled(l)) {
		struct logline_opts lo = { .tag_size = sizeof(struct tag) };

		l->lines = logline_asm__new(&lo, on_line, l);
		if (!l->lines) {
			snprintf(err, errlen, "out of memory");
			logs__free(l);
			return NULL;
		}
	}
	return l;
}

void logs__free(struct logs *l)
{
	if (!l)
		return;
	logline_asm__free(l->lines);
	if (l->file)
		linefile__free(&l->lf);
	if (l->own_file)
		fclose(l->file);
	free(l);
}

uint64_t logs__file_failed(const struct logs *l)
{
	return l && l->file ? l->lf.failed : 0;
}

bool logs__enabled(const struct logs *l)
{
	return l && (l->file || l->opts.exporter);
}

static void count(struct logs *l, const char *outcome, uint64_t n)
{
	series__add(metrics__series(l->opts.metrics, FAM_LOG_RECORDS, (const char *[]){ outcome }), n);
}

int logs__format_line(const struct log_record *r, char *out, size_t outlen)
{
	char ts[64], tid[33] = "", sid[17] = "";
	time_t sec = r->time_ns / 1000000000ull;
	struct tm tm;
	cJSON *o = cJSON_CreateObject();
	char *s;
	int n = -1;

	if (!o)
		return -1;
	gmtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%09lluZ",
		 (unsigned long long)(r->time_ns % 1000000000ull));
	if (!span__id_is_zero(r->trace_id, 16)) {
		hex__encode(tid, r->trace_id, 16);
		hex__encode(sid, r->span_id, 8);
	}
	cJSON_AddStringToObject(o, "timestamp", ts);
	cJSON_AddStringToObject(o, "service", r->service);
	cJSON_AddNumberToObject(o, "pid", r->pid);
	cJSON_AddNumberToObject(o, "tid", r->tid);
	cJSON_AddStringToObject(o, "stream", r->stream);
	cJSON_AddStringToObject(o, "severity", r->severity_text);
	cJSON_AddStringToObject(o, "trace_id", tid);
	cJSON_AddStringToObject(o, "span_id", sid);
	cJSON_AddStringToObject(o, "body", r->body);
	s = cJSON_PrintUnformatted(o);
	if (s && strlen(s) + 1 < outlen) {
		n = strlen(s);
		memcpy(out, s, n + 1);
	}
	free(s);
	cJSON_Delete(o);
	return n;
}

void logs__record(struct logs *l, struct log_record *r)
{
	char clean[sizeof(r->body)];
	bool cut;

	if (!logs__enabled(l))
		return;
	/* fail closed: a body that cannot be scanned (out of memory) never leaves */
	if (redact__text_cut(l->opts.redactor, r->body, strnlen(r->body, sizeof(r->body)), clean, sizeof(clean), &cut) <
	    0) {
		count(l, "redaction_failed", 1);
		return;
	}
	if (cut) /* redaction made it longer than a record holds: cut after it, marked " [truncated]" */
		count(l, "redaction_truncated", 1);
	strcpy(r->body, clean);
	if (!r->severity_number)
		r->severity_number = logline__severity(r->body, strlen(r->body), r->severity_text);
	if (l->file) {
		char line[LOG_BODY_LEN * 8];
		int n = logs__format_line(r, line, sizeof(line) - 1);

		if (n >= 0) {
			line[n++] = '\n';
			linefile__put(&l->lf, line, n); /* counted written or write_failed in logs__poll */
		} else {
			count(l, "format_failed", 1);
		}
	}
	if (l->opts.exporter)
		exporter__push_log(l->opts.exporter, r);
}

/* a cumulative count of logline.c's: the series mirrors it (obsprobe_log_lines_total{outcome}) */
static void fold_lines(struct logs *l, const char *outcome, uint64_t n)
{
	if (n)
		series__set_total(metrics__series(l->opts.metrics, FAM_LOG_LINES, (const char *[]){ outcome }), n);
}

void logs__poll(struct logs *l)
{
	struct exporter_stats now;

	if (l && l->file) {
		uint64_t w, f;

		linefile__take(&l->lf, &w, &f);
		if (w)
			count(l, "written", w);
		if (f)
			count(l, "write_failed", f);
	}
	if (l && l->lines) {
		struct logline_stats st;

		logline_asm__stats(l->lines, &st);
		fold_lines(l, "complete", st.complete);
		fold_lines(l, "partial", st.partial);
		fold_lines(l, "evicted", st.evicted);
	}
	if (!l || !l->opts.exporter)
		return;
	exporter__stats(l->opts.exporter, &now);
	if (now.logs_exported > l->last_exp.logs_exported)
		count(l, "exported", now.logs_exported - l->last_exp.logs_exported);
	if (now.logs_queue_full > l->last_exp.logs_queue_full)
		count(l, "queue_full", now.logs_queue_full - l->last_exp.logs_queue_full);
	if (now.logs_export_failed > l->last_exp.logs_export_failed)
		count(l, "export_failed", now.logs_export_failed - l->last_exp.logs_export_failed);
	l->last_exp = now;
}

static uint64_t unix_offset(void)
{
	return clock_ns(CLOCK_REALTIME) - mono_ns();
}

/* A line cut short may end inside a secret that the redaction rules only recognise whole (a card number,
 * an e-mail address, URL credentials): its last token goes, back to a space or a delimiter (at most 256
 * bytes of it: longer than those secrets), and the digit groups before it.  Returns the length kept. */
static size_t drop_partial_tail(const char *s, size_t n)
{
	size_t e = n, stop = n > 256 ? n - 256 : 0;

	while (e > stop && !strchr(" \t\"',;{}[]()<>", s[e - 1]))
		e--;
	while (e > 0 && ((s[e - 1] >= '0' && s[e - 1] <= '9') ||
			 ((s[e - 1] == ' ' || s[e - 1] == '-') && e >= 2 && s[e - 2] >= '0' && s[e - 2] <= '9')))
		e--;
	return e;
}

static void on_line(const struct logline *ln, void *ctx)
{
	struct logs *l = ctx;
	const struct tag *t = ln->tag;
	struct log_record *r;
	size_t n;

	if (!t || (!ln->len && !ln->truncated))
		return;
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	n = ln->len < sizeof(r->body) - 1 ? ln->len : sizeof(r->body) - 1;
	if (ln->truncated || n < ln->len) {
		/* cut at LOGLINE_MAX or captured in part: no partial secret at the end, and say so */
		static const char mark[] = " [truncated]";

		if (n > sizeof(r->body) - sizeof(mark))
			n = sizeof(r->body) - sizeof(mark);
		n = drop_partial_tail(ln->text, n);
		memcpy(r->body + n, mark, sizeof(mark));
	}
	r->time_ns = ln->time_ns + unix_offset();
	r->observed_ns = mono_ns() + unix_offset();
	memcpy(r->body, ln->text, n);
	r->pid = ln->pid;
	r->tid = ln->tid;
	strcpy(r->stream, ln->stream == 1 ? "stdout" : "stderr");
	span__copy_str(r->service, sizeof(r->service), t->res.service_name);
	span__copy_str(r->exe, sizeof(r->exe), t->res.executable_name);
	r->ctr = t->res.ctr;
	memcpy(r->trace_id, t->trace_id, 16);
	memcpy(r->span_id, t->span_id, 8);
	logs__record(l, r);
	free(r);
}

void logs__write(struct logs *l, int pid, int tid, int stream, uint64_t mono_ns, const void *buf, size_t len,
		 bool captured_all, const uint8_t *trace_id, const uint8_t *span_id, const struct span_resource *res)
{
	struct tag t = { 0 };

	if (!l || !l->lines)
		return;
	if (trace_id && span_id) {
		memcpy(t.trace_id, trace_id, 16);
		memcpy(t.span_id, span_id, 8);
	}
	t.res = *res;
	logline_asm__feed(l->lines, pid, tid, stream, mono_ns, buf, len, captured_all, &t); /* copied */
}

void logs__tick(struct logs *l, bool all)
{
	if (!l || !l->lines)
		return;
	if (all)
		logline_asm__flush_all(l->lines);
	else
		logline_asm__tick(l->lines, mono_ns());
}
