/* h2cap.c -- the shim's HTTP/2: framed events into OBS_REC_H2 records, traceparent injection around a write */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "abi/segment.h"
#include "preload/h2cap.h"
#include "preload/netutil.h"
#include "preload/serving.h"
#include "lib/proto/proto.h"
#include "lib/randid.h"
#include "preload/seg.h"
#include "preload/vmread.h"

static uint64_t next_id; /* connection ids: one counter per process, never reused in its segment */

static void rec_head(struct obs_seg_h2 *r, struct h2cap_conn *h, const struct obs_addr *local,
		     const struct obs_addr *peer)
{
	memset(r, 0, OBS_SEG_H2_HEAD);
	r->conn = h->id;
	r->pid = netutil__pid();
	r->tid = netutil__tid();
	r->local = *local;
	r->peer = *peer;
}

static bool put(struct obs_seg_h2 *r, uint32_t nblock)
{
	return seg__put(OBS_REC_H2, r, OBS_SEG_H2_HEAD + nblock);
}

/* a record could not go out: the collector must learn its HPACK state of @h is gone (LOST both ways) */
static bool owe_lost(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer, uint64_t now_ns)
{
	struct obs_seg_h2 r;

	for (int dir = 0; dir < 2; dir++) {
		uint8_t bit = (uint8_t)(1u << dir);

		/* taken before it is sent: a thread of the other direction owing it too sends it not again */
		if (!(__atomic_fetch_and(&h->lost, (uint8_t)~bit, __ATOMIC_ACQ_REL) & bit))
			continue;
		rec_head(&r, h, local, peer);
		r.ev.type = H2_EV_LOST;
		r.ev.dir = (uint8_t)dir;
		r.ev.ts_ns = now_ns;
		if (!put(&r, 0)) {
			__atomic_fetch_or(&h->lost, bit, __ATOMIC_ACQ_REL); /* still owed */
			return false;
		}
	}
	return true;
}

/* the held records into the segment, in order (@all: whatever they wait for) */
static void release_held(struct h2cap_conn *h, bool all)
{
	int i = 0;

	if (!h->nheld || (!all && __atomic_load_n(&h->out_top, __ATOMIC_SEQ_CST) < h->held_need))
		return;
	for (; i < h->nheld; i++)
		if (!__atomic_load_n(&h->dead, __ATOMIC_ACQUIRE) && !put(&h->held[i], h->held_len[i])) {
			__atomic_fetch_or(&h->lost, 3, __ATOMIC_ACQ_REL);
			__atomic_store_n(&h->dead, 1, __ATOMIC_RELEASE);
		}
	h->nheld = 0;
	h->held_need = 0;
	__atomic_store_n(&h->held_any, 0, __ATOMIC_SEQ_CST);
}

bool h2cap__settle(struct h2cap_conn *h)
{
	release_held(h, false);
	return h->nheld;
}

/* @r (@nblock bytes of block) into the segment, or held: an answer read before its request was recorded */
static bool put_or_hold(struct h2cap_conn *h, const struct obs_seg_h2 *r, uint32_t nblock)
{
	const struct h2_ev *ev = &r->ev;

	if (ev->dir == PROTO_OUT) {
		if (!put((struct obs_seg_h2 *)r, nblock))
			return false;
		if (ev->type == H2_EV_LOST) /* its requests will not come: nothing waits for them */
			__atomic_store_n(&h->out_top, ~0u, __ATOMIC_SEQ_CST);
		else if (ev->type == H2_EV_HEADERS && !(ev->flags & (H2_EVF_MORE | H2_EVF_PUSH)) &&
			 ev->stream > __atomic_load_n(&h->out_top, __ATOMIC_RELAXED))
			__atomic_store_n(&h->out_top, ev->stream, __ATOMIC_SEQ_CST);
		return true;
	}
	release_held(h, false);
	/* a client's, or one whose preface is not recorded yet (a server's SETTINGS and answer may be read before
	 * the write of the preface and the request is recorded) */
	if (!h->nheld && !(__atomic_load_n(&h->role, __ATOMIC_RELAXED) != 2 && ev->type == H2_EV_HEADERS &&
			   !(ev->flags & H2_EVF_PUSH) && (ev->stream & 1) &&
			   ev->stream > __atomic_load_n(&h->out_top, __ATOMIC_SEQ_CST)))
		return put((struct obs_seg_h2 *)r, nblock);
	if (h->nheld == H2CAP_HELD) { /* too many: out as they are (its request may come after them) */
		release_held(h, true);
		return put((struct obs_seg_h2 *)r, nblock);
	}
	memcpy(&h->held[h->nheld], r, OBS_SEG_H2_HEAD + nblock);
	h->held_len[h->nheld++] = nblock;
	if (ev->type == H2_EV_HEADERS && (ev->stream & 1) && ev->stream > h->held_need)
		h->held_need = ev->stream;
	__atomic_store_n(&h->held_any, 1, __ATOMIC_SEQ_CST);
	return true;
}

