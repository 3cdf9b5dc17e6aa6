/* calibrate.h -- measure what one probe hit costs on this machine, at start */
#ifndef OBSPROBE_CALIBRATE_H
#define OBSPROBE_CALIBRATE_H

#include <stdint.h>

#include "source/source.h"

struct calibration;

/* obsprobe's own binary and the file offset of the function the uprobe calibration times;
 * 0, or -1 when it cannot be found */
int calibration_target(char *exe, size_t len, uint64_t *offset);

/* fork a helper process and time its syscalls and calls untraced; NULL on failure */
struct calibration *calibration__start(void);
/* time them again under each source's calibration probe (source_ops.probe): @per_hit[i] gets the seconds one hit
 * of set->s[i]'s probe costs (negative when unmeasured); then ends the helper.  @set may be NULL (only end it). */
void calibration__finish(struct calibration *c, struct source_set *set, double per_hit[SOURCE_MAX]);

#endif
