/* sysfold.c -- the syscall programs' per-CPU counters and histograms folded into metrics.
 *
 * Every poll and every /metrics scrape folds, so what a scrape or the exit summary shows is exact. A per-CPU
 * array is read whole with one BPF_MAP_LOOKUP_BATCH (one syscall for its 512 syscall histograms instead of
 * 512), and a key whose count did not move costs a sum of counts only. Kernels without batch lookups on
 * arrays get one lookup per key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "abi/syscalls.h"
#include "signal/names.h"
#include "source/bpfutil.h"
#include "source/sysfold.h"

struct err_last {
	uint32_t key;
	bool used;
	uint64_t count;
};

/* a per-CPU array read whole: value of key k on cpu c at vals + (k * ncpus + c) * vsz */
struct pcpu_read {
	int fd;
	uint32_t n;
	size_t vsz; /* the value's size, rounded up to 8 */
	int ncpus;
	uint32_t *keys;
	uint8_t *vals;
	bool no_batch; /* the kernel refused a batch: one lookup per key from then on */
};

struct sysfold {
	struct sysfold_opts o;
	struct pcpu_read hists, socks, conns, stats;
	struct percpu_buf ubuf;
	struct hist last[SC_MAX_NR];
	struct err_last errs[SC_MAX_ERRKEYS * 2]; /* open addressing, last count per (nr, errno) */
	uint64_t last_stats[SC_STAT__COUNT];
	struct hist last_io[SC_NDIRS * SC_NPROTOS];
	uint64_t last_bytes[SC_NDIRS * SC_NPROTOS];
	struct sc_conns last_conns[SC_NCONNS];
};

static int pcpu_init(struct pcpu_read *r, int fd, uint32_t n, size_t value_size)
{
	r->fd = fd;
	r->n = n;
	r->vsz = (value_size + 7) & ~(size_t)7;
	r->ncpus = libbpf_num_possible_cpus();
	if (fd < 0)
		return 0;
	if (r->ncpus <= 0)
		return -1;
	r->keys = calloc(n, sizeof(*r->keys));
	r->vals = calloc((size_t)n * r->ncpus, r->vsz);
	return r->keys && r->vals ? 0 : -1;
}

static void pcpu_free(struct pcpu_read *r)
{
	free(r->keys);
	free(r->vals);
}

static const void *pcpu_at(const struct pcpu_read *r, uint32_t k, int cpu)
{
	return r->vals + ((size_t)k * r->ncpus + cpu) * r->vsz;
}

/* every key's per-CPU values into r->vals; 0, or -1 when the map could not be read */
static int pcpu_read(struct pcpu_read *r)
{
	uint32_t out = 0, count = r->n;
	int e;

	if (r->fd < 0)
		return -1;
	if (!r->no_batch) {
		e = bpf_map_lookup_batch(r->fd, NULL, &out, r->keys, r->vals, &count, NULL);
		if ((!e || errno == ENOENT) && count == r->n) {
			for (uint32_t i = 0; i < r->n; i++) /* an array gives its keys in order: check */
				if (r->keys[i] != i)
					goto per_key;
			return 0;
		}
		if (e && errno != ENOENT)
			r->no_batch = true;
	}
per_key:
	for (uint32_t k = 0; k < r->n; k++)
		if (bpf_map_lookup_elem(r->fd, &k, r->vals + (size_t)k * r->ncpus * r->vsz))
			memset(r->vals + (size_t)k * r->ncpus * r->vsz, 0, (size_t)r->ncpus * r->vsz);
	return 0;
}

/* the sum over CPUs of key @k's struct obs_hist (at @off in the value): its count first, the rest only when
 * the count moved since @last */