void h2cap__open(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer, uint64_t now_ns)
{
	if (h->id)
		h2cap__close(h, local, peer, now_ns);
	memset(h, 0, offsetof(struct h2cap_conn, held)); /* (the held records: only as many as nheld says) */
	inject_h2__track_init(&h->out);
}

void h2cap__claim(struct h2cap_conn *h)
{
	if (!h->id)
		h->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
}

void h2cap__close(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer, uint64_t now_ns)
{
	struct obs_seg_h2 r;

	if (!h->id)
		return;
	release_held(h, true);
	rec_head(&r, h, local, peer);
	r.ev.type = OBS_SEG_H2_CLOSE;
	r.ev.ts_ns = now_ns;
	put(&r, 0); /* ring full: counted; the collector's bound evicts the session in time */
	h->id = 0;
	h->dead = h->lost = 0;
}

void h2cap__event(struct h2cap_conn *h, const struct obs_addr *local, const struct obs_addr *peer,
		  const struct h2_ev *ev, const void *block)
{
	const uint8_t *b = block;
	uint32_t left = ev->type == H2_EV_HEADERS && b ? ev->len : 0;
	struct obs_seg_h2 r;
	bool ours;

	h2cap__claim(h); /* (set already once the directions are fed apart) */
	if (__atomic_load_n(&h->dead, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&h->lost, __ATOMIC_ACQUIRE))
			owe_lost(h, local, peer, ev->ts_ns);
		return;
	}
	if (ev->type == H2_EV_PREFACE)
		__atomic_store_n(&h->role, ev->dir == PROTO_OUT ? 1 : 2, __ATOMIC_RELAXED);
	rec_head(&r, h, local, peer);
	r.ev = *ev;
	ours = ev->type == H2_EV_HEADERS && ev->dir == PROTO_OUT;
	if (ours && h->inj_pending && ev->stream == h->inj_stream) {
		memcpy(r.trace_id, h->inj_trace_id, 16);
		memcpy(r.parent_id, h->inj_parent_id, 8);
		memcpy(r.span_id, h->inj_span_id, 8);
		r.sampled = h->inj_sampled;
		if (!(ev->flags & H2_EVF_MORE))
			h->inj_pending = 0;
	} else if (ours && netcap_serving.active) {
		memcpy(r.trace_id, netcap_serving.trace_id, 16);
		memcpy(r.parent_id, netcap_serving.span_id, 8);
		r.sampled = netcap__serving_sampled();
	}
	do { /* a block piece longer than a record: several, MORE on all but the last */
		uint32_t n = left < OBS_SEG_H2_BLOCK ? left : OBS_SEG_H2_BLOCK;

		r.ev.len = ev->type == H2_EV_HEADERS ? n : ev->len;
		r.ev.flags = ev->flags;
		if (left > n)
			r.ev.flags = (uint8_t)((ev->flags & ~H2_EVF_END_STREAM) | H2_EVF_MORE);
		if (n)
			memcpy(r.block, b, n);
		if (!put_or_hold(h, &r, n)) {
			__atomic_fetch_or(&h->lost, 3, __ATOMIC_ACQ_REL);
			__atomic_store_n(&h->dead, 1, __ATOMIC_RELEASE);
			return;
		}
		b += n;
		left -= n;
	} while (left);
}

/* ---- injection ---- */

struct h2cap_buf {
	int used;
	struct inject_h2_plan plan;
	uint8_t copy[INJH2_COPY_MAX];
	uint8_t trace_id[16], parent_id[8], sampled;
	struct h2cap_conn *h;
};

static struct h2cap_buf *bufs; /* H2CAP_BUFS, mapped at first use */
static __thread struct h2cap_buf *held;

