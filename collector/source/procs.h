/* procs.h -- what /proc says about a process: liveness, comm, exe, children, mapped objects */
#ifndef OBSPROBE_PROCS_H
#define OBSPROBE_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

bool proc_exists(pid_t pid);
/* kernel threads have no mm: PF_KTHREAD in /proc/PID/stat's flags */
bool proc_is_kernel_thread(pid_t pid);
int proc_comm(pid_t pid, char *buf, size_t len);
/* the main binary, as a path that opens from here (/proc/PID/root/... for other mount namespaces) */
int proc_exe(pid_t pid, char *buf, size_t len);
/* every live descendant of @pid (an nginx master's workers), at most @max; returns how many */
int proc_descendants(pid_t pid, pid_t *out, int max);
/* a mapped object by name: "libc.so.6", a prefix "libc.so", or a path; 0 and its path, or -1 */
int proc_find_object(pid_t pid, const char *name, char *path, size_t len);
/* a library by name in the standard directories and $LD_LIBRARY_PATH (for run, before exec) */
int lib_find_path(const char *name, char *path, size_t len);

/* parse a /proc/PID/maps line; true when it maps a file executable, with its path in @path */
bool maps_parse_line(const char *line, char *path, size_t len);

#endif
