/* calibrate.h -- measure what one probe hit costs on this machine, at start */
#ifndef OBSPROBE_CALIBRATE_H
#define OBSPROBE_CALIBRATE_H

#include <stdint.h>

#include "source/funclat.h"
#include "source/syscalls.h"

struct calibration;

/* obsprobe's own binary and the file offset of the function the uprobe calibration times;
 * 0, or -1 when it cannot be found */
int calibration_target(char *exe, size_t len, uint64_t *offset);

/* fork a helper process and time its syscalls and calls untraced; NULL on failure */
struct calibration *calibration__start(void);
/* time them again with the probes on; fills seconds per hit (negative when unmeasured),
 * then ends the helper. @fl may be NULL. */
void calibration__finish(struct calibration *c, struct systrace *sys, struct funclat *fl,
			 double *syscall_s, double *uprobe_s);

#endif
