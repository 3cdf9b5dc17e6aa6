/* funclat.h -- types shared by funclat.bpf.c and user/funclat.c */
#ifndef OBSPROBE_FUNCLAT_H
#define OBSPROBE_FUNCLAT_H

#include "bounds.h"

#define FL_MAX_FUNCS 1024	/* distinct traced functions (ids); id 0 is the calibration probe */
#define FL_MAX_DEPTH 32		/* nested traced calls per thread */

enum fl_stat {
	FL_STAT_TOO_DEEP,	/* entry beyond FL_MAX_DEPTH: not timed */
	FL_STAT_UNMATCHED,	/* return without a matching entry (longjmp, attach mid-call) */
	FL_STAT_NO_STORAGE,
	FL_STAT__COUNT,
};

#endif
