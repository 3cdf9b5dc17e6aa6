/* funcbin.h -- which traced processes use a binary whose --func uprobes are attached once for the whole file
 * (pid -1): the probes go when the last of them exits or execs (funclat.c) */
#ifndef OBSPROBE_FUNCBIN_H
#define OBSPROBE_FUNCBIN_H

#include <stdbool.h>
#include <sys/types.h>

struct funcbin_use {
	pid_t pid;
	dev_t dev;
	ino_t ino;
};

struct funcbin {
	struct funcbin_use *u;
	int n, cap;
};

/* @pid runs the binary @dev/@ino (one binary per pid: a second call replaces the first); 0 or -ENOMEM */
int funcbin__use(struct funcbin *b, pid_t pid, dev_t dev, ino_t ino);
/* @pid stopped using its binary: 1 with the binary in @dev/@ino when it was the last user, else 0 */
int funcbin__release(struct funcbin *b, pid_t pid, dev_t *dev, ino_t *ino);
/* the binary @pid uses, if any */
bool funcbin__of(const struct funcbin *b, pid_t pid, dev_t *dev, ino_t *ino);
/* distinct binaries in use */
int funcbin__nbinaries(const struct funcbin *b);
void funcbin__free(struct funcbin *b);

#endif
