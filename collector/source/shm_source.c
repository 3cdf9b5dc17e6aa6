/* shm_source.c -- reads the shim's segments: validated before trusted, identity checked, bounded, dead ones retired */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "signal/names.h"
#include "lib/procstat.h"
#include "source/procs.h"
#include "source/seg_reader.h"
#include "source/seg_seen.h"
#include "source/seg_trust.h"
#include "source/seg_guard.h"
#include "source/shm_fold.h"
#include "source/shm_source.h"

#define DISCOVER_BUDGET 512    /* new files looked at per poll: a directory of garbage costs bounded work */
#define YOUNG_NS 2000000000ull /* a file this young with no magic yet may be a shim still writing its header */
#define VIEW_BUCKETS 1024

enum seg_reason {
	R_INVALID,
	R_TRUNCATED,
	R_UNVERIFIED,
	R_PER_UID,
	R_SERVICES,
	R_LIST_FULL,
	R_EXPIRED,
	R__COUNT,
	R_FOREIGN = R__COUNT, /* not one of ours (attach --pid): remembered, not counted */
	R_DONE,		      /* read to the end: remembered, not counted */
	R_CLAIMS_LIVE,	      /* read once, but it named a live process: removed once that one is gone */
};

static const char *const reason_name[R__COUNT] = {
	[R_INVALID] = "invalid",	  [R_TRUNCATED] = "truncated",	   [R_UNVERIFIED] = "unverified",
	[R_PER_UID] = "segments_per_uid", [R_SERVICES] = "services_limit", [R_LIST_FULL] = "rejected_list_full",
	[R_EXPIRED] = "expired",
};

struct shm_source {
	struct shm_source_opts opts;
	pid_t *pids;
	struct seg_view *segs;
	struct seg_view *vbucket[VIEW_BUCKETS];
	struct seg_seen seen; /* files not to read again, at most opts.max_rejected */
	char (*services)[65]; /* distinct service labels admitted, at most opts.max_services */
	int nservices;
	struct shm_fold fold; /* where the segments' counts and records go */
	uint64_t rejected[R__COUNT];
};

static void count(struct shm_source *s, enum seg_reason r, uint64_t n)
{
	if (r >= R__COUNT || !n)
		return;
	s->rejected[r] += n;
	series__add(metrics__series(s->opts.metrics, FAM_SEGMENTS_REJECTED, (const char *[]){ reason_name[r] }), n);
}

/* remember @ino (counted under @r once); past the bound the oldest is forgotten, and that is counted */
static void seen_add(struct shm_source *s, ino_t ino, const char *name, uid_t uid, enum seg_reason r)
{
	enum seg_seen_added added = seg_seen__add(&s->seen, ino, name, uid, r);

	if (added != SEG_SEEN_UPDATED)
		count(s, r, 1);
	if (added == SEG_SEEN_FORGOT)
		count(s, R_LIST_FULL, 1);
}

struct shm_source *shm_source__new(const struct shm_source_opts *opts)
{
	struct shm_source *s = calloc(1, sizeof(*s));
	bool seen_ok;
	DIR *d;

	if (!s)
		return NULL;
	s->opts = *opts;
	if (s->opts.max_services <= 0)
		s->opts.max_services = SHM_MAX_SERVICES_DEFAULT;
	if (s->opts.max_segments_per_uid <= 0)
		s->opts.max_segments_per_uid = SHM_MAX_SEGS_PER_UID_DEFAULT;
	if (s->opts.max_rejected <= 0)
		s->opts.max_rejected = SHM_MAX_REJECTED_DEFAULT;
	s->pids = calloc(opts->npids ? opts->npids : 1, sizeof(pid_t));
	seen_ok = !seg_seen__init(&s->seen, s->opts.max_rejected);
	s->services = calloc(s->opts.max_services, sizeof(*s->services));
	s->fold = (struct shm_fold){ .metrics = opts->metrics, .traces = opts->traces, .logs = opts->logs };
	s->fold.batch = calloc(SHM_FOLD_BATCH, sizeof(*s->fold.batch));
	s->fold.h2 = opts->traces ? shm_h2__new(opts->metrics, opts->traces) : NULL;
	d = opendir(opts->runtime_dir);
	if (!s->pids || !seen_ok || !s->services || !s->fold.batch || (opts->traces && !s->fold.h2) || !d) {
		if (d)
			closedir(d);
		shm_source__free(s);
		return NULL;
	}
	closedir(d);
	if (opts->npids)
		memcpy(s->pids, opts->pids, opts->npids * sizeof(pid_t));
	seg_guard__init();
	return s;
}

