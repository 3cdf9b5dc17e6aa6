/* procstat.h -- /proc/PID/stat: the one parser of its fields, and a read the shim can call too */
#ifndef OBSPROBE_PROCSTAT_H
#define OBSPROBE_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* field numbers (proc(5)): a parse returns the last one it read, so a caller checks for the one it needs */
enum {
	PROCSTAT_STATE = 3,
	PROCSTAT_PPID = 4,
	PROCSTAT_FLAGS = 9,
	PROCSTAT_UTIME = 14,
	PROCSTAT_STIME = 15,
	PROCSTAT_STARTTIME = 22,
	PROCSTAT_RSS = 24, /* the last one read */
};

#define PROCSTAT_PF_KTHREAD 0x00200000 /* in flags: a kernel thread (it has no mm) */

struct procstat {
	char state; /* R, S, D, Z, T ... */
	int ppid;
	unsigned long flags;	    /* PF_* */
	unsigned long utime, stime; /* clock ticks */
	uint64_t starttime;	    /* clock ticks after boot */
	long rss;		    /* pages */
};

/* The fields of the @len bytes of a /proc/PID/stat at @buf (no NUL needed): after comm, which may hold spaces
 * and parentheses (the last ')' ends it), blank-separated. Returns the number of the last field read (3 up to
 * PROCSTAT_RSS; a field that is not a number stops it), or -1 when there is no comm or no state. Fields not
 * reached are 0. Pure. */
int procstat__parse(const char *buf, size_t len, struct procstat *st);

/* Read /proc/@pid/stat (@pid 0: /proc/self/stat) and parse it, as procstat__parse; -1 when it cannot be read.
 * Raw syscalls, no stdio, no malloc: async-signal-safe, so the shim uses it as it is. */
int procstat__read(pid_t pid, struct procstat *st);

#endif
