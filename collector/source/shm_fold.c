/* shm_fold.c -- folds a read segment's counters and ring records into the registry, traces and logs */
#include <stdint.h>

#include "lib/clock.h"

#include "signal/names.h"
#include "source/seg_guard.h"
#include "source/shm_fold.h"

static const char *const lost_reason[SEG_LOST__COUNT] = {
	[SEG_LOST_ERRS_FULL] = "errors_table_full",	 [SEG_LOST_RING_FULL] = "ring_full",
	[SEG_LOST_CONNS_FULL] = "http_connections_full", [SEG_LOST_BUSY] = "http_connection_busy",
	[SEG_LOST_CREATING] = "segment_being_made",	 [SEG_LOST_TLS_NO_SOCKET] = "tls_no_socket",
	[SEG_LOST_TLS_UNRESOLVED] = "tls_unresolved",
};

static const char *const dir_name[SEG_NDIRS] = { "receive", "transmit" };
static const char *const proto_name[SEG_NPROTOS] = { "tcp", "udp", "unix" };
static const char *const conn_name[SEG_NCONNS] = { "inbound", "outbound" };

static void add_sockets(struct shm_fold *f, struct seg_view *v, const struct seg_counters *now, int nslots)
{
	struct metrics *m = f->metrics;

	for (int d = 0; d < SEG_NDIRS; d++) {
		for (int p = 0; p < SEG_NPROTOS; p++) {
			const char *lv[] = { v->service, dir_name[d], proto_name[p] };
			struct hist delta;

			if (now->io[d][p].count == v->last.io[d][p].count)
				continue;
			hist_delta(&v->last.io[d][p], &now->io[d][p], &delta, nslots);
			series__add(metrics__series(m, FAM_SOCKET_BYTES, lv), now->bytes[d][p] - v->last.bytes[d][p]);
			v->last.bytes[d][p] = now->bytes[d][p];
			if (v->bounds_ok)
				series__add_hist(metrics__series(m, FAM_SOCKET_IO_DURATION, lv), delta.buckets,
						 delta.count, delta.sum_ns);
		}
	}
	for (int c = 0; c < SEG_NCONNS; c++) {
		const char *lv[] = { v->service, conn_name[c] };
		uint64_t opened = now->opened[c], closed = now->closed[c];

		if (opened == v->last.opened[c] && closed == v->last.closed[c])
			continue;
		series__add(metrics__series(m, FAM_TCP_CONNECTIONS, lv), opened - v->last.opened[c]);
		series__gauge_add(metrics__series(m, FAM_TCP_ACTIVE, lv),
				  (double)(opened - v->last.opened[c]) - (double)(closed - v->last.closed[c]));
		v->last.opened[c] = opened;
		v->last.closed[c] = closed;
	}
}

struct drain_pass {
	struct obs_segment *map;
	struct obs_seg_rec *out;
	int max, n;
};

static void drain_some(void *arg)
{
	struct drain_pass *d = arg;

	d->n = seg_reader__drain(d->map, d->out, d->max);
}

void shm_fold__ring(struct shm_fold *f, struct seg_view *v)
{
	struct span_resource res = { 0 };
	int budget = OBS_SEG_RING;

	span__copy_str(res.service_name, sizeof(res.service_name), v->service);
	span__copy_str(res.executable_name, sizeof(res.executable_name), v->comm);
	res.pid = v->pid;
	res.ctr = v->ctr;
	res.mctr = v->mctr;
	while (budget > 0 && !v->faulted) {
		struct drain_pass d = { .map = v->s,
					.out = f->batch,
					.max = budget < SHM_FOLD_BATCH ? budget : SHM_FOLD_BATCH };

		if (!seg_guard__run(v->s, drain_some, &d)) {
			v->faulted = true;
			break;
		}
		budget -= d.max;
		for (int i = 0; i < d.n; i++) {
			struct obs_exchange x;
			struct obs_seg_log lg;
			size_t n;

			if (f->traces && seg_reader__exchange(&f->batch[i], &x)) {
				traces__end_exchange(f->traces, &x, &res);
			} else if (f->logs && seg_reader__log(&f->batch[i], &lg, &n)) {
				bool ctx = !span__id_is_zero(lg.trace_id, 16);

				logs__write(f->logs, v->pid, v->pid ? lg.tid : 0, lg.stream, lg.time_ns, lg.text, n,
					    lg.cut != 2, ctx ? lg.trace_id : NULL, ctx ? lg.span_id : NULL, &res);
			} else if (f->h2 && f->batch[i].type == OBS_REC_H2) {
				if (!v->h2_id)
					v->h2_id = ++f->h2_ids;
				shm_h2__record(f->h2, v->h2_id, &f->batch[i], &res);
			}
		}
		if (d.n < d.max)
			break;
	}
}

