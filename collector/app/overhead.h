/* overhead.h -- what tracing costs, measured while it runs: the BPF programs' CPU from the kernel's run-time
 * statistics (obsprobe_probe_cpu_seconds_total), and the --max-overhead budget that sheds work when the probes
 * use more than PCT of the traced processes' CPU (docs/SPEC.md "Overhead budget") */
#ifndef OBSPROBE_OVERHEAD_H
#define OBSPROBE_OVERHEAD_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/targets.h"
#include "signal/metrics.h"
#include "source/source.h"

struct overhead;

/* A budget of @max_pct (0: none).  With a budget or @stats (--probe-stats), turn the kernel's statistics on
 * (before the privilege drop: it needs CAP_SYS_ADMIN); without either they stay off (they cost every BPF
 * program on the host two clock reads per run), which the start says: the traced processes' CPU and the uprobe
 * call rate are still measured.  NULL after saying why: out of memory, or a budget without the statistics it
 * judges on. */
struct overhead *overhead__new(struct metrics *m, double max_pct, bool stats);
/* after the start line: one notice when the kernel's BPF statistics are off (no --probe-stats/--max-overhead) */
void overhead__say(const struct overhead *o);
void overhead__free(struct overhead *o);

/* each source's calibrated cost per hit (calibration.h), for the uprobe trap estimate; and what the start line
 * says of the --func cost */
void overhead__calibrated(struct overhead *o, const struct source_set *set, const double per_hit[SOURCE_MAX]);

/* on every poll: reads the statistics at most once a second, judges the budget every window, sheds */
void overhead__tick(struct overhead *o, struct source_set *set, const struct targets *ts);

/* /api/v1/targets: each eBPF row gets its process's measured CPU, and the session's probe cost */
void overhead__annotate(struct overhead *o, cJSON *rows);

/* the exit line: what was shed ("" when nothing), into @buf */
const char *overhead__shed_list(struct overhead *o, char *buf, size_t len);

#endif
