/* seg_trust.c -- who wrote a shim segment: its file's owner, and whether the process it names maps it */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/procstat.h"
#include "source/procs.h"
#include "source/seg_trust.h"

bool seg_trust__maps_line_is(const char *line, unsigned maj, unsigned min, uint64_t ino)
{
	unsigned a, b;
	unsigned long long i;

	/* "start-end perms offset MAJ:MIN inode path" */
	return sscanf(line, "%*s %*s %*s %x:%x %llu", &a, &b, &i) == 3 && a == maj && b == min && i == ino && ino;
}

/* 1: @pid maps the file; 0: it does not (or its maps are not ours to read); -1: it maps nothing (exiting) */
static int maps_file(pid_t pid, const struct stat *st)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int found = 0, lines = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && getline(&line, &cap, f) > 0) {
		lines++;
		found = seg_trust__maps_line_is(line, major(st->st_dev), minor(st->st_dev), st->st_ino);
	}
	free(line);
	fclose(f);
	return found ? 1 : lines ? 0 : -1;
}

enum seg_claim seg_trust__check(pid_t pid, uint64_t start_time, const struct stat *st)
{
	char path[64];
	struct procstat pst;
	struct stat ps;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || stat(path, &ps) || procstat__read(pid, &pst) < PROCSTAT_STARTTIME ||
	    pst.starttime != start_time)
		return SEG_CLAIM_GONE;
	if (ps.st_uid != st->st_uid)
		return SEG_CLAIM_FALSE;
	/* a zombie, or a process on its way out (its memory already released), maps nothing any more: its uid is
	 * all there is to check */
	if (pst.state == 'Z')
		return SEG_CLAIM_VERIFIED;
	return maps_file(pid, st) ? SEG_CLAIM_VERIFIED : SEG_CLAIM_FALSE;
}

bool seg_trust__alive(pid_t pid, uint64_t start_time)
{
	struct procstat st;

	if (pid <= 0 || procstat__read(pid, &st) < PROCSTAT_STARTTIME)
		return false;
	return st.starttime == start_time && st.state != 'Z' && st.state != 'X';
}

bool seg_trust__runs_shim(pid_t pid)
{
	char path[4096];

	return proc_find_object(pid, "libobsshim.so", path, sizeof(path)) == 0;
}
