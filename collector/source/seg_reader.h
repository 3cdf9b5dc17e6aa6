/* seg_reader.h -- reads a mapped shim segment into private memory, trusting no byte of it (no I/O: fuzzed) */
#ifndef OBSPROBE_SEG_READER_H
#define OBSPROBE_SEG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signal/hist.h"
#include "abi/segment.h"

/* everything countable in a segment, summed over its stripes */
struct seg_counters {
	struct hist sys[SEG_NSLOTS];
	uint32_t err_key[OBS_SEG_ERRS];
	uint64_t err_count[OBS_SEG_ERRS];
	uint64_t lost[SEG_LOST__COUNT];
	struct hist io[SEG_NDIRS][SEG_NPROTOS];
	uint64_t bytes[SEG_NDIRS][SEG_NPROTOS];
	uint64_t opened[SEG_NCONNS], closed[SEG_NCONNS];
	uint64_t expired;
	uint64_t inject[SEG_INJ__COUNT];
	uint64_t work_ns; /* the shim's own work (sampled, scaled) */
};

/* @map points at @len bytes: 0 when they are a segment this collector reads (then the header is as written by
 * a shim of this version), else -1 with a one-line reason */
int seg_reader__check(const void *map, size_t len, char *err, size_t errlen);
/* copy the counters of a checked segment; @nslots buckets per histogram (bounds + 1) */
void seg_reader__counters(const struct obs_segment *s, int nslots, struct seg_counters *out);
/* copy up to @max committed ring records out (and free their slots): the number copied */
int seg_reader__drain(struct obs_segment *s, struct obs_seg_rec *out, int max);
/* a ring record as an exchange: strings terminated, kind and protocol checked; false when it is not one */
bool seg_reader__exchange(const struct obs_seg_rec *r, struct obs_exchange *x);
/* a ring record as a log write: false when it is not one; *@n = bytes of text in it */
bool seg_reader__log(const struct obs_seg_rec *r, struct obs_seg_log *lg, size_t *n);

#endif