static void view_free(struct seg_view *v)
{
	if (v->s)
		munmap(v->s, sizeof(*v->s));
	free(v);
}

void shm_source__free(struct shm_source *s)
{
	if (!s)
		return;
	while (s->segs) {
		struct seg_view *v = s->segs;

		s->segs = v->next;
		view_free(v);
	}
	seg_seen__free(&s->seen);
	free(s->services);
	free(s->fold.batch);
	shm_h2__free(s->fold.h2);
	free(s->pids);
	free(s);
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
			struct procstat st;
			pid_t up = procstat__read(pid, &st) >= PROCSTAT_PPID ? st.ppid : -1;

			/* the process may be gone: its segment still says who its parent was */
			pid = up > 0 ? up : ppid;
			ppid = 0;
		}
	}
	return false;
}

static struct seg_view *find(struct shm_source *s, ino_t ino)
{
	for (struct seg_view *v = s->vbucket[seg_seen__ino_hash(ino, VIEW_BUCKETS)]; v; v = v->hnext)
		if (v->ino == ino)
			return v;
	return NULL;
}

static void view_unchain(struct shm_source *s, struct seg_view *v)
{
	struct seg_view **pp = &s->vbucket[seg_seen__ino_hash(v->ino, VIEW_BUCKETS)];

	while (*pp && *pp != v)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = v->hnext;
}

static int uid_segments(struct shm_source *s, uid_t uid)
{
	int n = 0;

	for (struct seg_view *v = s->segs; v; v = v->next)
		n += v->uid == uid;
	return n;
}

/* the service label a segment gets: its own when verified (or --service), its owner's uid when not; past
 * --max-services a new name folds into __overflow__ */
static void pick_service(struct shm_source *s, struct seg_view *v, const char *claimed)
{
	char want[65];

	if (!v->verified)
		snprintf(want, sizeof(want), "uid:%u", (unsigned)v->uid);
	else
		snprintf(want, sizeof(want), "%s", s->opts.service ? s->opts.service : claimed);
	for (int i = 0; i < s->nservices; i++) {
		if (!strcmp(s->services[i], want)) {
			memcpy(v->service, want, sizeof(v->service));
			return;
		}
	}
	if (s->nservices < s->opts.max_services) {
		memcpy(s->services[s->nservices++], want, sizeof(want));
		memcpy(v->service, want, sizeof(v->service));
		return;
	}
	snprintf(v->service, sizeof(v->service), "%s", METRICS_OVERFLOW_VALUE);
	count(s, R_SERVICES, 1);
}

struct header_copy {
	const struct obs_segment *map;
	size_t len;
	int rc;
	char err[256];
	struct obs_seg_header h;
};

static void copy_header(void *arg)
{
	struct header_copy *c = arg;

	c->rc = seg_reader__check(c->map, c->len, c->err, sizeof(c->err));
	if (!c->rc)
		memcpy(&c->h, &c->map->h, sizeof(c->h));
	else if (c->len >= sizeof(c->h) && !c->map->h.magic)
		c->rc = -EAGAIN; /* maybe a shim still writing its header */
}

