/* funcspec.h -- a --func "[OBJ:]GLOB" spec: its parts, the object it names for a process, and what to say when
 * nothing matches (funclat.c's) */
#ifndef OBSPROBE_FUNCSPEC_H
#define OBSPROBE_FUNCSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "source/symbols.h"

/* split "[OBJ:]GLOB" into @obj ("" for the main binary) and @glob (into @spec) */
void funcspec_split(const char *spec, char *obj, size_t objlen, const char **glob);
/* the object's path for @pid: the main binary (@exe when given: run, before exec), a path, or a library by name;
 * 0, or -1 when there is none */
int funcspec_resolve(pid_t pid, const char *exe, const char *obj, char *path, size_t len);
/* "/proc/812/root/usr/sbin/nginx" as "/usr/sbin/nginx" */
const char *funcspec_shown(const char *path);
/* the one-line error when @glob matches nothing in @syms (@path); @named: the object was named (or run's exe),
 * else the hint may point at a library of @pid that has matches */
void funcspec_no_match(struct elf_syms *syms, const char *glob, const char *path, pid_t pid, bool named, char *err,
		       size_t errlen);

#endif