static bool hist_sum(const struct pcpu_read *r, uint32_t k, size_t off, const struct hist *last, struct hist *out,
		     int nslots)
{
	uint64_t count = 0;

	for (int c = 0; c < r->ncpus; c++)
		count += ((const struct obs_hist *)((const uint8_t *)pcpu_at(r, k, c) + off))->count;
	if (count == last->count)
		return false;
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < r->ncpus; c++) {
		const struct obs_hist *h = (const void *)((const uint8_t *)pcpu_at(r, k, c) + off);

		out->count += h->count;
		out->sum_ns += h->sum_ns;
		for (int i = 0; i < nslots && i < OBS_HIST_SLOTS; i++)
			out->buckets[i] += h->buckets[i];
	}
	return true;
}

struct sysfold *sysfold__new(const struct sysfold_opts *opts)
{
	struct sysfold *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->o = *opts;
	if (pcpu_init(&f->hists, opts->hists, SC_MAX_NR, sizeof(struct obs_hist)) ||
	    pcpu_init(&f->socks, opts->socks, SC_NDIRS * SC_NPROTOS, sizeof(struct sc_sock)) ||
	    pcpu_init(&f->conns, opts->conn_stats, SC_NCONNS, sizeof(struct sc_conns)) ||
	    pcpu_init(&f->stats, opts->stats, SC_STAT__COUNT, sizeof(uint64_t)) ||
	    percpu_buf__init(&f->ubuf, sizeof(uint64_t))) {
		sysfold__free(f);
		return NULL;
	}
	return f;
}

void sysfold__free(struct sysfold *f)
{
	if (!f)
		return;
	pcpu_free(&f->hists);
	pcpu_free(&f->socks);
	pcpu_free(&f->conns);
	pcpu_free(&f->stats);
	percpu_buf__free(&f->ubuf);
	free(f);
}

static struct err_last *err_slot(struct sysfold *f, uint32_t key)
{
	size_t n = sizeof(f->errs) / sizeof(f->errs[0]);
	size_t i = (key * 2654435761u) % n;

	for (size_t probe = 0; probe < n; probe++, i = (i + 1) % n) {
		if (!f->errs[i].used) {
			f->errs[i].used = true;
			f->errs[i].key = key;
			return &f->errs[i];
		}
		if (f->errs[i].key == key)
			return &f->errs[i];
	}
	return NULL;
}

static void fold_hists(struct sysfold *f, bool report, uint64_t *events)
{
	char nbuf[32];

	if (pcpu_read(&f->hists))
		return;
	for (uint32_t nr = 0; nr < SC_MAX_NR; nr++) {
		struct hist now, d;

		if (!hist_sum(&f->hists, nr, 0, &f->last[nr], &now, f->o.nslots))
			continue;
		hist_delta(&f->last[nr], &now, &d, f->o.nslots);
		*events += d.count;
		if (!report)
			continue;
		{
			const char *v[] = { f->o.service, syscall_name(nr, nbuf, sizeof(nbuf)) };

			series__add_hist(metrics__series(f->o.metrics, FAM_SYSCALL_DURATION, v), d.buckets, d.count,
					 d.sum_ns);
		}
		series__add(metrics__series(f->o.metrics, FAM_EVENTS, (const char *[]){ "ebpf" }), d.count);
	}
}

/* a hash of a few (syscall, errno) keys: walked key by key */
static void fold_errors(struct sysfold *f, bool report)
{
	uint32_t key, next, *prev = NULL;
	char nbuf[32], ebuf[32];

	while (!bpf_map_get_next_key(f->o.errors, prev, &next)) {
		struct err_last *slot;
		uint64_t now;

		key = next;
		prev = &key;
		if (percpu_u64_sum(f->o.errors, &key, &f->ubuf, &now) || !(slot = err_slot(f, key)) ||
		    now == slot->count)
			continue;
		if (report) {
			const char *v[] = { f->o.service, syscall_name(key >> 16, nbuf, sizeof(nbuf)),
					    errno_name(key & 0xffff, ebuf, sizeof(ebuf)) };

			series__add(metrics__series(f->o.metrics, FAM_SYSCALL_ERRORS, v), now - slot->count);
		}
		slot->count = now;
	}
}

