/* h2_frame.c -- HTTP/2 framing (RFC 9113 4, 6): a connection's bytes, each direction on its own, into struct
 * h2_ev (h2.h).  It keeps frame heads, a few fixed fields and per-stream gRPC message boundaries, never
 * payloads: header block bytes are handed on as they arrive, pointing into the caller's buffer. */
#include <string.h>

#include "lib/proto/h2_frame.h"

enum {
	T_DATA = 0,
	T_HEADERS = 1,
	T_PRIORITY = 2,
	T_RST = 3,
	T_SETTINGS = 4,
	T_PUSH = 5,
	T_PING = 6,
	T_GOAWAY = 7,
	T_WINDOW = 8,
	T_CONT = 9,
};

#define F_END_STREAM 0x1
#define F_ACK 0x1
#define F_END_HEADERS 0x4
#define F_PADDED 0x8
#define F_PRIORITY 0x20

#define NO_SLOT H2_FRAME_STREAMS
#define SETTINGS_HEADER_TABLE_SIZE 1

/* one feed call: where events go, and the header block bytes of the current frame seen in it */
struct out {
	struct h2_frame *f;
	uint8_t dir;
	uint64_t now_ns;
	h2_emit_fn emit;
	void *ctx;
	const uint8_t *piece;
	uint32_t piece_len;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void emit(struct out *o, uint8_t type, uint8_t flags, uint32_t stream, uint32_t len, uint32_t value,
		 const void *block)
{
	struct h2_ev ev = { .type = type,
			    .dir = o->dir,
			    .flags = flags,
			    .stream = stream,
			    .len = len,
			    .value = value,
			    .ts_ns = o->now_ns };

	o->emit(o->ctx, &ev, block);
}

/* framing is lost in this direction: said once, the rest ignored; @error: the bytes were not HTTP/2 */
static void lose(struct out *o, struct h2_frame_dir *d, bool error)
{
	if (d->lost)
		return;
	d->lost = 1;
	if (error)
		__atomic_store_n(&d->errors, d->errors + 1, __ATOMIC_RELAXED);
	emit(o, H2_EV_LOST, 0, 0, 0, 0, NULL);
}

static bool has_padding(uint8_t type)
{
	return type == T_DATA || type == T_HEADERS || type == T_PUSH;
}

static bool is_block(uint8_t type)
{
	return type == T_HEADERS || type == T_PUSH || type == T_CONT;
}

/* ---- gRPC message boundaries per stream --------------------------------------------------------- */

static int slot_of(const struct h2_frame_dir *d, uint32_t stream)
{
	for (int i = 0; i < H2_FRAME_STREAMS; i++)
		if (d->track[i].stream == stream)
			return i;
	return NO_SLOT;
}

/* a slot for @stream, fresh: a free one, else the one of the lowest (oldest) stream */
static int slot_new(struct h2_frame_dir *d, uint32_t stream)
{
	int victim = 0;

	for (int i = 0; i < H2_FRAME_STREAMS; i++) {
		if (!d->track[i].stream) {
			victim = i;
			break;
		}
		if (d->track[i].stream < d->track[victim].stream)
			victim = i;
	}
	memset(&d->track[victim], 0, sizeof(d->track[victim]));
	d->track[victim].stream = stream;
	return victim;
}

static void slot_free(struct h2_frame_dir *d, uint32_t stream)
{
	int i = slot_of(d, stream);

	if (i != NO_SLOT)
		memset(&d->track[i], 0, sizeof(d->track[i]));
}

/* @n DATA payload bytes at @p (NULL: a gap of @n) of the stream tracked by @t */
static void track(struct h2_frame_dir *d, struct h2_msg_track *t, const uint8_t *p, uint32_t n)
{
	while (n && !t->lost) {
		if (t->left) {
			uint32_t k = n < t->left ? n : t->left;

			t->left -= k;
			n -= k;
			if (p)
				p += k;
			continue;
		}
		if (!p) { /* a prefix (or part of one) in the gap: boundaries are gone for this stream */
			t->lost = 1;
			break;
		}
		if (!t->have)
			d->msgs++;
		t->prefix[t->have++] = *p++;
		n--;
		if (t->have == 5) {
			t->left = be32(t->prefix + 1);
			t->have = 0;
		}
	}
	if (t->lost)
		d->unsure = 1;
}

/* the other direction reset @stream: @d frees its slot at its next feed (never touched from here: the two
 * directions may be fed at once) */
static void rst_post(struct h2_frame_dir *d, uint32_t stream)
{
	uint32_t head = __atomic_load_n(&d->rst_head, __ATOMIC_RELAXED);

	if (head - __atomic_load_n(&d->rst_tail, __ATOMIC_ACQUIRE) >= H2_FRAME_RSTS)
		return; /* full: the slot stays until a new stream takes it (the oldest goes first) */
	__atomic_store_n(&d->rst[head % H2_FRAME_RSTS], stream, __ATOMIC_RELAXED);
	__atomic_store_n(&d->rst_head, head + 1, __ATOMIC_RELEASE);
}

/* resets the other direction posted: their slots here are freed */
static void rst_take(struct h2_frame_dir *d)
{
	uint32_t tail = __atomic_load_n(&d->rst_tail, __ATOMIC_RELAXED);
	uint32_t head = __atomic_load_n(&d->rst_head, __ATOMIC_ACQUIRE);

	if (tail == head)
		return;
	for (; tail != head; tail++)
		slot_free(d, __atomic_load_n(&d->rst[tail % H2_FRAME_RSTS], __ATOMIC_RELAXED));
	__atomic_store_n(&d->rst_tail, tail, __ATOMIC_RELEASE);
}

/* ---- frames ------------------------------------------------------------------------------------- */

static void finish_frame(struct out *o, struct h2_frame_dir *d);

/* the 9 bytes of a frame head are in: check it against what may come now */
static void start_frame(struct out *o, struct h2_frame_dir *d)
{
	const uint8_t *h = d->head;
	uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	uint8_t type = h[3], flags = h[4];
	uint32_t stream = be32(h + 5) & 0x7fffffffu;
	bool ok = true;

	d->len = len;
	d->type = type;
	d->flags = flags;
	d->stream = stream;
	d->pos = 0;
	d->pad_len = 0;
	d->acc = d->code = 0;
	d->ent_have = d->has_table = 0;
	d->unsure = 0;
	d->msgs = 0;
	d->slot = NO_SLOT;
	d->fixed = has_padding(type) && (flags & F_PADDED) ? 1 : 0;
	if (d->block_stream && (type != T_CONT || stream != d->block_stream))
		ok = false; /* a header block is open: only its CONTINUATIONs may come */
	switch (type) {
	case T_DATA:
		ok = ok && stream;
		break;
	case T_HEADERS:
		d->fixed += flags & F_PRIORITY ? 5 : 0;
		ok = ok && stream;
		break;
	case T_PRIORITY:
		ok = ok && stream && len == 5;
		break;
	case T_RST:
		d->fixed = 4;
		ok = ok && stream && len == 4;
		break;
	case T_SETTINGS:
		ok = ok && !stream && (flags & F_ACK ? len == 0 : len % 6 == 0);
		break;
	case T_PUSH:
		d->fixed += 4;
		ok = ok && stream;
		break;
	case T_PING:
		ok = ok && !stream && len == 8;
		break;
	case T_GOAWAY:
		d->fixed = 8;
		ok = ok && !stream && len >= 8;
		break;
	case T_WINDOW:
		ok = ok && len == 4;
		break;
	case T_CONT:
		ok = ok && d->block_stream;
		break;
	default: /* unknown types are skipped by length (RFC 9113 4.1) */
		break;
	}
	if (!ok || len < d->fixed) {
		lose(o, d, true);
		return;
	}
	if (type == T_HEADERS || type == T_PUSH) {
		d->block_stream = stream;
		d->block_end_stream = type == T_HEADERS && (flags & F_END_STREAM);
		d->block_push = type == T_PUSH;
		d->promised = 0;
		/* a request or a response begins: its DATA's message boundaries are followed from here; trailers
		 * (HEADERS after DATA) leave the stream's slot as it is */
		if (type == T_HEADERS && !d->block_end_stream && slot_of(d, stream) == NO_SLOT)
			slot_new(d, stream);
	}
	if (type == T_DATA) {
		d->slot = (uint8_t)slot_of(d, stream);
		d->unsure = d->slot == NO_SLOT; /* its HEADERS were not seen (or forgotten): messages are unknown */
	}
	d->head_have = H2_FRAME_HEAD;
	if (!len)
		finish_frame(o, d);
}

/* the block piece collected in this call (@last: the block ends with it) */
static void give_piece(struct out *o, struct h2_frame_dir *d, bool last)
{
	uint8_t flags = last ? (d->block_end_stream ? H2_EVF_END_STREAM : 0) : H2_EVF_MORE;

	if (d->block_push)
		flags |= H2_EVF_PUSH;
	if (o->piece_len || last)
		emit(o, H2_EV_HEADERS, flags, d->block_stream, o->piece_len, d->block_push ? d->promised : 0,
		     o->piece_len ? o->piece : NULL);
	o->piece = NULL;
	o->piece_len = 0;
}

static void finish_frame(struct out *o, struct h2_frame_dir *d)
{
	uint8_t flags = 0;

	d->head_have = 0;
	if (!d->sure)
		__atomic_store_n(&d->sure, 1, __ATOMIC_RELAXED);
	switch (d->type) {
	case T_DATA:
		if (d->slot != NO_SLOT && d->track[d->slot].lost)
			d->unsure = 1;
		flags = (d->flags & F_END_STREAM ? H2_EVF_END_STREAM : 0) | (d->unsure ? H2_EVF_MSGS_UNSURE : 0);
		emit(o, H2_EV_DATA, flags, d->stream, d->len - d->fixed - d->pad_len, d->msgs, NULL);
		if (d->flags & F_END_STREAM)
			slot_free(d, d->stream);
		break;
	case T_HEADERS:
	case T_PUSH:
	case T_CONT:
		give_piece(o, d, d->flags & F_END_HEADERS);
		if (d->flags & F_END_HEADERS) {
			if (d->block_end_stream)
				slot_free(d, d->block_stream);
			d->block_stream = 0;
		}
		break;
	case T_RST:
		emit(o, H2_EV_RST, 0, d->stream, 0, d->acc, NULL);
		slot_free(d, d->stream);
		rst_post(&o->f->d[!o->dir], d->stream);
		break;
	case T_GOAWAY:
		emit(o, H2_EV_GOAWAY, 0, d->acc & 0x7fffffffu, 0, d->code, NULL);
		break;
	case T_SETTINGS:
		if (d->has_table)
			emit(o, H2_EV_SETTINGS, 0, 0, 0, d->table_size, NULL);
		break;
	}
}

/* one byte (@b < 0: in a gap) of the fields before the body */
static void fixed_byte(struct out *o, struct h2_frame_dir *d, int b)
{
	uint32_t off = d->pos;

	if (has_padding(d->type) && (d->flags & F_PADDED)) {
		if (!off) {
			if (b < 0 && d->type == T_DATA) {
				d->unsure = 1; /* the padding is taken for data */
			} else if (b < 0) {
				lose(o, d, false); /* where the block ends is unknown */
			} else {
				d->pad_len = (uint8_t)b;
				if ((uint32_t)d->fixed + d->pad_len > d->len)
					lose(o, d, true);
			}
			return;
		}
		off--;
	}
	if (d->type == T_HEADERS)
		return; /* priority fields: not needed */
	if (b < 0) {
		lose(o, d, false);
		return;
	}
	if (d->type == T_GOAWAY && off >= 4)
		d->code = d->code << 8 | (uint32_t)b;
	else
		d->acc = d->acc << 8 | (uint32_t)b; /* promised stream, RST error code, GOAWAY last stream */
	if (d->type == T_PUSH)
		d->promised = d->acc & 0x7fffffffu; /* whole when the block's bytes begin */
}

static void settings_bytes(struct h2_frame_dir *d, const uint8_t *p, uint32_t n)
{
	for (; n; n--) {
		d->ent[d->ent_have++] = *p++;
		if (d->ent_have < 6)
			continue;
		d->ent_have = 0;
		if (((uint32_t)d->ent[0] << 8 | d->ent[1]) == SETTINGS_HEADER_TABLE_SIZE) {
			d->has_table = 1;
			d->table_size = be32(d->ent + 2);
		}
	}
}

/* @n body bytes at @p (NULL: a gap) */
static void body(struct out *o, struct h2_frame_dir *d, const uint8_t *p, uint32_t n)
{
	switch (d->type) {
	case T_DATA:
		if (d->slot != NO_SLOT)
			track(d, &d->track[d->slot], p, n);
		break;
	case T_HEADERS:
	case T_PUSH:
	case T_CONT:
		if (!p) {
			lose(o, d, false);
		} else {
			if (!o->piece_len)
				o->piece = p;
			o->piece_len += n;
		}
		break;
	case T_SETTINGS:
		if (!p)
			lose(o, d, false);
		else
			settings_bytes(d, p, n);
		break;
	default: /* PRIORITY, PING, WINDOW_UPDATE, GOAWAY debug data, unknown types */
		break;
	}
}

/* @n bytes (@n <= what the frame has left) of the current frame's payload at @p (NULL: a gap) */
static void payload(struct out *o, struct h2_frame_dir *d, const uint8_t *p, uint32_t n)
{
	while (n && !d->lost) {
		uint32_t end, k;

		if (d->pos < d->fixed) {
			fixed_byte(o, d, p ? *p++ : -1);
			d->pos++;
			n--;
			continue;
		}
		end = d->len - d->pad_len;
		if (d->pos < end) {
			k = n < end - d->pos ? n : end - d->pos;
			body(o, d, p, k);
		} else {
			k = n; /* padding */
		}
		d->pos += k;
		n -= k;
		if (p)
			p += k;
	}
}

/* the next bytes of @d at @p (NULL: a gap of @n): how many were used (at least one) */
static uint64_t step(struct out *o, struct h2_frame_dir *d, const uint8_t *p, uint64_t n)
{
	uint32_t k;

	if (d->preface_left) {
		uint32_t at = H2_PREFACE_LEN - d->preface_left;

		k = n < d->preface_left ? (uint32_t)n : d->preface_left;
		if (!p || memcmp(p, &H2_PREFACE[at], k)) {
			lose(o, d, p != NULL);
			return n;
		}
		d->preface_left -= k;
		if (!d->preface_left) {
			__atomic_store_n(&d->sure, 1, __ATOMIC_RELAXED);
			emit(o, H2_EV_PREFACE, 0, 0, 0, 0, NULL);
		}
		return k;
	}
	if (d->head_have < H2_FRAME_HEAD) {
		if (!p) {
			lose(o, d, false);
			return n;
		}
		k = H2_FRAME_HEAD - d->head_have;
		k = n < k ? (uint32_t)n : k;
		memcpy(d->head + d->head_have, p, k);
		d->head_have += k;
		if (d->head_have == H2_FRAME_HEAD)
			start_frame(o, d);
		return k;
	}
	k = d->len - d->pos;
	k = n < k ? (uint32_t)n : k;
	payload(o, d, p, k);
	if (d->lost)
		return n;
	if (d->pos == d->len)
		finish_frame(o, d);
	else if (is_block(d->type))
		give_piece(o, d, false);
	return k;
}

void h2_frame__feed(struct h2_frame *f, enum proto_dir dir, const void *buf, size_t len, uint64_t total,
		    uint64_t now_ns, h2_emit_fn emit_fn, void *ctx)
{
	struct out o = { .f = f, .dir = dir & 1, .now_ns = now_ns, .emit = emit_fn, .ctx = ctx };
	struct h2_frame_dir *d = &f->d[dir & 1];
	const uint8_t *p = buf;
	uint64_t gap;

	if (!buf)
		len = 0;
	rst_take(d);
	gap = total > len ? total - len : 0;
	while (len && !d->lost) {
		uint64_t k = step(&o, d, p, len);

		p += k;
		len -= k;
	}
	while (gap && !d->lost)
		gap -= step(&o, d, NULL, gap);
}

void h2_frame__init(struct h2_frame *f, bool preface, enum proto_dir preface_dir)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 2; i++)
		f->d[i].slot = NO_SLOT;
	if (preface)
		f->d[preface_dir & 1].preface_left = H2_PREFACE_LEN;
}

