/* funclat.h -- types shared by funclat.bpf.c and collector/source/funclat.c */
#ifndef OBSPROBE_FUNCLAT_H
#define OBSPROBE_FUNCLAT_H

#include "abi/hist.h"

#define FL_MAX_FUNCS 1024 /* distinct traced functions (ids); id 0 is the calibration probe */
#define FL_MAX_DEPTH 32	  /* nested traced calls per thread */
/* cookie bit of a uprobe attached to a whole binary (pid -1): only calls in traced processes count */
#define FL_COOKIE_BINARY 0x80000000u

/* one finished call, for INTERNAL spans (only with cfg_call_events) */
#define OBS_EV_CALL 7
struct fl_call_event {
	__u32 type;
	__u32 id;
	__u32 pid;
	__u32 tid;
	__u64 start_ns;
	__u64 end_ns;
};

enum fl_stat {
	FL_STAT_TOO_DEEP,  /* entry beyond FL_MAX_DEPTH: not timed */
	FL_STAT_UNMATCHED, /* return without a matching entry (longjmp, attach mid-call) */
	FL_STAT_NO_STORAGE,
	FL_STAT_RINGBUF_FULL, /* call events (spans) only: latency was still recorded */
	FL_STAT__COUNT,
};

#endif
