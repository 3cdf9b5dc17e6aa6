/* discover.h -- attach's selectors (--exe GLOB, --port N, --cgroup PATH): which processes they match, and why.
 * Kinds combine with AND, values of one kind with OR; --pid targets are traced whatever the selectors say
 * (docs/SPEC.md, Discovery).  The matching is pure (unit tested); discover__* read /proc. */
#ifndef OBSPROBE_DISCOVER_H
#define OBSPROBE_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DISC_MAX_PORTS 64 /* listening TCP ports kept per process */
#define DISC_WHY_LEN 160

/* the selectors as given (borrowed strings) */
struct disc_sel {
	char *const *exes; /* --exe GLOB: with a '/', the executable's path; else its file name or comm */
	int nexes;
	const int *ports; /* --port N */
	int nports;
	char *const *cgroups; /* --cgroup PATH: under the cgroup2 mount, or relative to its root */
	int ncgroups;
};

/* what is known of one process */
struct disc_facts {
	const char *exe;    /* /proc/PID/exe's target (NULL: unknown, a kernel thread) */
	const char *comm;   /* NULL: unknown */
	const char *cgroup; /* its cgroup2 path from the root ("/a/b"), NULL: unknown */
	const int *ports;   /* TCP ports it listens on */
	int nports;
};

/* how an --exe glob matched */
enum disc_how { DISC_NO = 0, DISC_PATH, DISC_NAME, DISC_COMM };

bool disc_sel__empty(const struct disc_sel *s);
/* @glob against a process: DISC_PATH (a glob with '/' against the path), DISC_NAME (the path's file name),
 * DISC_COMM, or DISC_NO.  A " (deleted)" suffix of @exe is ignored. */
enum disc_how disc__glob_exe(const char *glob, const char *exe, const char *comm);
/* is cgroup @cg in the subtree @sel (both from the cgroup2 root: "/a" holds "/a" and "/a/b", not "/ab") */
bool disc__cgroup_under(const char *sel, const char *cg);
/* a --cgroup PATH as a path from the cgroup2 root: @mount's prefix removed ("/sys/fs/cgroup/unified/a" -> "/a");
 * trailing slashes dropped; into @out.  -1 when it is not absolute or does not fit. */
int disc__cgroup_rel(const char *sel, const char *mount, char *out, size_t len);
/* Does a process with @f match @s (every kind given matches one of its values)?  @why gets which values
 * ("exe=nginx(path) port=8080"), @by_binary whether an --exe glob named the executable file itself (its path or
 * file name, not only the comm).  False when @s is empty. */
bool disc__match(const struct disc_sel *s, const struct disc_facts *f, char *why, size_t len, bool *by_binary);
/* one /proc/net/tcp{,6} line: its local port, state (0x0A = LISTEN) and socket inode; false for the header and
 * garbage */
bool disc__parse_tcp_line(const char *line, unsigned *port, unsigned *state, unsigned long *inode);

/* ---- the live side: /proc ---- */

struct discover;

/* NULL with a reason in @err (a --cgroup without a cgroup2 mount, out of memory) */
struct discover *discover__new(const struct disc_sel *s, char *err, size_t errlen);
void discover__free(struct discover *d);
/* the candidate events the selectors need (OBS_DISC_* bits, abi/syscalls.h) */
uint32_t discover__events(const struct discover *d);
/* every running process that matches, to @found (the pid, why, by_binary); how many matched */
int discover__scan(struct discover *d, void (*found)(void *ctx, pid_t pid, const char *why, bool by_binary), void *ctx);
/* one candidate (an exec, a listen on @port (0: look), a cgroup move): does it match now */
bool discover__check(struct discover *d, pid_t pid, uint32_t port, char *why, size_t len, bool *by_binary);
/* the selectors, for the start line ("--exe 'nginx' --port 8080") */
void discover__describe(const struct discover *d, char *out, size_t len);

#endif
