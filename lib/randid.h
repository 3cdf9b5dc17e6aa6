/* randid.h -- random non-zero trace and span ids (xorshift128+ per thread, seeded by getrandom) */
#ifndef OBSPROBE_RANDID_H
#define OBSPROBE_RANDID_H

#include <stddef.h>
#include <stdint.h>

/* @len bytes (8 or 16), never all zero */
void randid__fill(uint8_t *id, size_t len);

#endif
