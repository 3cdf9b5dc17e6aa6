/* segfile.h -- the shim's segment file: created when first needed, stale ones of exited processes swept */
#ifndef OBSPROBE_SEGFILE_H
#define OBSPROBE_SEGFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/segment.h"

#define SEGFILE_TTL_DEFAULT 3600  /* OBSPROBE_SEGMENT_TTL: seconds an unread segment outlives its process */
#define SEGFILE_MAX_MB_DEFAULT 64 /* OBSPROBE_SEGMENT_MAX_MB: MiB of such segments kept per uid */
#define SEGFILE_SWEEP_ENTRIES 256 /* directory entries one sweep looks at */
#define SEGFILE_SWEEP_UNLINKS 16  /* files one sweep removes at most */

/* read once in the constructor: creation may run later, in any thread or a signal handler */
struct segfile_opts {
	char dir[448];
	char service[64];
	uint64_t ttl_ns;
	uint64_t max_bytes;
	const uint64_t *bounds_ns;
	uint32_t nbounds;
};

void segfile__opts_from_env(struct segfile_opts *o);
/* create, map and fill this process's segment, then sweep stale ones; NULL with one obsshim: line unless @quiet.
 * Async-signal-safe: raw syscalls, no malloc, no stdio, no locks. */
struct obs_segment *segfile__create(const struct segfile_opts *o, bool quiet);

#endif