/* look at one new file: read it from now on, or remember why not */
static void examine(struct shm_source *s, const char *name, const struct hist_bounds *b)
{
	struct header_copy hc = { 0 };
	struct seg_view *v = NULL;
	char path[PATH_MAX];
	enum seg_claim claim;
	struct stat st;
	struct timespec now;
	void *m;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->opts.runtime_dir, name);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return; /* gone, or not ours to read (another uid's 0600 file): nothing to say */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (uid_segments(s, st.st_uid) >= s->opts.max_segments_per_uid) {
		/* refused until one of that uid's segments retires (remembered, counted once) */
		seen_add(s, st.st_ino, name, st.st_uid, R_PER_UID);
		close(fd);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if ((size_t)st.st_size != sizeof(struct obs_segment)) {
		close(fd);
		if (!st.st_size && (uint64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000000000ull < YOUNG_NS)
			return; /* the shim may be between creat and ftruncate: look again later */
		elog("warning: ignoring %s: %lld bytes, a segment is %zu", path, (long long)st.st_size,
		     sizeof(struct obs_segment));
		seen_add(s, st.st_ino, name, st.st_uid, R_INVALID);
		return;
	}
	m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		elog("warning: ignoring %s: mmap: %s", path, strerror(errno));
		seen_add(s, st.st_ino, name, st.st_uid, R_INVALID);
		return;
	}
	/* read where it is written: a segment on a disk file system would otherwise be read around at the first
	 * fault (read_ahead_kb of zeroes, up to the whole 8 MiB sparse file, for a header that is one page) */
	madvise(m, st.st_size, MADV_RANDOM);
	hc.map = m;
	hc.len = st.st_size;
	if (!seg_guard__run(m, copy_header, &hc)) {
		hc.rc = -1;
		snprintf(hc.err, sizeof(hc.err), "truncated while read");
	}
	if (hc.rc == -EAGAIN && (uint64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000000000ull < YOUNG_NS) {
		munmap(m, st.st_size);
		return;
	}
	if (hc.rc) {
		elog("warning: ignoring %s: %s", path,
		     hc.rc == -EAGAIN ? "not an obsprobe segment (no magic)" : hc.err);
		seen_add(s, st.st_ino, name, st.st_uid, R_INVALID);
		munmap(m, st.st_size);
		return;
	}
	if (!wanted(s, hc.h.pid, hc.h.ppid)) {
		seen_add(s, st.st_ino, name, st.st_uid, R_FOREIGN);
		munmap(m, st.st_size);
		return;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		munmap(m, st.st_size);
		return;
	}
	claim = seg_trust__check(hc.h.pid, hc.h.start_time, &st);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->s = m;
	v->ino = st.st_ino;
	v->uid = st.st_uid;
	v->claim = claim;
	v->verified = claim == SEG_CLAIM_VERIFIED;
	v->pid = v->verified ? hc.h.pid : 0;
	v->claimed_pid = hc.h.pid;
	v->start_time = hc.h.start_time;
	memcpy(v->comm, v->verified ? hc.h.comm : "", v->verified ? 16 : 1);
	hc.h.service[sizeof(hc.h.service) - 1] = '\0';
	pick_service(s, v, hc.h.service);
	if (!v->verified) {
		count(s, R_UNVERIFIED, 1);
		vlog("segment %s claims pid %d, which %s: read as unverified, service \"%s\"", path, hc.h.pid,
		     claim == SEG_CLAIM_GONE ? "is gone" : "does not map it (or is another uid)", v->service);
	}
	v->bounds_ok = hc.h.nbounds == (uint32_t)b->n && !memcmp(hc.h.bounds_ns, b->ns, b->n * sizeof(uint64_t));
	if (!v->bounds_ok)
		elog("warning: %s's shim buckets differ from the collector's (set the same --buckets; OBSPROBE_BUCKETS): its histograms are skipped",
		     name);
	if (v->verified) {
		container__read(v->pid, &v->ctr);
		v->mctr = metrics__ctr(s->opts.metrics, v->ctr.id, v->ctr.pod_uid);
		vlog("reading shim segment of pid %d (%s)", v->pid, v->comm);
	}
	v->next = s->segs;
	s->segs = v;
	v->hnext = s->vbucket[seg_seen__ino_hash(v->ino, VIEW_BUCKETS)];
	s->vbucket[seg_seen__ino_hash(v->ino, VIEW_BUCKETS)] = v;
}

static void discover(struct shm_source *s, const struct hist_bounds *b)
{
	DIR *d = opendir(s->opts.runtime_dir);
	struct dirent *de;
	int budget = DISCOVER_BUDGET;

	if (!d)
		return;
	while (budget > 0 && (de = readdir(d))) {
		struct seg_seen_file *e;

		if (strncmp(de->d_name, "obsprobe-", 9) || !strstr(de->d_name, ".seg") || find(s, de->d_ino))
			continue;
		e = seg_seen__find(&s->seen, de->d_ino, de->d_name);
		if (e && e->reason == R_CLAIMS_LIVE) {
			/* read already; once the process it named is gone it is a dead process's file: it goes */
			budget--;
			if (!seg_trust__alive(e->pid, e->start_time)) {
				char path[PATH_MAX];

				snprintf(path, sizeof(path), "%s/%s", s->opts.runtime_dir, de->d_name);
				unlink(path);
				e->reason = R_DONE;
			}
			continue;
		}
		if (e && (e->reason != R_PER_UID || uid_segments(s, e->uid) >= s->opts.max_segments_per_uid))
			continue;
		budget--;
		examine(s, de->d_name, b);
	}
	closedir(d);
}

void shm_source__drain(struct shm_source *s)
{
	for (struct seg_view *v = s->segs; v; v = v->next)
		shm_fold__ring(&s->fold, v);
}

/* its last counts are in: connections it never closed are gone too; the file goes unless it stays someone's */
static void retire(struct shm_source *s, struct seg_view *v, bool unlink_it)
{
	shm_fold__close(&s->fold, v);
	if (v->faulted) {
		elog("warning: %s/%s shrank while it was read: retired", s->opts.runtime_dir, v->name);
		seen_add(s, v->ino, v->name, v->uid, R_TRUNCATED);
	} else if (unlink_it) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", s->opts.runtime_dir, v->name);
		if (unlink(path))
			seen_add(s, v->ino, v->name, v->uid, R_DONE);
	} else {
		struct seg_seen_file *e;

		seen_add(s, v->ino, v->name, v->uid, R_CLAIMS_LIVE);
		e = seg_seen__find(&s->seen, v->ino, v->name);
		e->pid = v->claimed_pid;
		e->start_time = v->start_time;
	}
}

