/* container.h -- the container a process runs in, read from its /proc/PID/cgroup into the span resource's form */
#ifndef OBSPROBE_CONTAINER_H
#define OBSPROBE_CONTAINER_H

#include <sys/types.h>

#include "export/span.h"

/* Fill @c from /proc/@pid/cgroup (cgroup.c parses it); all "" when it names no cgroup; unchanged when the
 * file cannot be read (the process is gone). */
void container__read(pid_t pid, struct span_container *c);

#endif
