/* linkreap.h -- bpf_links destroyed off the session's thread, when nothing is being attached.
 *
 * Closing a uprobe's perf event waits for an RCU grace period in the kernel (~80 ms each on Linux 6.18) while
 * holding the tracing event mutex, so attaching any uprobe meanwhile waits too.  Destroyed inline at each
 * exit, the links of a process with 18 TLS uprobes held the session 1.4 s and made the next forked process
 * miss its first TLS bytes (a postgres backend's StartupMessage).  Links put here are destroyed one at a time
 * by a background thread once no attach happened for REAP_QUIET_NS (3 s) (at most REAP_MAX wait: past that it
 * destroys regardless).  A probe of an exited process does nothing meanwhile. */
#ifndef OBSPROBE_LINKREAP_H
#define OBSPROBE_LINKREAP_H

struct bpf_link;
struct linkreap;

struct linkreap *linkreap__new(void);
/* @l is destroyed later (NULL: nothing); inline when the reaper cannot take it */
void linkreap__put(struct linkreap *r, struct bpf_link *l);
/* an attach is starting: destroys wait until things are quiet again */
void linkreap__busy(struct linkreap *r);
/* destroys what is left and stops the reaper */
void linkreap__free(struct linkreap *r);

#endif
