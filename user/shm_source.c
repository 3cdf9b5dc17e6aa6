/* shm_source.c -- reads the shim's segments: validated before trusted, deltas into the registry, dead ones retired */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "procs.h"
#include "segment.h"
#include "shm_source.h"

struct seg_view {
	char name[256];
	struct obs_segment *s;		/* mapped read-write: the collector owns ring_tail */
	pid_t pid;
	uint64_t start_time;
	bool bounds_ok;
	char service[65], comm[17];
	struct hist last[SEG_NSLOTS];
	uint64_t last_err[OBS_SEG_ERRS];
	uint64_t last_lost[SEG_LOST__COUNT];
	struct hist last_io[SEG_NDIRS][SEG_NPROTOS];
	uint64_t last_bytes[SEG_NDIRS][SEG_NPROTOS];
	uint64_t last_opened[SEG_NCONNS], last_closed[SEG_NCONNS];
	uint64_t events;
	struct seg_view *next;
};

struct bad_file {
	char name[256];
	struct bad_file *next;
};

struct shm_source {
	struct shm_source_opts opts;
	pid_t *pids;
	struct seg_view *segs;
	struct bad_file *bad;		/* garbage (warned once) or not ours: never read again */
	uint64_t events, lost;
};

static const char *const lost_reason[SEG_LOST__COUNT] = {
	[SEG_LOST_ERRS_FULL] = "errors_table_full",
	[SEG_LOST_RING_FULL] = "ring_full",
	[SEG_LOST_CONNS_FULL] = "http_connections_full",
	[SEG_LOST_BUSY] = "http_connection_busy",
};

struct shm_source *shm_source__new(const struct shm_source_opts *opts)
{
	struct shm_source *s = calloc(1, sizeof(*s));
	DIR *d;

	if (!s)
		return NULL;
	s->opts = *opts;
	if (opts->npids) {
		s->pids = calloc(opts->npids, sizeof(pid_t));
		if (!s->pids) {
			free(s);
			return NULL;
		}
		memcpy(s->pids, opts->pids, opts->npids * sizeof(pid_t));
	}
	d = opendir(opts->runtime_dir);
	if (!d) {
		free(s->pids);
		free(s);
		return NULL;
	}
	closedir(d);
	return s;
}

static void unmap(struct seg_view *v)
{
	if (v->s)
		munmap(v->s, sizeof(*v->s));
	v->s = NULL;
}

void shm_source__free(struct shm_source *s)
{
	if (!s)
		return;
	while (s->segs) {
		struct seg_view *v = s->segs;

		s->segs = v->next;
		unmap(v);
		free(v);
	}
	while (s->bad) {
		struct bad_file *b = s->bad;

		s->bad = b->next;
		free(b);
	}
	free(s->pids);
	free(s);
}

static bool known_bad(struct shm_source *s, const char *name)
{
	for (struct bad_file *b = s->bad; b; b = b->next)
		if (!strcmp(b->name, name))
			return true;
	return false;
}

/* remember a file not to read: garbage (warned about once) or another process's segment (@why NULL) */
static void mark_bad(struct shm_source *s, const char *name, const char *why)
{
	struct bad_file *b = calloc(1, sizeof(*b));

	if (why)
		elog("warning: ignoring %s/%s: %s", s->opts.runtime_dir, name, why);
	if (!b)
		return;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->next = s->bad;
	s->bad = b;
}

/* is @pid one of ours: a target, or (following) a descendant of one */
static bool wanted(struct shm_source *s, pid_t pid, pid_t ppid)
{
	if (!s->opts.npids)
		return true;
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		for (int i = 0; i < s->opts.npids; i++)
			if (s->pids[i] == pid)
				return true;
		if (!s->opts.follow_children)
			return false;
		{
			char p[64], line[1024];
			FILE *f;
			pid_t up = -1;

			snprintf(p, sizeof(p), "/proc/%d/stat", pid);
			f = fopen(p, "r");
			if (f) {
				if (fgets(line, sizeof(line), f))
					stat_parse(line, &up, NULL);
				fclose(f);
			}
			/* the process may be gone: its segment still says who its parent was */
			pid = up > 0 ? up : ppid;
			ppid = 0;
		}
	}
	return false;
}