void shm_source__poll(struct shm_source *s)
{
	const struct hist_bounds *b = metrics__bounds(s->opts.metrics);
	struct seg_view **pp = &s->segs;

	discover(s, b);
	while (*pp) {
		struct seg_view *v = *pp;
		bool live;

		count(s, R_EXPIRED, shm_fold__segment(&s->fold, v, b));
		/* an unverified segment is read once: nothing ties a writer to it */
		live = !v->faulted && v->verified && seg_trust__alive(v->pid, v->start_time);
		if (!live) {
			/* a dead process's file goes; one that claimed a live process stays (it may be a
			 * non-dumpable process's own segment, or an exec'd image's) and is remembered instead */
			retire(s, v, v->claim != SEG_CLAIM_FALSE || !seg_trust__alive(v->claimed_pid, v->start_time));
			vlog("segment %s retired (pid %d, %s)", v->name, v->claimed_pid, v->service);
			*pp = v->next;
			view_unchain(s, v);
			view_free(v);
			continue;
		}
		pp = &v->next;
	}
}

int shm_source__ntargets(struct shm_source *s)
{
	int n = 0;

	for (struct seg_view *v = s->segs; v; v = v->next)
		n += v->verified;
	return n;
}

bool shm_source__reads_pid(struct shm_source *s, pid_t pid)
{
	for (struct seg_view *v = s->segs; v; v = v->next)
		if (v->verified && v->pid == pid)
			return true;
	return false;
}

