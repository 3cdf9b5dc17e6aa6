/* segfile.c -- the shim's segment file: created when first needed, stale ones of exited processes swept */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/segfile.h"
#include "lib/clock.h"
#include "lib/procstat.h"

#define DEAD_MARK_SEC 1 /* atime of a segment a sweep found dead: its mtime is then when that was seen */

/* minimal formatting without stdio: creation may run in a signal handler or a forked child */
static char *put_str(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *put_u64(char *p, char *end, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = '0' + v % 10;
	while ((v /= 10) && n < 24);
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

/* digits at *p up to @stop; false unless at least one digit and then @stop */
static bool get_u64(const char **p, char stop, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		*v = *v * 10 + (uint64_t)(*s++ - '0');
	if (*s != stop)
		return false;
	*p = s + 1;
	return true;
}

/* obsprobe-PID-START-CREATED.seg */
static bool parse_name(const char *name, uint64_t *pid, uint64_t *start)
{
	const char *p = name;
	uint64_t created;

	if (strncmp(p, "obsprobe-", 9))
		return false;
	p += 9;
	return get_u64(&p, '-', pid) && get_u64(&p, '-', start) && get_u64(&p, '.', &created) && !strcmp(p, "seg") &&
	       *pid > 0 && *pid < (1u << 22);
}

/* field 22 of /proc/PID/stat (and field 4, the parent); 0 when unreadable */
static uint64_t proc_start_time(pid_t pid, pid_t *ppid)
{
	struct procstat st;
	int n = procstat__read(pid, &st);

	if (ppid && n >= PROCSTAT_PPID)
		*ppid = st.ppid;
	return n >= PROCSTAT_STARTTIME ? st.starttime : 0;
}

void segfile__opts_from_env(struct segfile_opts *o)
{
	const char *dir = getenv("OBSPROBE_RUNTIME_DIR"), *svc = getenv("OBSPROBE_SERVICE");
	const char *ttl = getenv("OBSPROBE_SEGMENT_TTL"), *mb = getenv("OBSPROBE_SEGMENT_MAX_MB");
	char *e;
	unsigned long long v;

	if (!dir || !*dir)
		dir = "/dev/shm";
	*put_str(o->dir, o->dir + sizeof(o->dir) - 1, dir) = '\0';
	o->service[0] = '\0';
	if (svc)
		*put_str(o->service, o->service + sizeof(o->service) - 1, svc) = '\0';
	o->ttl_ns = SEGFILE_TTL_DEFAULT * 1000000000ull;
	if (ttl && *ttl && (v = strtoull(ttl, &e, 10), !*e) && v < 100ull * 365 * 86400)
		o->ttl_ns = v * 1000000000ull;
	o->max_bytes = (uint64_t)SEGFILE_MAX_MB_DEFAULT << 20;
	if (mb && *mb && (v = strtoull(mb, &e, 10), !*e) && v < (1ull << 40))
		o->max_bytes = v << 20;
}

static void warn_once(const char *what, int err)
{
	char line[640], *p = line, *end = line + sizeof(line) - 1;

	p = put_str(p, end, "obsshim: ");
	p = put_str(p, end, what);
	p = put_str(p, end, ": ");
	p = put_str(p, end, strerror(err));
	p = put_str(p, end, " (the program runs untraced; set OBSPROBE_RUNTIME_DIR to a writable directory)\n");
	syscall(SYS_write, 2, line, p - line);
}

/* is the process that wrote @name gone (or its pid reused)? */
static bool gone(uint64_t pid, uint64_t start)
{
	if (kill((pid_t)pid, 0) && errno == ESRCH)
		return true;
	return proc_start_time((pid_t)pid, NULL) != start;
}

/* remove a stale segment; its loss (and the losses it carried) move into @mine for a collector to count */
static bool take(int dfd, const char *name, struct obs_segment *mine)
{
	struct obs_seg_header h;
	uint64_t carried = 0;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd >= 0) {
		if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == OBS_SEG_MAGIC &&
		    h.expired_segments < (1ull << 40))
			carried = h.expired_segments;
		syscall(SYS_close, fd);
	}
	if (unlinkat(dfd, name, 0))
		return false; /* another sweep took it, and its count */
	__atomic_fetch_add(&mine->h.expired_segments, 1 + carried, __ATOMIC_RELAXED);
	return true;
}

struct linux_dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define KEEP_OLDEST 8

/* Bounded: at most SEGFILE_SWEEP_ENTRIES entries looked at, SEGFILE_SWEEP_UNLINKS removed. Only this uid's
 * segments of exited processes: past the TTL since a sweep first saw them dead, or the oldest while they hold
 * more than max_bytes. */