static int map_segment(const char *dir, const char *name, struct obs_segment **out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	void *m;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st.st_size < sizeof(struct obs_seg_header)) {
		/* the shim may be between creat and ftruncate: retry later unless it stays so */
		snprintf(err, errlen, "truncated: %lld bytes", (long long)st.st_size);
		close(fd);
		return -EAGAIN;
	}
	m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return -errno;
	}
	if (obs_seg_validate(m, st.st_size, err, errlen)) {
		munmap(m, st.st_size);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

static struct seg_view *find(struct shm_source *s, const char *name)
{
	for (struct seg_view *v = s->segs; v; v = v->next)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

static void discover(struct shm_source *s, const struct hist_bounds *b)
{
	DIR *d = opendir(s->opts.runtime_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct obs_segment *seg = NULL;
		struct seg_view *v;
		char err[256];
		int rc;

		if (strncmp(de->d_name, "obsprobe-", 9) || !strstr(de->d_name, ".seg") || find(s, de->d_name) ||
		    known_bad(s, de->d_name))
			continue;
		rc = map_segment(s->opts.runtime_dir, de->d_name, &seg, err, sizeof(err));
		if (rc == -EAGAIN)
			continue;
		if (rc) {
			mark_bad(s, de->d_name, err);
			continue;
		}
		if (!wanted(s, seg->h.pid, seg->h.ppid)) {
			munmap(seg, sizeof(*seg));
			mark_bad(s, de->d_name, NULL);
			continue;
		}
		v = calloc(1, sizeof(*v));
		if (!v) {
			munmap(seg, sizeof(*seg));
			continue;
		}
		snprintf(v->name, sizeof(v->name), "%s", de->d_name);
		v->s = seg;
		v->pid = seg->h.pid;
		v->start_time = seg->h.start_time;
		memcpy(v->service, seg->h.service, 64);
		memcpy(v->comm, seg->h.comm, 16);
		v->bounds_ok = seg->h.nbounds == (uint32_t)b->n &&
			       !memcmp(seg->h.bounds_ns, b->ns, b->n * sizeof(uint64_t));
		if (!v->bounds_ok)
			elog("warning: pid %d's shim buckets differ from the collector's (set the same --buckets; OBSPROBE_BUCKETS): its histograms are skipped",
			     v->pid);
		vlog("reading shim segment of pid %d (%s)", v->pid, v->comm);
		v->next = s->segs;
		s->segs = v;
	}
	closedir(d);
}

static const char *const dir_name[SEG_NDIRS] = { "receive", "transmit" };
static const char *const proto_name[SEG_NPROTOS] = { "tcp", "udp", "unix" };
static const char *const conn_name[SEG_NCONNS] = { "inbound", "outbound" };

static void read_sockets(struct shm_source *s, struct seg_view *v, const char *svc, int nslots)
{
	struct metrics *m = s->opts.metrics;

	for (int d = 0; d < SEG_NDIRS; d++) {
		for (int p = 0; p < SEG_NPROTOS; p++) {
			const char *lv[] = { svc, dir_name[d], proto_name[p] };
			struct hist now = { 0 }, delta;
			uint64_t bytes = 0;

			for (int st = 0; st < OBS_SEG_STRIPES; st++) {
				const struct obs_seg_sock *sk = &v->s->sock[st][d][p];

				now.count += __atomic_load_n(&sk->io.count, __ATOMIC_ACQUIRE);
				now.sum_ns += __atomic_load_n(&sk->io.sum_ns, __ATOMIC_RELAXED);
				bytes += __atomic_load_n(&sk->bytes, __ATOMIC_RELAXED);
				for (int k = 0; k < nslots; k++)
					now.buckets[k] += __atomic_load_n(&sk->io.buckets[k], __ATOMIC_RELAXED);
			}
			if (now.count == v->last_io[d][p].count)
				continue;
			hist_delta(&v->last_io[d][p], &now, &delta, nslots);
			series__add(metrics__series(m, FAM_SOCKET_BYTES, lv), bytes - v->last_bytes[d][p]);
			v->last_bytes[d][p] = bytes;
			if (v->bounds_ok)
				series__add_hist(metrics__series(m, FAM_SOCKET_IO_DURATION, lv), delta.buckets, delta.count,
						 delta.sum_ns);
		}
	}
	for (int c = 0; c < SEG_NCONNS; c++) {
		const char *lv[] = { svc, conn_name[c] };
		uint64_t opened = __atomic_load_n(&v->s->h.conns_opened[c], __ATOMIC_RELAXED);
		uint64_t closed = __atomic_load_n(&v->s->h.conns_closed[c], __ATOMIC_RELAXED);

		if (opened == v->last_opened[c] && closed == v->last_closed[c])
			continue;
		series__add(metrics__series(m, FAM_TCP_CONNECTIONS, lv), opened - v->last_opened[c]);
		series__gauge_add(metrics__series(m, FAM_TCP_ACTIVE, lv),
				  (double)(opened - v->last_opened[c]) - (double)(closed - v->last_closed[c]));
		v->last_opened[c] = opened;
		v->last_closed[c] = closed;
	}
}

/* HTTP exchanges and log writes; the ring is drained whatever happens so producers never stall */
static void read_ring(struct shm_source *s, struct seg_view *v, const char *svc)
{
	struct span_resource res = { 0 };
	struct obs_seg_rec *rec = malloc(sizeof(*rec));

	if (!rec)
		return;
	span__copy_str(res.service_name, sizeof(res.service_name), svc);
	span__copy_str(res.executable_name, sizeof(res.executable_name), v->comm);
	res.pid = v->pid;
	while (obs_seg_ring_get(v->s, rec)) {
		if (rec->type == OBS_REC_EXCHANGE && rec->len == sizeof(struct http_exchange) && s->opts.traces) {
			struct http_exchange x;

			memcpy(&x, rec->data, sizeof(x));
			/* strings from shared memory: terminate them before use */
			x.method[sizeof(x.method) - 1] = x.target[sizeof(x.target) - 1] = '\0';
			x.host[sizeof(x.host) - 1] = x.user_agent[sizeof(x.user_agent) - 1] = '\0';
			x.tracestate[sizeof(x.tracestate) - 1] = '\0';
			if (x.kind != 2 && x.kind != 3)
				continue;
			traces__end_exchange(s->opts.traces, &x, &res);
		} else if (rec->type == OBS_REC_LOG && rec->len >= offsetof(struct obs_seg_log, text) && s->opts.logs) {
			struct obs_seg_log lg;
			size_t n;
			bool ctx;

			memcpy(&lg, rec->data, rec->len);
			n = lg.len <= rec->len - offsetof(struct obs_seg_log, text) ? lg.len : 0;
			ctx = !span__id_is_zero(lg.trace_id, 16);
			if (lg.stream != 1 && lg.stream != 2)
				continue;
			logs__write(s->opts.logs, v->pid, lg.tid, lg.stream, lg.time_ns, lg.text, n, true,
				    ctx ? lg.trace_id : NULL, ctx ? lg.span_id : NULL, &res);
		}
	}
	free(rec);
}

static void read_segment(struct shm_source *s, struct seg_view *v, const struct hist_bounds *b)
{
	struct metrics *m = s->opts.metrics;
	const char *svc = s->opts.service ? s->opts.service : v->service;
	char nbuf[32], ebuf[32];
	int nslots = b->n + 1;

	for (int slot = 0; slot < SEG_NSLOTS; slot++) {
		struct hist now = { 0 }, d;

		for (int st = 0; st < OBS_SEG_STRIPES; st++) {
			const struct obs_seg_hist *h = &v->s->hist[st][slot];

			/* count last: a reader may see buckets ahead of count, never behind */
			now.count += __atomic_load_n(&h->count, __ATOMIC_ACQUIRE);
			now.sum_ns += __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED);
			for (int k = 0; k < nslots; k++)
				now.buckets[k] += __atomic_load_n(&h->buckets[k], __ATOMIC_RELAXED);
		}
		if (now.count == v->last[slot].count)
			continue;
		hist_delta(&v->last[slot], &now, &d, nslots);
		v->events += d.count;
		s->events += d.count;
		series__add(metrics__series(m, FAM_EVENTS, (const char *[]){ "preload" }), d.count);
		if (v->bounds_ok) {
			const char *lv[] = { svc, syscall_name(obs_seg_slot_nr[slot], nbuf, sizeof(nbuf)) };

			series__add_hist(metrics__series(m, FAM_SYSCALL_DURATION, lv), d.buckets, d.count, d.sum_ns);
		}
	}
	for (int i = 0; i < OBS_SEG_ERRS; i++) {
		uint32_t key = __atomic_load_n(&v->s->errs[i].key, __ATOMIC_ACQUIRE);
		uint64_t c = __atomic_load_n(&v->s->errs[i].count, __ATOMIC_RELAXED);

		if (!key || c == v->last_err[i])
			continue;
		{
			const char *lv[] = { svc, syscall_name(key >> 16, nbuf, sizeof(nbuf)),
					     errno_name(key & 0xffff, ebuf, sizeof(ebuf)) };

			series__add(metrics__series(m, FAM_SYSCALL_ERRORS, lv), c - v->last_err[i]);
		}
		v->last_err[i] = c;
	}
	for (int r = 0; r < SEG_LOST__COUNT; r++) {
		uint64_t c = __atomic_load_n(&v->s->h.lost[r], __ATOMIC_RELAXED);

		if (c == v->last_lost[r])
			continue;
		series__add(metrics__series(m, FAM_EVENTS_LOST, (const char *[]){ "preload", lost_reason[r] }),
			    c - v->last_lost[r]);
		s->lost += c - v->last_lost[r];
		v->last_lost[r] = c;
	}
	read_sockets(s, v, svc, nslots);
	read_ring(s, v, svc);
}

static bool alive(struct seg_view *v)
{
	char p[64], line[1024];
	FILE *f;
	bool same = false;

	if (kill(v->pid, 0) && errno == ESRCH)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/stat", v->pid);
	f = fopen(p, "r");
	if (!f)
		return errno != ENOENT;
	if (fgets(line, sizeof(line), f)) {
		const char *r = strrchr(line, ')');
		unsigned long long st = 0;

		same = r && sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
				   &st) == 1 && st == v->start_time;
	}
	fclose(f);
	return same; /* a reused pid is another process */
}