static const char *const dir_name[SC_NDIRS] = { "receive", "transmit" };
static const char *const proto_name[SC_NPROTOS] = { "tcp", "udp", "unix" };
static const char *const conn_name[SC_NCONNS] = { "inbound", "outbound" };

static void fold_net(struct sysfold *f, bool report)
{
	if (!pcpu_read(&f->socks))
		for (uint32_t k = 0; k < SC_NDIRS * SC_NPROTOS; k++) {
			struct hist now, d;
			uint64_t bytes = 0;

			if (!hist_sum(&f->socks, k, offsetof(struct sc_sock, io), &f->last_io[k], &now, f->o.nslots))
				continue;
			for (int c = 0; c < f->socks.ncpus; c++)
				bytes += ((const struct sc_sock *)pcpu_at(&f->socks, k, c))->bytes;
			hist_delta(&f->last_io[k], &now, &d, f->o.nslots);
			if (report) {
				const char *lv[] = { f->o.service, dir_name[k / SC_NPROTOS],
						     proto_name[k % SC_NPROTOS] };

				series__add(metrics__series(f->o.metrics, FAM_SOCKET_BYTES, lv),
					    bytes - f->last_bytes[k]);
				series__add_hist(metrics__series(f->o.metrics, FAM_SOCKET_IO_DURATION, lv), d.buckets,
						 d.count, d.sum_ns);
			}
			f->last_bytes[k] = bytes;
		}
	if (pcpu_read(&f->conns))
		return;
	for (uint32_t k = 0; k < SC_NCONNS; k++) {
		struct sc_conns now = { 0 }, *last = &f->last_conns[k];

		for (int c = 0; c < f->conns.ncpus; c++) {
			const struct sc_conns *v = pcpu_at(&f->conns, k, c);

			now.opened += v->opened;
			now.closed += v->closed;
		}
		if (now.opened == last->opened && now.closed == last->closed)
			continue;
		if (report) {
			const char *lv[] = { f->o.service, conn_name[k] };

			series__add(metrics__series(f->o.metrics, FAM_TCP_CONNECTIONS, lv), now.opened - last->opened);
			series__gauge_add(metrics__series(f->o.metrics, FAM_TCP_ACTIVE, lv),
					  (double)(now.opened - last->opened) - (double)(now.closed - last->closed));
		}
		*last = now;
	}
}

static const char *const stat_reason[SC_STAT__COUNT] = {
	[SC_STAT_RINGBUF_FULL] = "ringbuf_full",	   [SC_STAT_ERRMAP_FULL] = "errors_map_full",
	[SC_STAT_TGID_MAP_FULL] = "process_map_full",	   [SC_STAT_CONN_MAP_FULL] = "connection_map_full",
	[SC_STAT_DATA_RINGBUF_FULL] = "data_ringbuf_full", [SC_STAT_TLS_NO_SOCKET] = "tls_no_socket",
};

/* losses are counted even in the baseline: nothing lost goes unsaid */
static void fold_stats(struct sysfold *f, uint64_t *lost)
{
	if (pcpu_read(&f->stats))
		return;
	for (uint32_t i = 0; i < SC_STAT__COUNT; i++) {
		uint64_t now = 0;

		for (int c = 0; c < f->stats.ncpus; c++)
			now += *(const uint64_t *)pcpu_at(&f->stats, i, c);
		if (now == f->last_stats[i])
			continue;
		*lost += now - f->last_stats[i];
		series__add(metrics__series(f->o.metrics, FAM_EVENTS_LOST, (const char *[]){ "ebpf", stat_reason[i] }),
			    now - f->last_stats[i]);
		f->last_stats[i] = now;
	}
}

void sysfold__fold(struct sysfold *f, bool report, uint64_t *events, uint64_t *lost)
{
	if (f->o.hists >= 0)
		fold_hists(f, report, events);
	if (f->o.errors >= 0)
		fold_errors(f, report);
	if (f->o.socks >= 0)
		fold_net(f, report);
	fold_stats(f, lost);
}
