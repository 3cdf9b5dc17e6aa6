/* funcspec.c -- a --func spec's parts and object, and the error when it matches nothing */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "source/funcspec.h"
#include "source/procs.h"

/* split "[OBJ:]GLOB"; a ':' inside the glob part alone (C++ "ns::f*") is not an object */
void funcspec_split(const char *spec, char *obj, size_t objlen, const char **glob)
{
	const char *colon = strchr(spec, ':');

	obj[0] = '\0';
	*glob = spec;
	if (colon && colon != spec && colon[1] != ':' && colon[1]) {
		snprintf(obj, objlen, "%.*s", (int)(colon - spec), spec);
		*glob = colon + 1;
	}
}

/* resolve the object of a spec: the main binary, a path, or a library by name */
int funcspec_resolve(pid_t pid, const char *exe, const char *obj, char *path, size_t len)
{
	if (!obj[0]) {
		if (exe) {
			snprintf(path, len, "%s", exe);
			return 0;
		}
		return proc_exe(pid, path, len);
	}
	if (strchr(obj, '/')) {
		snprintf(path, len, "%s", obj);
		return 0;
	}
	if (pid > 0 && !exe && proc_find_object(pid, obj, path, len) == 0)
		return 0;
	return lib_find_path(obj, path, len);
}

/* "/proc/812/root/usr/sbin/nginx" reads as "/usr/sbin/nginx" in messages */
const char *funcspec_shown(const char *path)
{
	const char *p;

	if (strncmp(path, "/proc/", 6))
		return path;
	p = strstr(path + 6, "/root/");
	return p ? p + 5 : path;
}

void funcspec_no_match(struct elf_syms *syms, const char *glob, const char *path, pid_t pid, bool named, char *err,
		       size_t errlen)
{
	const char *p = funcspec_shown(path);
	char lib[256];

	if (elf_syms__stripped(syms))
		snprintf(err, errlen,
			 "attach: no function matches '%s' in %s, which is stripped: only its exported functions can be traced (install its debug symbols, or list them: obsprobe symbols --binary %s)",
			 glob, p, p);
	else if (named)
		snprintf(err, errlen,
			 "attach: no function matches '%s' in %s (list them: obsprobe symbols --binary %s '%s')", glob,
			 p, p, glob);
	else if (symbols_find_in_libs(pid, glob, lib, sizeof(lib)) > 0)
		snprintf(err, errlen, "attach: no function matches '%s' in %s, but %s has some: use --func '%s:%s'",
			 glob, p, lib, lib, glob);
	else
		snprintf(err, errlen,
			 "attach: no function matches '%s' in %s (list them: obsprobe symbols --pid %d '%s')", glob, p,
			 pid, glob);
}
