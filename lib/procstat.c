/* procstat.c -- /proc/PID/stat: the one parser of its fields, and a read the shim can call too */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/procstat.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* a decimal integer, optionally negative, that runs to a blank or @end; false when it is not one */
static bool number(const char **pp, const char *end, uint64_t *v)
{
	const char *p = *pp;
	bool neg = p < end && *p == '-';
	uint64_t x = 0;

	if (neg)
		p++;
	if (p == end || *p < '0' || *p > '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9')
		x = x * 10 + (uint64_t)(*p++ - '0');
	if (p < end && !blank(*p))
		return false;
	*v = neg ? -x : x;
	*pp = p;
	return true;
}

int procstat__parse(const char *buf, size_t len, struct procstat *st)
{
	const char *end = buf + len, *p = memrchr(buf, ')', len);
	int field;

	memset(st, 0, sizeof(*st));
	if (!p)
		return -1;
	for (p++; p < end && blank(*p); p++)
		;
	if (p == end)
		return -1;
	st->state = *p++;
	for (field = PROCSTAT_STATE; field < PROCSTAT_RSS; field++) {
		uint64_t v;

		while (p < end && blank(*p))
			p++;
		if (!number(&p, end, &v))
			break;
		switch (field + 1) {
		case PROCSTAT_PPID:
			st->ppid = (int)v;
			break;
		case PROCSTAT_FLAGS:
			st->flags = (unsigned long)v;
			break;
		case PROCSTAT_UTIME:
			st->utime = (unsigned long)v;
			break;
		case PROCSTAT_STIME:
			st->stime = (unsigned long)v;
			break;
		case PROCSTAT_STARTTIME:
			st->starttime = v;
			break;
		case PROCSTAT_RSS:
			st->rss = (long)v;
			break;
		}
	}
	return field;
}

int procstat__read(pid_t pid, struct procstat *st)
{
	char path[32] = "/proc/self/stat", digits[12], buf[1024];
	long fd, n;
	int k = 0;

	if (pid > 0) {
		/* "/proc/" PID "/stat", without stdio */
		for (unsigned v = (unsigned)pid; v; v /= 10)
			digits[k++] = (char)('0' + v % 10);
		memcpy(path, "/proc/", 6);
		for (int i = 0; i < k; i++)
			path[6 + i] = digits[k - 1 - i];
		memcpy(path + 6 + k, "/stat", 6);
	}
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = syscall(SYS_read, (int)fd, buf, sizeof(buf));
	syscall(SYS_close, (int)fd);
	if (n <= 0)
		return -1;
	return procstat__parse(buf, (size_t)n, st);
}
