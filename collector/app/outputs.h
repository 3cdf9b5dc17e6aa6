/* outputs.h -- where a session's spans and log records go: redaction, OTLP export, --spans-file, --log-file */
#ifndef OBSPROBE_OUTPUTS_H
#define OBSPROBE_OUTPUTS_H

#include "app/app.h"
#include "export/exporter.h"
#include "signal/logs.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

/* shared by both capture paths; NULL members are off */
struct outputs {
	struct redactor *red; /* everything that leaves goes through it */
	struct exporter *exp; /* --otlp-endpoint */
	struct traces *tr;    /* HTTP exchanges -> metrics, spans */
	struct logs *logs;    /* log records -> --log-file, OTLP */
};

/* @source: the "source" of obsprobe_spans_total's spans ("ebpf", "preload"); 0, or 1/2 after printing why */
int outputs__start(struct outputs *o, const struct app_opts *opts, struct metrics *m, const char *source);
/* finished spans and log records out; the redactor's counts into @m */
void outputs__poll(struct outputs *o, struct metrics *m);
/* spans and log records that did not make it out, said once at exit */
void outputs__report_drops(struct outputs *o);
void outputs__free(struct outputs *o);

#endif
