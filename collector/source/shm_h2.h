/* shm_h2.h -- the shim's HTTP/2 records (OBS_REC_H2, abi/segment.h) into one h2_session per (segment, connection),
 * whose exchanges go to traces as the shim's HTTP/1 exchanges do.
 *
 * Sessions are bounded (SHM_H2_SESSIONS): past that the least recently used is closed (its open streams end
 * incomplete) and counted (obsprobe_events_lost_total{reason="h2_sessions_full"}); a record that is not one
 * (lengths, types, directions: shared memory is untrusted) is counted too (reason "h2_record_invalid"). */
#ifndef OBSPROBE_SHM_H2_H
#define OBSPROBE_SHM_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/segment.h"
#include "export/span.h"
#include "signal/metrics.h"
#include "signal/traces.h"

#define SHM_H2_SESSIONS 512

struct shm_h2;

struct shm_h2 *shm_h2__new(struct metrics *m, struct traces *t);
void shm_h2__free(struct shm_h2 *h);

/* Pure: @r as an HTTP/2 record, copied into @out; *@block = its block bytes (in @out) or NULL.  False when it
 * is not one a shim of this version writes. */
bool shm_h2__parse(const struct obs_seg_rec *r, struct obs_seg_h2 *out, const uint8_t **block);

/* a record of the segment known as @seg (a number that names it for its life), whose process is @res */
void shm_h2__record(struct shm_h2 *h, uint64_t seg, const struct obs_seg_rec *r, const struct span_resource *res);
/* the segment is gone: its sessions end */
void shm_h2__forget(struct shm_h2 *h, uint64_t seg, uint64_t now_ns);

struct shm_h2_stats {
	uint64_t records, invalid, evicted, sessions;
};
void shm_h2__stats(const struct shm_h2 *h, struct shm_h2_stats *out);

#endif