void shm_source__drain(struct shm_source *s)
{
	for (struct seg_view *v = s->segs; v; v = v->next)
		read_ring(s, v, s->opts.service ? s->opts.service : v->service);
}

void shm_source__poll(struct shm_source *s)
{
	const struct hist_bounds *b = metrics__bounds(s->opts.metrics);
	struct seg_view **pp = &s->segs;

	discover(s, b);
	while (*pp) {
		struct seg_view *v = *pp;

		read_segment(s, v, b);
		if (!alive(v)) {
			char path[PATH_MAX];

			/* its last counts are in: retire the segment; connections it never closed are gone too */
			for (int c = 0; c < SEG_NCONNS; c++) {
				const char *lv[] = { s->opts.service ? s->opts.service : v->service, conn_name[c] };

				if (v->last_opened[c] != v->last_closed[c])
					series__gauge_add(metrics__series(s->opts.metrics, FAM_TCP_ACTIVE, lv),
							  -((double)v->last_opened[c] - (double)v->last_closed[c]));
			}
			snprintf(path, sizeof(path), "%s/%s", s->opts.runtime_dir, v->name);
			unlink(path);
			unmap(v);
			vlog("pid %d (%s) exited; its segment is retired", v->pid, v->comm);
			*pp = v->next;
			free(v);
			continue;
		}
		pp = &v->next;
	}
}

