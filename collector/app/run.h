/* run.h -- what `obsprobe run` prepares before it forks CMD: its executable, and the shim's environment */
#ifndef OBSPROBE_RUN_H
#define OBSPROBE_RUN_H

#include <stddef.h>

#include "app/app.h"

/* CMD as execvp would find it, into @out; 0, or -1 */
int run__which(const char *cmd, char *out, size_t len);
/* run --preload: LD_PRELOAD and the OBSPROBE_* settings CMD (@exe) inherits; 0, or 1 after printing why */
int run__shim_env(const char *exe, const char *service, const struct app_opts *opts);

/* run --pushgateway URL: the metrics PUT to a Pushgateway when CMD ends (and every @interval_s seconds while it
 * runs, when > 0), grouped by @job (NULL: @cmd's name) and this host's name.  A failed push is counted
 * (obsprobe_pushgateway_pushes_total{outcome="failed"}) and said at exit; it never fails the run. */
struct run_push;
/* NULL after printing why (nothing can be pushed: the URL with its grouping key is too long, out of memory) */
struct run_push *run__push_new(const char *gateway, const char *job, const char *cmd, double interval_s);
/* the session to push, its interval pushes started (call after app__start); give it run__push_at_finish as
 * app_opts.at_finish, so that the last push carries the final values */
void run__push_start(struct run_push *rp, struct app *a);
/* the interval pushes stopped (before app__finish: its last poll and flush then run alone) */
void run__push_stop(struct run_push *rp);
/* app_opts.at_finish: the interval pushes stopped, the last push, one line on stderr */
void run__push_at_finish(void *rp);
void run__push_free(struct run_push *rp);

#endif
