/* seg_reader.c -- reads a mapped shim segment into private memory, trusting no byte of it (no I/O: fuzzed) */
#include <string.h>

#include "lib/proto/registry.h"
#include "source/seg_reader.h"

int seg_reader__check(const void *map, size_t len, char *err, size_t errlen)
{
	return obs_seg_validate(map, len, err, errlen);
}

static void sum_hist(struct hist *now, const struct obs_seg_hist *h, int nslots)
{
	/* count first: a reader may see buckets ahead of count, never behind */
	now->count += __atomic_load_n(&h->count, __ATOMIC_ACQUIRE);
	now->sum_ns += __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED);
	for (int k = 0; k < nslots; k++)
		now->buckets[k] += __atomic_load_n(&h->buckets[k], __ATOMIC_RELAXED);
}

void seg_reader__counters(const struct obs_segment *s, int nslots, struct seg_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (nslots < 1 || nslots > OBS_HIST_SLOTS)
		nslots = OBS_HIST_SLOTS;
	for (int st = 0; st < OBS_SEG_STRIPES; st++) {
		for (int slot = 0; slot < SEG_NSLOTS; slot++)
			sum_hist(&out->sys[slot], &s->hist[st][slot], nslots);
		for (int d = 0; d < SEG_NDIRS; d++) {
			for (int p = 0; p < SEG_NPROTOS; p++) {
				sum_hist(&out->io[d][p], &s->sock[st][d][p].io, nslots);
				out->bytes[d][p] += __atomic_load_n(&s->sock[st][d][p].bytes, __ATOMIC_RELAXED);
			}
		}
	}
	for (int i = 0; i < OBS_SEG_ERRS; i++) {
		out->err_key[i] = __atomic_load_n(&s->errs[i].key, __ATOMIC_ACQUIRE);
		out->err_count[i] = __atomic_load_n(&s->errs[i].count, __ATOMIC_RELAXED);
	}
	for (int r = 0; r < SEG_LOST__COUNT; r++)
		out->lost[r] = __atomic_load_n(&s->h.lost[r], __ATOMIC_RELAXED);
	for (int c = 0; c < SEG_NCONNS; c++) {
		out->opened[c] = __atomic_load_n(&s->h.conns_opened[c], __ATOMIC_RELAXED);
		out->closed[c] = __atomic_load_n(&s->h.conns_closed[c], __ATOMIC_RELAXED);
	}
	out->expired = __atomic_load_n(&s->h.expired_segments, __ATOMIC_RELAXED);
	for (int o = 0; o < SEG_INJ__COUNT; o++)
		out->inject[o] = __atomic_load_n(&s->h.inject[o], __ATOMIC_RELAXED);
	out->work_ns = 0;
	for (int st = 0; st < OBS_SEG_STRIPES; st++)
		out->work_ns += __atomic_load_n(&s->h.work_ns[st], __ATOMIC_RELAXED);
}

int seg_reader__drain(struct obs_segment *s, struct obs_seg_rec *out, int max)
{
	int n = 0;

	while (n < max && obs_seg_ring_get(s, &out[n]))
		n++;
	return n;
}

bool seg_reader__exchange(const struct obs_seg_rec *r, struct obs_exchange *x)
{
	if (r->type != OBS_REC_EXCHANGE || r->len != sizeof(*x))
		return false;
	memcpy(x, r->data, sizeof(*x));
	if ((x->kind != OBS_X_SERVER && x->kind != OBS_X_CLIENT) || !proto__by_id(x->proto))
		return false;
	/* strings from shared memory: terminate them before use */
	x->op[sizeof(x->op) - 1] = x->target[sizeof(x->target) - 1] = '\0';
	x->host[sizeof(x->host) - 1] = x->agent[sizeof(x->agent) - 1] = '\0';
	x->tracestate[sizeof(x->tracestate) - 1] = '\0';
	return true;
}

bool seg_reader__log(const struct obs_seg_rec *r, struct obs_seg_log *lg, size_t *n)
{
	size_t len = r->len <= sizeof(*lg) ? r->len : sizeof(*lg), room;

	if (r->type != OBS_REC_LOG || len < offsetof(struct obs_seg_log, text))
		return false;
	memset(lg, 0, sizeof(*lg));
	memcpy(lg, r->data, len);
	if (lg->stream != 1 && lg->stream != 2)
		return false;
	room = len - offsetof(struct obs_seg_log, text);
	*n = lg->len <= room ? lg->len : 0;
	return true;
}
