/* buckets.h -- histogram boundaries as text: the default list and its one parser (collector and shim) */
#ifndef OBSPROBE_BUCKETS_H
#define OBSPROBE_BUCKETS_H

#include <stddef.h>
#include <stdint.h>

#include "abi/hist.h" /* OBS_MAX_BOUNDS */

/* docs/SPEC.md "Metrics": the default boundaries, in seconds */
#define OBS_DEFAULT_BUCKETS                                                           \
	"0.000001,0.0000025,0.000005,0.00001,0.000025,0.00005,0.0001,0.00025,0.0005," \
	"0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10"

enum buckets_err {
	BUCKETS_EMPTY = 1,     /* no boundary at all */
	BUCKETS_INF,	       /* "+Inf" or "inf" listed: it is implied */
	BUCKETS_NOT_NUMBER,    /* @at, @len: the token that is not a number */
	BUCKETS_NOT_POSITIVE,  /* @value: zero, negative, not finite, or past 1e9 seconds */
	BUCKETS_NOT_WHOLE_NS,  /* @value: not a whole number of nanoseconds */
	BUCKETS_TOO_MANY,      /* more than OBS_MAX_BOUNDS */
	BUCKETS_NOT_ASCENDING, /* @value after @prev_ns */
};

struct buckets_error {
	enum buckets_err code;
	const char *at; /* the offending token in the list */
	size_t len;
	double value;	  /* the offending boundary, in seconds */
	uint64_t prev_ns; /* the boundary before it */
};

/* "0.001,0.01,0.1" (commas or blanks between) into @ns: positive, whole nanoseconds, strictly ascending, at most
 * OBS_MAX_BOUNDS. Returns how many (at least 1), or -1 with what is wrong in @e (when not NULL); @ns is then
 * partly written. Pure: no allocation, no stdio (the shim parses OBSPROBE_BUCKETS with it). */
int buckets__parse(const char *list, uint64_t ns[OBS_MAX_BOUNDS], struct buckets_error *e);

#endif
