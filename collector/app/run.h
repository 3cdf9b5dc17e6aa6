/* run.h -- what `obsprobe run` prepares before it forks CMD: its executable, and the shim's environment */
#ifndef OBSPROBE_RUN_H
#define OBSPROBE_RUN_H

#include <stddef.h>

#include "app/app.h"

/* CMD as execvp would find it, into @out; 0, or -1 */
int run__which(const char *cmd, char *out, size_t len);
/* run --preload: LD_PRELOAD and the OBSPROBE_* settings CMD (@exe) inherits; 0, or 1 after printing why */
int run__shim_env(const char *exe, const char *service, const struct app_opts *opts);

#endif
