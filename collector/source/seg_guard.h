/* seg_guard.h -- the SIGBUS guard: reads of a shim segment truncated under the collector fail instead of crashing */
#ifndef OBSPROBE_SEG_GUARD_H
#define OBSPROBE_SEG_GUARD_H

#include <stdbool.h>

#include "abi/segment.h"

/* install the SIGBUS handler (once per process; safe to call again) */
void seg_guard__init(void);

/* run @fn(@arg), which reads @map (and writes only private memory, or ring_tail); false when the file shrank */
bool seg_guard__run(const struct obs_segment *map, void (*fn)(void *), void *arg);

#endif
