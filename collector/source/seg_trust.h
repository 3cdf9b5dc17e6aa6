/* seg_trust.h -- who wrote a shim segment: its file's owner, and whether the process it names maps it */
#ifndef OBSPROBE_SEG_TRUST_H
#define OBSPROBE_SEG_TRUST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

enum seg_claim {
	SEG_CLAIM_VERIFIED, /* the process lives (or is a zombie), has the file's owner uid, and maps the file */
	SEG_CLAIM_FALSE,    /* the process lives but is another uid or does not map the file (forged, or exec'd) */
	SEG_CLAIM_GONE,	    /* no such process any more (or the pid was reused) */
};

/* check a segment's claim to be @pid started at @start_time against the file @st (fstat of the open file).
 * Reading another uid's /proc/PID/maps needs CAP_SYS_PTRACE: without it the claim is SEG_CLAIM_FALSE. */
enum seg_claim seg_trust__check(pid_t pid, uint64_t start_time, const struct stat *st);
/* is @pid, started at @start_time, still running (a zombie counts as gone)? */
bool seg_trust__alive(pid_t pid, uint64_t start_time);
/* does @pid run with the shim: libobsshim.so mapped (read from /proc/PID/maps, not from any segment) */
bool seg_trust__runs_shim(pid_t pid);

/* pure, for tests: a /proc/PID/maps line maps device @maj:@min inode @ino */
bool seg_trust__maps_line_is(const char *line, unsigned maj, unsigned min, uint64_t ino);

#endif