static void sweep(int dfd, const struct segfile_opts *o, struct obs_segment *mine, pid_t self)
{
	struct {
		char name[64];
		int64_t mtime;
		uint64_t bytes;
	} old[KEEP_OLDEST];
	char buf[4096];
	int nold = 0, seen = 0, removed = 0;
	uint64_t total = 0;
	uid_t uid = geteuid();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	while (seen < SEGFILE_SWEEP_ENTRIES) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (long off = 0; off < n && seen < SEGFILE_SWEEP_ENTRIES; seen++) {
			struct linux_dirent64_raw *de = (struct linux_dirent64_raw *)(buf + off);
			uint64_t pid, start, bytes;
			struct stat st;

			off += de->d_reclen;
			if (!parse_name(de->d_name, &pid, &start) || pid == (uint64_t)self ||
			    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode) ||
			    st.st_uid != uid || !gone(pid, start))
				continue;
			if (st.st_atim.tv_sec != DEAD_MARK_SEC) {
				/* first seen dead: from now on its mtime says since when */
				struct timespec ts[2] = { { DEAD_MARK_SEC, 0 }, now };

				utimensat(dfd, de->d_name, ts, AT_SYMLINK_NOFOLLOW);
				st.st_mtim = now;
			}
			if ((uint64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000000000ull >= o->ttl_ns) {
				removed += removed < SEGFILE_SWEEP_UNLINKS && take(dfd, de->d_name, mine);
				continue;
			}
			bytes = (uint64_t)st.st_blocks * 512;
			total += bytes;
			if (strlen(de->d_name) >= sizeof(old[0].name))
				continue;
			/* keep the KEEP_OLDEST oldest, sorted oldest first */
			{
				int i = nold < KEEP_OLDEST ? nold++ : KEEP_OLDEST;

				if (i == KEEP_OLDEST && st.st_mtim.tv_sec >= old[KEEP_OLDEST - 1].mtime)
					continue;
				if (i == KEEP_OLDEST)
					i--;
				while (i > 0 && old[i - 1].mtime > st.st_mtim.tv_sec) {
					old[i] = old[i - 1];
					i--;
				}
				strcpy(old[i].name, de->d_name);
				old[i].mtime = st.st_mtim.tv_sec;
				old[i].bytes = bytes;
			}
		}
	}
	for (int i = 0; i < nold && total > o->max_bytes && removed < SEGFILE_SWEEP_UNLINKS; i++) {
		if (take(dfd, old[i].name, mine)) {
			total -= old[i].bytes;
			removed++;
		}
	}
}

struct obs_segment *segfile__create(const struct segfile_opts *o, bool quiet)
{
	char path[512], *p = path, *end = path + sizeof(path) - 1, comm[16] = "";
	pid_t pid = (pid_t)syscall(SYS_getpid), ppid = 0;
	uint64_t start = proc_start_time(0, &ppid), created = mono_ns();
	struct obs_segment *s;
	int fd, dfd;

	p = put_str(p, end, o->dir);
	p = put_str(p, end, "/obsprobe-");
	p = put_u64(p, end, (uint64_t)pid);
	p = put_str(p, end, "-");
	p = put_u64(p, end, start);
	p = put_str(p, end, "-");
	p = put_u64(p, end, created);
	p = put_str(p, end, ".seg");
	*p = '\0';
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (!quiet)
			warn_once(path, errno);
		return NULL;
	}
	if (ftruncate(fd, sizeof(struct obs_segment))) {
		if (!quiet)
			warn_once(path, errno);
		unlink(path);
		syscall(SYS_close, fd);
		return NULL;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	syscall(SYS_close, fd);
	if (s == MAP_FAILED) {
		if (!quiet)
			warn_once(path, errno);
		unlink(path);
		return NULL;
	}
	/* The file is sparse and touched here and there (the header, a stripe, ring slots). On a disk file system the
	 * first fault would otherwise read around it -- read_ahead_kb, 8 MiB on some block devices: the whole segment
	 * zero-filled into the page cache, ~10-50 ms of this process's system time at its first recorded call.
	 * (tmpfs, the default /dev/shm, has no read-ahead.) A hint: its failure changes nothing. */
	syscall(SYS_madvise, s, sizeof(*s), MADV_RANDOM);
	{
		int cfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
		ssize_t n = cfd >= 0 ? syscall(SYS_read, cfd, comm, sizeof(comm) - 1) : 0;

		if (cfd >= 0)
			syscall(SYS_close, cfd);
		if (n > 0)
			comm[n - (comm[n - 1] == '\n')] = '\0';
	}
	s->h.version = OBS_SEG_VERSION;
	s->h.header_size = sizeof(s->h);
	s->h.total_size = sizeof(*s);
	s->h.pid = pid;
	s->h.ppid = ppid;
	s->h.start_time = start;
	s->h.created_ns = created;
	memcpy(s->h.comm, comm, sizeof(s->h.comm));
	*put_str(s->h.service, s->h.service + sizeof(s->h.service) - 1, o->service[0] ? o->service : comm) = '\0';
	s->h.nbounds = o->nbounds;
	s->h.nslots = SEG_NSLOTS;
	memcpy(s->h.bounds_ns, o->bounds_ns, o->nbounds * sizeof(uint64_t));
	/* the magic last: a collector never trusts a half-written header */
	__atomic_store_n(&s->h.magic, OBS_SEG_MAGIC, __ATOMIC_RELEASE);
	dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		sweep(dfd, o, s, pid);
		syscall(SYS_close, dfd);
	}
	return s;
}
