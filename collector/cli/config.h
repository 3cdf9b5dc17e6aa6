/* config.h -- the --config JSON file: an object whose keys are the long option names */
#ifndef OBSPROBE_CONFIG_H
#define OBSPROBE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cli/env.h"

/* the file at @path applied to @env for env->cmd, noting the options it set in @set;
 * 0, 1 (cannot read it) or 2 (not a valid options file, said why) */
int config__load(struct env *env, const char *path, uint64_t *set);
/* the same for a file's text (@len bytes and a NUL); @path names it in messages; 0 or 2 */
int config__text(struct env *env, const char *path, const char *text, size_t len, uint64_t *set);

#endif