int shm_source__ntargets(struct shm_source *s)
{
	int n = 0;

	for (struct seg_view *v = s->segs; v; v = v->next)
		n++;
	return n;
}

void shm_source__targets_json(struct shm_source *s, cJSON *arr)
{
	for (struct seg_view *v = s->segs; v; v = v->next) {
		cJSON *o = cJSON_CreateObject();
		uint64_t lost = 0;

		for (int r = 0; r < SEG_LOST__COUNT; r++)
			lost += v->last_lost[r];
		cJSON_AddNumberToObject(o, "pid", v->pid);
		cJSON_AddStringToObject(o, "comm", v->comm);
		cJSON_AddStringToObject(o, "service", s->opts.service ? s->opts.service : v->service);
		cJSON_AddStringToObject(o, "mode", "preload");
		cJSON_AddStringToObject(o, "probes", "libc I/O wrappers");
		cJSON_AddNumberToObject(o, "events", (double)v->events);
		cJSON_AddNumberToObject(o, "drops", (double)lost);
		cJSON_AddItemToArray(arr, o);
	}
}

void shm_source__totals(struct shm_source *s, uint64_t *events, uint64_t *lost)
{
	*events = s->events;
	*lost = s->lost;
}

bool shm_source_has_pid(const char *dir, pid_t pid)
{
	char prefix[64], err[128];
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	snprintf(prefix, sizeof(prefix), "obsprobe-%d-", pid);
	while (!found && (de = readdir(d))) {
		struct obs_segment *seg;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		if (!map_segment(dir, de->d_name, &seg, err, sizeof(err))) {
			found = seg->h.pid == pid;
			munmap(seg, sizeof(*seg));
		}
	}
	closedir(d);
	return found;
}