/* a frame head a connection seen mid-way could start with: the server's SETTINGS or a client's HEADERS */
static bool plausible_head(const uint8_t *h)
{
	uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	uint32_t stream = be32(h + 5);

	switch (h[3]) {
	case T_SETTINGS:
		if (stream || h[4] & ~F_ACK)
			return false;
		return h[4] & F_ACK ? len == 0 : len % 6 == 0 && len <= 6 * 16;
	case T_HEADERS:
		/* an odd stream below 2^24 (PostgreSQL's startup message would be one with 3 << 24), only defined
		 * flags, a length a default peer could send */
		return (stream & 0xff000001u) == 1 &&
		       !(h[4] & ~(F_END_STREAM | F_END_HEADERS | F_PADDED | F_PRIORITY)) && len && len <= 16384;
	default:
		return false;
	}
}

enum proto_guess h2_frame__detect(const void *buf, size_t len, enum proto_dir dir)
{
	const uint8_t *p = buf;
	size_t k = len < H2_PREFACE_LEN ? len : H2_PREFACE_LEN;

	(void)dir; /* a traced server reads the preface, a traced client writes it */
	if (!len)
		return PROTO_MAYBE;
	if (!memcmp(p, H2_PREFACE, k))
		return k == H2_PREFACE_LEN ? PROTO_YES : PROTO_MAYBE;
	if (len >= H2_FRAME_HEAD && plausible_head(p))
		return PROTO_MAYBE;
	return PROTO_NO;
}