static struct h2cap_buf *buf_get(void)
{
	if (!bufs) {
		void *p = mmap(NULL, H2CAP_BUFS * sizeof(*bufs), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		struct h2cap_buf *none = NULL;

		if (p == MAP_FAILED)
			return NULL;
		if (!__atomic_compare_exchange_n(&bufs, &none, p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(p, H2CAP_BUFS * sizeof(*bufs));
	}
	for (int i = 0; i < H2CAP_BUFS; i++) {
		int zero = 0;

		if (__atomic_compare_exchange_n(&bufs[i].used, &zero, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return &bufs[i];
	}
	return NULL;
}

void h2cap__inject_drop(void)
{
	if (held)
		__atomic_store_n(&held->used, 0, __ATOMIC_RELEASE);
	held = NULL;
}

bool h2cap__inject_plan(struct h2cap_conn *h, int fd, const struct iovec *mine, int iovcnt, const uint8_t trace_id[16],
			const uint8_t span_id[8], bool sampled, struct inject_plan *out)
{
	static const enum obs_seg_inject counted[] = {
		[INJH2_CONTINUATION] = SEG_INJ_H2_CONTINUATION,
		[INJH2_TOO_BIG] = SEG_INJ_H2_TOO_BIG,
		[INJH2_NOT_WHOLE] = SEG_INJ_H2_NOT_WHOLE,
	};
	struct iovec rem[INJECT_IOV_MAX];
	struct h2cap_buf *b;
	enum injh2_result res;
	uint8_t our_span[8];
	size_t want = 0;
	int nrem = 0;
	long got;

	if (__atomic_load_n(&h->out_missed, __ATOMIC_RELAXED))
		h->out.state = INJH2_DEAD;
	if (!inject_h2__proven(&h->out) || h->out.own_tp || h->out.head_have ||
	    __atomic_load_n(&h->dead, __ATOMIC_RELAXED))
		return false;
	if (!(b = buf_get())) {
		seg__count_inject(SEG_INJ_NO_SLOT);
		return false;
	}
	for (int i = 0; i < iovcnt && want < sizeof(b->copy); i++) {
		size_t k = mine[i].iov_len < sizeof(b->copy) - want ? mine[i].iov_len : sizeof(b->copy) - want;

		if (!k)
			continue;
		rem[nrem].iov_base = mine[i].iov_base;
		rem[nrem++].iov_len = k;
		want += k;
	}
	got = want ? vmread__gather(b->copy, want, rem, nrem) : 0;
	if (got <= 0)
		goto no;
	randid__fill(our_span, 8);
	res = inject_h2__plan(&b->plan, &h->out, mine, iovcnt, b->copy, (size_t)got, trace_id, our_span, sampled);
	if (res != INJH2_OK) {
		if (res < sizeof(counted) / sizeof(counted[0]) && res >= INJH2_CONTINUATION)
			seg__count_inject(counted[res]);
		goto no;
	}
	if (!netutil__room_for(fd, b->plan.at + b->plan.flen)) {
		seg__count_inject(SEG_INJ_NO_ROOM); /* the program's bytes go out as they are */
		goto no;
	}
	memcpy(out->iov, b->plan.iov, b->plan.iovcnt * sizeof(b->plan.iov[0]));
	out->iovcnt = b->plan.iovcnt;
	out->line = b->plan.at;
	out->need = b->plan.at + b->plan.flen;
	out->hdrlen = b->plan.flen - b->plan.plen;
	memcpy(b->trace_id, trace_id, 16);
	memcpy(b->parent_id, span_id, 8);
	memcpy(h->inj_span_id, our_span, 8);
	b->sampled = sampled;
	b->h = h;
	held = b;
	return true;
no:
	__atomic_store_n(&b->used, 0, __ATOMIC_RELEASE);
	return false;
}

ssize_t h2cap__inject_done(struct h2cap_conn *h, int fd, ssize_t r)
{
	struct h2cap_buf *b = held;
	const struct inject_h2_plan *p;
	size_t sent;
	ssize_t told;
	bool cut;

	if (!b)
		return r;
	p = &b->plan;
	told = inject_h2__count(p, r, &cut, &sent);
	if (cut) {
		/* the kernel took less than it had room for: finish our frame if it takes it now, never waiting;
		 * done, the program's frame is out whole */
		while (sent < p->flen) {
			ssize_t k = syscall(SYS_sendto, fd, p->frame + sent, p->flen - sent,
					    MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);

			if (k <= 0)
				break;
			sent += k;
		}
		seg__count_inject(sent < p->flen ? SEG_INJ_CUT : SEG_INJ_DONE);
		if (sent == p->flen)
			told = (ssize_t)(p->at + p->plen);
	} else if (r > 0 && (size_t)r > p->at) {
		seg__count_inject(SEG_INJ_DONE);
	}
	if (told > 0 && (size_t)told > p->at) {
		memcpy(h->inj_trace_id, b->trace_id, 16);
		memcpy(h->inj_parent_id, b->parent_id, 8);
		h->inj_sampled = b->sampled;
		h->inj_stream = p->stream;
		h->inj_pending = 1;
	}
	h2cap__inject_drop();
	return told;
}

/* ---- inside TLS ---- */

size_t h2cap__tls_plan(struct h2cap_conn *h, const void *buf, size_t n, char *out, size_t cap, bool partial,
		       const uint8_t trace_id[16], const uint8_t span_id[8], bool sampled, struct netcap_tls_inj *meta)
{
	static const enum obs_seg_inject counted[] = {
		[INJH2_CONTINUATION] = SEG_INJ_H2_CONTINUATION,
		[INJH2_TOO_BIG] = SEG_INJ_H2_TOO_BIG,
		[INJH2_NOT_WHOLE] = SEG_INJ_H2_NOT_WHOLE,
	};
	struct iovec one = { (void *)buf, n };
	enum obs_seg_inject refused = SEG_INJ__COUNT;
	const struct inject_h2_plan *p;
	enum injh2_result res;
	struct h2cap_buf *b;
	uint8_t our_span[8];
	size_t total = 0, len, pad;
	const uint8_t *f;

	if (__atomic_load_n(&h->out_missed, __ATOMIC_RELAXED))
		h->out.state = INJH2_DEAD;
	if (!inject_h2__proven(&h->out) || h->out.own_tp || h->out.head_have ||
	    __atomic_load_n(&h->dead, __ATOMIC_RELAXED) || !n)
		return 0;
	if (!(b = buf_get())) {
		seg__count_inject(SEG_INJ_NO_SLOT);
		return 0;
	}
	p = &b->plan;
	if (n > sizeof(b->copy) || !vmread__copy(b->copy, buf, n))
		goto done; /* longer than any stable buffer, or a bad pointer: as it is */
	randid__fill(our_span, 8);
	res = inject_h2__plan(&b->plan, &h->out, &one, 1, b->copy, n, trace_id, our_span, sampled);
	if (res != INJH2_OK) {
		if (res < sizeof(counted) / sizeof(counted[0]) && res >= INJH2_CONTINUATION)
			refused = counted[res];
		goto done;
	}
	if (partial) {
		refused = SEG_INJ_NOT_EXACT;
		goto done;
	}
	if (!out || n > cap || cap - n < p->flen - p->plen) {
		refused = SEG_INJ_NO_SLOT;
		goto done;
	}
	/* the program's bytes with our frame for its own; where the field went, and the length it had */
	memcpy(out, b->copy, p->at);
	memcpy(out + p->at, p->frame, p->flen);
	memcpy(out + p->at + p->flen, b->copy + p->at + p->plen, n - p->at - p->plen);
	f = b->copy + p->at;
	len = p->plen - H2_FRAME_HEAD;
	pad = f[4] & 0x8 ? f[H2_FRAME_HEAD] : 0;
	memset(meta, 0, sizeof(*meta));
	meta->n = n;
	meta->line = p->at + H2_FRAME_HEAD + len - pad;
	meta->hdrlen = p->flen - p->plen;
	memcpy(meta->trace_id, trace_id, 16);
	memcpy(meta->span_id, our_span, 8);
	memcpy(meta->parent_id, span_id, 8);
	meta->sampled = sampled;
	meta->h2 = 1;
	memcpy(meta->h2_len, f, 3);
	meta->h2_at = (uint32_t)p->at;
	meta->h2_stream = p->stream;
	total = n + meta->hdrlen;
done:
	__atomic_store_n(&b->used, 0, __ATOMIC_RELEASE);
	if (refused != SEG_INJ__COUNT)
		seg__count_inject(refused);
	return total;
}

int h2cap__tls_mine(const struct netcap_tls_inj *meta, const char *flat, struct iovec mine[4])
{
	int k = 0;

	if (meta->h2) { /* its frame head with its own length */
		mine[k++] = (struct iovec){ (void *)flat, meta->h2_at };
		mine[k++] = (struct iovec){ (void *)meta->h2_len, 3 };
		mine[k++] = (struct iovec){ (void *)(flat + meta->h2_at + 3), meta->line - meta->h2_at - 3 };
	} else {
		mine[k++] = (struct iovec){ (void *)flat, meta->line };
	}
	mine[k++] = (struct iovec){ (void *)(flat + meta->line + meta->hdrlen), meta->n - meta->line };
	return k;
}

void h2cap__tls_done(struct h2cap_conn *h, const struct netcap_tls_inj *meta)
{
	memcpy(h->inj_trace_id, meta->trace_id, 16);
	memcpy(h->inj_parent_id, meta->parent_id, 8);
	memcpy(h->inj_span_id, meta->span_id, 8);
	h->inj_sampled = meta->sampled;
	h->inj_stream = meta->h2_stream;
	h->inj_pending = 1;
}
