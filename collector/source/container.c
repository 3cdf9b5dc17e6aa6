/* container.c -- the container a process runs in, read from its /proc/PID/cgroup into the span resource's form */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "source/cgroup.h"
#include "source/container.h"

_Static_assert(SPAN_CONTAINER_ID_LEN == CGROUP_ID_LEN && SPAN_POD_UID_LEN == CGROUP_POD_UID_LEN &&
		       SPAN_CGROUP_LEN == CGROUP_LINE_LEN,
	       "span_container holds a cgroup_ident's strings");

void container__read(pid_t pid, struct span_container *c)
{
	char path[32], buf[8192];
	struct cgroup_ident id;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf)); /* a proc file: one read gives it whole up to a page */
		close(fd);
	}
	if (n <= 0)
		return;
	if (cgroup__parse_proc(buf, (size_t)n, &id)) {
		memset(c, 0, sizeof(*c));
		return;
	}
	memcpy(c->id, id.container_id, sizeof(c->id));
	memcpy(c->pod_uid, id.pod_uid, sizeof(c->pod_uid));
	memcpy(c->cgroup, id.line, sizeof(c->cgroup));
}
