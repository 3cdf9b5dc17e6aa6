/* summary.h -- the exit summary: per function and top syscalls, count, p50/p99, ASCII histogram */
#ifndef OBSPROBE_SUMMARY_H
#define OBSPROBE_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "signal/metrics.h"

struct summary_totals {
	uint64_t events;
	uint64_t lost;
	const char *shed; /* what the overhead budget shed ("" or NULL: nothing) */
};

void summary__print(FILE *out, struct metrics *m, int top_syscalls, const struct summary_totals *t);
/* without the summary (-q, serve): the events lost and what the overhead budget shed, when there were any */
void summary__warn(const struct summary_totals *t);

#endif