struct counters_pass {
	const struct obs_segment *map;
	int nslots;
	struct seg_counters *out;
};

static void counters_some(void *arg)
{
	struct counters_pass *c = arg;

	seg_reader__counters(c->map, c->nslots, c->out);
}

uint64_t shm_fold__segment(struct shm_fold *f, struct seg_view *v, const struct hist_bounds *b)
{
	struct metrics *m = f->metrics;
	struct seg_counters *now = &f->now;
	struct counters_pass cp = { .map = v->s, .nslots = b->n + 1, .out = now };
	char nbuf[32], ebuf[32];
	int nslots = b->n + 1;
	uint64_t expired = 0;

	if (!seg_guard__run(v->s, counters_some, &cp)) {
		v->faulted = true;
		return 0;
	}
	for (int slot = 0; slot < SEG_NSLOTS; slot++) {
		struct hist d;

		if (now->sys[slot].count == v->last.sys[slot].count)
			continue;
		hist_delta(&v->last.sys[slot], &now->sys[slot], &d, nslots);
		v->events += d.count;
		f->events += d.count;
		series__add(metrics__series(m, FAM_EVENTS, (const char *[]){ "preload" }), d.count);
		if (v->bounds_ok) {
			const char *lv[] = { v->service, syscall_name(obs_seg_slot_nr[slot], nbuf, sizeof(nbuf)) };

			series__add_hist(metrics__series(m, FAM_SYSCALL_DURATION, lv), d.buckets, d.count, d.sum_ns);
		}
	}
	for (int i = 0; i < OBS_SEG_ERRS; i++) {
		uint32_t key = now->err_key[i];
		uint64_t c = now->err_count[i];

		if (!key || c == v->last.err_count[i])
			continue;
		{
			const char *lv[] = { v->service, syscall_name(key >> 16, nbuf, sizeof(nbuf)),
					     errno_name(key & 0xffff, ebuf, sizeof(ebuf)) };

			series__add(metrics__series(m, FAM_SYSCALL_ERRORS, lv), c - v->last.err_count[i]);
		}
		v->last.err_count[i] = c;
	}
	for (int r = 0; r < SEG_LOST__COUNT; r++) {
		uint64_t c = now->lost[r];

		if (c == v->last.lost[r])
			continue;
		series__add(metrics__series(m, FAM_EVENTS_LOST, (const char *[]){ "preload", lost_reason[r] }),
			    c - v->last.lost[r]);
		f->lost += c - v->last.lost[r];
		v->last.lost[r] = c;
	}
	if (now->expired != v->last.expired) {
		/* segments of exited processes the shims removed unread (OBSPROBE_SEGMENT_TTL, _MAX_MB) */
		expired = now->expired - v->last.expired;
		v->last.expired = now->expired;
	}
	for (int o = 0; o < SEG_INJ__COUNT; o++) {
		static const char *const inject_outcome[SEG_INJ__COUNT] = {
			"injected",	   "no_room",	       "cut",
			"no_slot",	   "not_exact",	       "failed",
			"h2_continuation", "h2_frame_too_big", "h2_frame_not_whole"
		};

		if (now->inject[o] == v->last.inject[o])
			continue;
		series__add(metrics__series(m, FAM_CONTEXT_INJECTIONS,
					    (const char *[]){ v->service, inject_outcome[o] }),
			    now->inject[o] - v->last.inject[o]);
		v->last.inject[o] = now->inject[o];
	}
	if (now->work_ns > v->last.work_ns) /* the shim's own CPU, beside the BPF programs' */
		series__add(metrics__series(m, FAM_PROBE_CPU, (const char *[]){ "shim" }),
			    now->work_ns - v->last.work_ns);
	v->last.work_ns = now->work_ns;
	add_sockets(f, v, now, nslots);
	shm_fold__ring(f, v);
	return expired;
}

void shm_fold__close(struct shm_fold *f, struct seg_view *v)
{
	if (f->h2 && v->h2_id) /* its HTTP/2 connections end with it */
		shm_h2__forget(f->h2, v->h2_id, mono_ns());
	for (int c = 0; c < SEG_NCONNS; c++) {
		const char *lv[] = { v->service, conn_name[c] };

		if (v->last.opened[c] != v->last.closed[c])
			series__gauge_add(metrics__series(f->metrics, FAM_TCP_ACTIVE, lv),
					  -((double)v->last.opened[c] - (double)v->last.closed[c]));
	}
}
