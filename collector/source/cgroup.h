/* cgroup.h -- a process's cgroup and the container it names: /proc/PID/cgroup and mountinfo text (pure) */
#ifndef OBSPROBE_CGROUP_H
#define OBSPROBE_CGROUP_H

#include <stddef.h>

#define CGROUP_ID_LEN 65      /* 64 lowercase hex digits + NUL */
#define CGROUP_POD_UID_LEN 37 /* 8-4-4-4-12 + NUL */
#define CGROUP_LINE_LEN 256   /* "0::/path" + NUL; a longer line is not kept */

/* The runtime whose naming the container id was found in (the cgroup path's form). */
enum cgroup_runtime {
	CGROUP_RT_NONE = 0,
	CGROUP_RT_BARE,	      /* a bare 64-hex component: docker or containerd (cgroupfs driver), kubepods */
	CGROUP_RT_DOCKER,     /* docker-<id>.scope */
	CGROUP_RT_CONTAINERD, /* cri-containerd-<id>.scope */
	CGROUP_RT_CRIO,	      /* crio-<id>.scope */
	CGROUP_RT_PODMAN,     /* libpod-<id>.scope */
};

/* What /proc/PID/cgroup says about a process; every string "" when unknown. */
struct cgroup_ident {
	char line[CGROUP_LINE_LEN];	  /* process.linux.cgroup: the "0::/path" line, or on a v1-only
					     * host the line the container id came from */
	char container_id[CGROUP_ID_LEN]; /* container.id */
	char pod_uid[CGROUP_POD_UID_LEN]; /* k8s.pod.uid, with dashes */
	int runtime;			  /* enum cgroup_runtime */
};

/* Container id and pod uid from one cgroup path ("/kubepods/besteffort/pod<uid>/<64hex>").  The
 * deepest component that names a container wins (docker in docker); "." and ".." (paths outside
 * the reader's cgroup namespace) are skipped.  Fills @out's container_id, pod_uid, runtime only. */
void cgroup__ident_from_path(const char *path, size_t len, struct cgroup_ident *out);

/* The text of /proc/PID/cgroup (v2 "0::/path", v1 "N:controllers:/path", both on a hybrid host).
 * The container id is looked for in the v2 line first, then in the v1 lines in order.  Returns 0
 * when a well-formed line was seen, -1 when the text holds none (garbage, empty, cut). */
int cgroup__parse_proc(const char *buf, size_t len, struct cgroup_ident *out);

/* The mount point of the cgroup2 hierarchy's root in /proc/self/mountinfo text (octal escapes
 * such as \040 decoded), into @out (NUL-terminated).  A mount of the root ("/") wins over a bind
 * mount of a subtree.  0, or -1 when there is none or it does not fit @outlen. */
int cgroup__v2_mount(const char *buf, size_t len, char *out, size_t outlen);

#endif
