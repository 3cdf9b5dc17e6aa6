/* inject_h2.c -- the shim's pure byte logic for HTTP/2: traceparent put into an outgoing HEADERS frame */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>

#include "lib/tracectx.h"
#include "preload/inject_h2.h"

#define T_DATA 0
#define T_HEADERS 1
#define T_PUSH_PROMISE 5
#define T_CONTINUATION 9
#define F_END_HEADERS 0x4
#define F_PADDED 0x8
#define F_PRIORITY 0x20

static const char name_lit[] = "traceparent";
#define NAME_LEN 11

void inject_h2__track_init(struct inject_h2_track *t)
{
	memset(t, 0, sizeof(*t));
}

static uint32_t be24(const uint8_t *b)
{
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static uint32_t stream_of(const uint8_t *b)
{
	return ((uint32_t)b[5] << 24 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 8 | b[8]) & 0x7fffffffu;
}

/* does @b (@n bytes of a header block) name traceparent, literally or Huffman-coded? */
static bool names_tp(const uint8_t *b, size_t n)
{
	return memmem(b, n, name_lit, NAME_LEN) || memmem(b, n, INJH2_NAME_HUFF, INJH2_NAME_HUFF_LEN);
}

/* header block bytes, in order: the name found across any split (the last INJH2_TAIL bytes are kept) */
static void scan(struct inject_h2_track *t, const uint8_t *b, size_t n)
{
	uint8_t edge[2 * INJH2_TAIL];
	size_t k = n < INJH2_TAIL ? n : INJH2_TAIL, keep;

	memcpy(edge, t->tail, t->ntail);
	memcpy(edge + t->ntail, b, k);
	if (names_tp(edge, t->ntail + k) || names_tp(b, n))
		t->own_tp = 1;
	if (n >= INJH2_TAIL) {
		memcpy(t->tail, b + n - INJH2_TAIL, INJH2_TAIL);
		t->ntail = INJH2_TAIL;
		return;
	}
	keep = t->ntail + n > INJH2_TAIL ? INJH2_TAIL : t->ntail + n;
	memcpy(t->tail, edge + t->ntail + n - keep, keep);
	t->ntail = (uint8_t)keep;
}

/* a whole frame head: what its payload is */
static void frame_head(struct inject_h2_track *t)
{
	uint8_t type = t->head[3], flags = t->head[4];
	uint32_t stream = stream_of(t->head);

	t->left = be24(t->head);
	t->scan = 0;
	if (t->left > INJH2_FRAME_MAX * 1024u) { /* past the 2^24 - 1 any frame has: cannot happen */
		t->state = INJH2_DEAD;
		return;
	}
	if (type == T_HEADERS || type == T_PUSH_PROMISE) {
		if (t->in_block) {
			t->state = INJH2_DEAD; /* a new block inside one: not HTTP/2 we follow */
			return;
		}
		if (type == T_HEADERS && (stream & 1) && stream > t->max_stream)
			t->max_stream = stream;
		t->in_block = !(flags & F_END_HEADERS);
		t->scan = 1;
		t->ntail = 0;
	} else if (type == T_CONTINUATION) {
		if (!t->in_block) {
			t->state = INJH2_DEAD;
			return;
		}
		t->in_block = !(flags & F_END_HEADERS);
		t->scan = 1;
	} else if (t->in_block) {
		t->state = INJH2_DEAD;
	}
}

void inject_h2__track(struct inject_h2_track *t, const uint8_t *buf, size_t len)
{
	if (!buf) {
		if (len)
			t->state = INJH2_DEAD;
		return;
	}
	while (len && t->state != INJH2_DEAD) {
		size_t k;

		if (t->state == INJH2_PREFACE) {
			if (*buf != (uint8_t)H2_PREFACE[t->preface_have]) {
				t->state = INJH2_DEAD;
				return;
			}
			buf++, len--;
			if (++t->preface_have == H2_PREFACE_LEN)
				t->state = INJH2_FRAMES;
			continue;
		}
		if (t->left) {
			k = len < t->left ? len : t->left;
			if (t->scan)
				scan(t, buf, k);
			t->left -= (uint32_t)k;
			buf += k, len -= k;
			continue;
		}
		k = H2_FRAME_HEAD - t->head_have;
		if (k > len)
			k = len;
		memcpy(t->head + t->head_have, buf, k);
		t->head_have += (uint8_t)k;
		buf += k, len -= k;
		if (t->head_have == H2_FRAME_HEAD) {
			t->head_have = 0;
			frame_head(t);
		}
	}
}

/* @iov's bytes [@from, @to) appended to @p->iov */
static void take(struct inject_h2_plan *p, const struct iovec *iov, int iovcnt, size_t from, size_t to)
{
	size_t off = 0;

	for (int i = 0; i < iovcnt && off < to; i++) {
		size_t a = off, b = off + iov[i].iov_len;

		off = b;
		if (b <= from || a >= to)
			continue;
		if (a < from)
			a = from;
		if (b > to)
			b = to;
		p->iov[p->iovcnt].iov_base = (char *)iov[i].iov_base + (a - (off - iov[i].iov_len));
		p->iov[p->iovcnt++].iov_len = b - a;
	}
}

/* our frame: the program's HEADERS frame at @f (@len payload bytes) with the field after its block fragment */
static bool build(struct inject_h2_plan *p, const uint8_t *f, uint32_t len, const uint8_t trace_id[16],
		  const uint8_t span_id[8], bool sampled)
{
	uint8_t flags = f[4], *o = p->frame;
	size_t pre = (flags & F_PADDED ? 1 : 0) + (flags & F_PRIORITY ? 5 : 0), pad = 0, frag;
	uint32_t nlen = len + INJH2_FIELD_LEN;
	char value[64];

	if (flags & F_PADDED) {
		if (len < 1)
			return false;
		pad = f[H2_FRAME_HEAD];
	}
	if (pre + pad > len)
		return false; /* the peer will refuse it: not ours to change */
	frag = len - pad;
	if (tracectx__format_traceparent(value, sizeof(value), trace_id, span_id, sampled) != 55)
		return false;
	o[0] = (uint8_t)(nlen >> 16), o[1] = (uint8_t)(nlen >> 8), o[2] = (uint8_t)nlen;
	memcpy(o + 3, f + 3, H2_FRAME_HEAD - 3);
	o += H2_FRAME_HEAD;
	memcpy(o, f + H2_FRAME_HEAD, frag);
	o += frag;
	*o++ = 0x00; /* literal header field without indexing, new name */
	*o++ = NAME_LEN;
	memcpy(o, name_lit, NAME_LEN);
	o += NAME_LEN;
	*o++ = 55;
	memcpy(o, value, 55);
	o += 55;
	memcpy(o, f + H2_FRAME_HEAD + frag, pad);
	p->flen = H2_FRAME_HEAD + nlen;
	return true;
}

enum injh2_result inject_h2__plan(struct inject_h2_plan *p, const struct inject_h2_track *t, const struct iovec *iov,
				  int iovcnt, const uint8_t *copy, size_t copylen, const uint8_t trace_id[16],
				  const uint8_t span_id[8], bool sampled)
{
	uint32_t max_stream = t->max_stream;
	bool in_block = t->in_block;
	size_t off = t->left, total = 0;

	p->iovcnt = 0;
	if (t->state != INJH2_FRAMES || t->head_have || iovcnt < 1 || iovcnt > INJECT_IOV_MAX - 2)
		return INJH2_NOT_FOLLOWING;
	if (t->own_tp)
		return INJH2_OWN;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return INJH2_NOT_FOLLOWING;
		total += iov[i].iov_len;
	}
	if (copylen > total)
		return INJH2_NOT_FOLLOWING;
	while (off <= copylen && copylen - off >= H2_FRAME_HEAD) {
		const uint8_t *f = copy + off;
		uint32_t len = be24(f), stream = stream_of(f);
		uint8_t type = f[3], flags = f[4];
		bool whole = copylen - off - H2_FRAME_HEAD >= len;

		if (type == T_CONTINUATION && in_block) {
			in_block = !(flags & F_END_HEADERS);
		} else if (in_block) {
			return INJH2_NONE; /* not HTTP/2 the tracker will follow */
		} else if (type == T_HEADERS && (stream & 1) && stream > max_stream) {
			if (whole && names_tp(f + H2_FRAME_HEAD, len))
				return INJH2_OWN;
			if (!(flags & F_END_HEADERS))
				return INJH2_CONTINUATION;
			if (!whole)
				return INJH2_NOT_WHOLE;
			if (len + INJH2_FIELD_LEN > INJH2_FRAME_MAX)
				return INJH2_TOO_BIG;
			if (!build(p, f, len, trace_id, span_id, sampled))
				return INJH2_NONE;
			p->at = off;
			p->plen = H2_FRAME_HEAD + len;
			p->stream = stream;
			take(p, iov, iovcnt, 0, off);
			p->iov[p->iovcnt].iov_base = p->frame;
			p->iov[p->iovcnt++].iov_len = p->flen;
			take(p, iov, iovcnt, off + p->plen, total);
			return INJH2_OK;
		} else if (type == T_HEADERS || type == T_PUSH_PROMISE) {
			if (whole && names_tp(f + H2_FRAME_HEAD, len))
				return INJH2_OWN;
			in_block = !(flags & F_END_HEADERS);
		}
		off += H2_FRAME_HEAD + (size_t)len;
	}
	return INJH2_NONE;
}

ssize_t inject_h2__count(const struct inject_h2_plan *p, ssize_t r, bool *cut, size_t *sent)
{
	*cut = false;
	*sent = 0;
	if (r < 0 || (size_t)r <= p->at)
		return r;
	if ((size_t)r >= p->at + p->flen)
		return r - (ssize_t)(p->flen - p->plen);
	*cut = true;
	*sent = (size_t)r - p->at;
	return (ssize_t)p->at;
}
