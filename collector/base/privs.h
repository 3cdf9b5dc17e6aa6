/* privs.h -- after attaching: keep only the capabilities later work needs, in every thread; run --user; private files */
#ifndef OBSPROBE_PRIVS_H
#define OBSPROBE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* what the collector still does after its start, which decides the capabilities it keeps */
struct privs_need {
	bool bpf_fds;	   /* reads/writes the BPF maps it created (eBPF path) */
	bool uprobes;	   /* --func: attaches uprobes to children and new images found later */
	bool segments;	   /* reads shim segments of other users and removes those of exited processes */
	bool signal_child; /* run --user: passes SIGINT/SIGTERM on to CMD, which runs as another user */
};

/* The capability mask (bit N = capability N) kept for @need.  @bpf_fds_need_cap: the kernel
 * checks a capability on every bpf() call, not only when maps and programs are created
 * (before Linux 6.5 with kernel.unprivileged_bpf_disabled set). */
uint64_t privs__keep_mask(const struct privs_need *need, bool bpf_fds_need_cap);

/* is this such a kernel (uname and the sysctl) */
bool privs__bpf_fds_need_cap(void);

/* Drop to privs__keep_mask() in every thread of the process: effective, permitted and the
 * bounding set, inheritable and ambient cleared, PR_SET_NO_NEW_PRIVS set; uid stays 0 (the
 * README says why).  Capabilities the process does not have are not asked for.  Checks every
 * thread's /proc status afterwards.  0, or -1 with @err. */
int privs__drop(const struct privs_need *need, char *err, size_t errlen);

/* "cap_sys_ptrace,cap_perfmon" (libcap's names, ascending), "" for none */
void privs__format_mask(uint64_t mask, char *out, size_t len);

/* one line per capability obsprobe can use: present, or what its absence disables */
void privs__report(FILE *out);

/* the same as objects {"name", "effective", "for", "missing", "stands_in"} appended to @array (a cJSON array) */
struct cJSON;
void privs__report_json(struct cJSON *array);

/* run --user NAME: who CMD becomes */
struct run_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char name[64], home[256];
};

/* look NAME up (a name or a numeric uid); -1 with @err when there is no such user */
int privs__lookup_user(const char *name, struct run_user *u, char *err, size_t errlen);

/* in the child before exec: groups, gid, uid (and HOME/USER/LOGNAME); -1 with errno */
int privs__become(const struct run_user *u);

/* Open an output file obsprobe writes (--log-file, --spans-file) for appending: never through
 * a symbolic link (O_NOFOLLOW), created 0600, close-on-exec.  NULL with @err. */
FILE *privs__open_output(const char *path, const char *option, char *err, size_t errlen);

#endif