void shm_source__targets_json(struct shm_source *s, cJSON *arr)
{
	for (struct seg_view *v = s->segs; v; v = v->next) {
		cJSON *o;
		uint64_t lost = 0;

		if (!v->verified)
			continue;
		o = cJSON_CreateObject();
		for (int r = 0; r < SEG_LOST__COUNT; r++)
			lost += v->last.lost[r];
		cJSON_AddNumberToObject(o, "pid", v->pid);
		cJSON_AddStringToObject(o, "comm", v->comm);
		cJSON_AddStringToObject(o, "service", v->service);
		cJSON_AddStringToObject(o, "mode", "preload");
		cJSON_AddStringToObject(o, "probes", "libc I/O wrappers");
		cJSON_AddNumberToObject(o, "events", (double)v->events);
		cJSON_AddNumberToObject(o, "drops", (double)lost);
		cJSON_AddStringToObject(o, "container_id", v->ctr.id);
		cJSON_AddStringToObject(o, "k8s_pod_uid", v->ctr.pod_uid);
		cJSON_AddStringToObject(o, "cgroup", v->ctr.cgroup);
		cJSON_AddItemToArray(arr, o);
	}
}

void shm_source__totals(struct shm_source *s, uint64_t *events, uint64_t *lost)
{
	*events = s->fold.events;
	*lost = s->fold.lost;
}

void shm_source__rejected(struct shm_source *s, uint64_t *refused, uint64_t *unverified)
{
	*refused = 0;
	for (int r = 0; r < R__COUNT; r++)
		if (r != R_UNVERIFIED)
			*refused += s->rejected[r];
	*unverified = s->rejected[R_UNVERIFIED];
}

/* ---- the session's view (source.h) ---- */

static void *source_new(const struct source_opts *o, char *err, size_t errlen)
{
	struct shm_source_opts so = { .runtime_dir = o->runtime_dir,
				      .metrics = o->metrics,
				      .service = o->service_override,
				      .follow_children = o->follow_children,
				      .pids = o->pids,
				      .npids = o->npids,
				      .traces = o->traces,
				      .logs = o->logs,
				      .max_services = o->max_services,
				      .max_segments_per_uid = o->max_segments_per_uid,
				      .max_rejected = o->max_rejected };
	struct shm_source *s = shm_source__new(&so);

	if (!s) {
		snprintf(err, errlen, "cannot read shim segments in %s: %s (set OBSPROBE_RUNTIME_DIR)", o->runtime_dir,
			 strerror(errno));
		return NULL;
	}
	shm_source__poll(s); /* what is there already */
	return s;
}

static void source_free(void *s)
{
	shm_source__free(s);
}

static void source_drain(void *s)
{
	shm_source__drain(s);
}

static void source_poll(void *s)
{
	shm_source__poll(s);
}

static void source_totals(void *s, struct source_totals *out)
{
	shm_source__totals(s, &out->events, &out->lost);
}

static void source_targets(void *s, cJSON *array)
{
	shm_source__targets_json(s, array);
}

static bool source_reads_pid(void *s, pid_t pid)
{
	return shm_source__reads_pid(s, pid);
}

static int source_ntargets(void *s)
{
	return shm_source__ntargets(s);
}

static void source_needs(void *s, struct privs_need *need)
{
	(void)s;
	need->segments = true;
}

static void source_report(void *s)
{
	uint64_t refused, unverified;

	shm_source__rejected(s, &refused, &unverified);
	if (refused || unverified)
		elog("WARNING: shim segments: %llu refused, cut short, folded or expired unread; %llu read as unverified (service \"uid:N\") (obsprobe_segments_rejected_total)",
		     (unsigned long long)refused, (unsigned long long)unverified);
}

const struct source_ops segments_source = {
	.name = "shim segments",
	.path = SOURCE_PRELOAD,
	.new = source_new,
	.free = source_free,
	.drain = source_drain,
	.poll = source_poll,
	.totals = source_totals,
	.targets = source_targets,
	.reads_pid = source_reads_pid,
	.ntargets = source_ntargets,
	.needs = source_needs,
	.report = source_report,
};
