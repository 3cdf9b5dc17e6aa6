/* h2_session.c -- one HTTP/2 connection in the collector: framed events (lib/proto/h2.h) through libnghttp2's
 * HPACK inflater, one per direction, into streams, and streams into exchanges (h2_session.h).  The header
 * fields of a block become an exchange's strings in h2_fields.c. */
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "proto/h2_fields.h"
#include "proto/h2_session.h"

#define H2S_STREAMS 128 /* concurrent streams followed per connection; more are counted, not followed */

struct h2_stream {
	uint32_t id;
	bool lost;	    /* a block of it could not be decoded: it makes no exchange */
	bool started;	    /* on_request was said */
	bool end[2];	    /* END_STREAM crossed, by enum proto_dir */
	bool final_headers; /* a final (non-1xx) response head came */
	struct obs_exchange x;
};

struct h2_dir {
	nghttp2_hd_inflater *inf;
	bool lost;	/* HPACK state unknown: no preface seen, framing lost, a block cut or undecodable */
	bool broken;	/* lost for good: its framing was lost (before the preface too) */
	bool cut;	/* the block being assembled is over H2_BLOCK_MAX (or memory ran out) */
	uint8_t *block; /* a block that came in pieces, assembled (grown as needed, up to H2_BLOCK_MAX) */
	size_t blen, bcap;
	bool bopen; /* a block is being assembled (of stream bstream) */
	uint32_t bstream;
};

struct h2_session {
	const struct proto_sink *sink;
	void *ctx;
	struct obs_addr local, peer;
	int req_dir; /* the direction the preface (and so every request) crossed; -1 before it */
	struct h2_dir d[2];
	struct h2_stream *streams[H2S_STREAMS];
	int nstreams;
	struct h2_session_stats st;
};

struct h2_session *h2_session__new(const struct proto_sink *sink, void *ctx, const struct obs_addr *local,
				   const struct obs_addr *peer)
{
	struct h2_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->sink = sink;
	s->ctx = ctx;
	s->local = *local;
	s->peer = *peer;
	s->req_dir = -1;
	for (int i = 0; i < 2; i++) {
		s->d[i].lost = true; /* until the preface says the connection starts here */
		if (nghttp2_hd_inflate_new(&s->d[i].inf)) {
			h2_session__free(s);
			return NULL;
		}
	}
	return s;
}

/* ---- streams ---- */

static struct h2_stream *stream_find(struct h2_session *s, uint32_t id, int *at)
{
	for (int i = 0; i < s->nstreams; i++)
		if (s->streams[i]->id == id) {
			if (at)
				*at = i;
			return s->streams[i];
		}
	return NULL;
}

static struct h2_stream *stream_new(struct h2_session *s, uint32_t id)
{
	struct h2_stream *st;

	if (s->nstreams == H2S_STREAMS) {
		s->st.streams_overflow++;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		s->st.streams_overflow++;
		return NULL;
	}
	st->id = id;
	s->streams[s->nstreams++] = st;
	return st;
}

/* the stream ends: an exchange when it was followed to here, else counted lost */
static void stream_end(struct h2_session *s, struct h2_stream *st, bool incomplete, uint64_t now_ns)
{
	int at = 0;

	stream_find(s, st->id, &at);
	s->streams[at] = s->streams[--s->nstreams];
	if (st->lost && !st->started) {
		s->st.streams_lost++;
	} else if (st->started) {
		/* a request whose answer was lost ends unanswered: nothing of its outcome is guessed (describe()
		 * counts it lost), and the thread that served it is told it ended */
		if (st->lost) {
			st->x.status = 0;
			st->x.code[0] = '\0';
			incomplete = true;
		}
		st->x.end_ns = now_ns;
		st->x.incomplete = incomplete;
		h2_fields__finish(&st->x);
		if (s->sink->on_exchange)
			s->sink->on_exchange(s->ctx, &st->x);
	}
	free(st);
}

/* END_STREAM crossed in @dir: both ways, the exchange is whole */
static void stream_half_end(struct h2_session *s, struct h2_stream *st, int dir, uint64_t now_ns)
{
	st->end[dir] = true;
	if (st->end[0] && st->end[1])
		stream_end(s, st, false, now_ns);
}

/* ---- header blocks ---- */

/* a block on @stream could not be decoded: counted, its stream makes no exchange */
static void block_lost(struct h2_session *s, uint32_t stream)
{
	struct h2_stream *st = stream_find(s, stream, NULL);

	s->st.blocks_lost++;
	if (!st)
		st = stream_new(s, stream); /* kept to count it once, when it ends */
	if (st)
		st->lost = true;
}

/* the whole block through the inflater (always: the dynamic table advances with every block), its fields to
 * @f (NULL: decoded and dropped); false on a decode error */
static bool inflate_block(struct h2_dir *d, const uint8_t *in, size_t left, struct h2_fields *f)
{
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t n = nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, in, left, 1);

		if (n < 0)
			return false;
		if (n) { /* (an empty block may come as NULL) */
			in += n;
			left -= n;
		}
		if ((flags & NGHTTP2_HD_INFLATE_EMIT) && f)
			h2_fields__add(f, (const char *)nv.name, nv.namelen, (const char *)nv.value, nv.valuelen);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			return true;
		}
		if (!n && !left && !(flags & NGHTTP2_HD_INFLATE_EMIT))
			return false; /* nothing more to give it, and it is not done */
	}
}

static void request_head(struct h2_session *s, const struct h2_ev *ev, struct h2_fields *f)
{
	struct h2_stream *st = stream_find(s, ev->stream, NULL);
	struct trace_ctx in;

	if (st) /* request trailers, or a second head: nothing the exchange needs */
		return;
	st = stream_new(s, ev->stream);
	if (!st)
		return;
	st->x.kind = s->req_dir == PROTO_IN ? OBS_X_SERVER : OBS_X_CLIENT;
	st->x.local = s->local;
	st->x.peer = s->peer;
	st->x.stream = ev->stream;
	st->x.start_ns = ev->ts_ns;
	if (s->d[!ev->dir].broken) { /* its answer cannot be followed: counted when it ends */
		st->lost = true;
		return;
	}
	h2_fields__request(f, &st->x, &in);
	st->started = true;
	if (s->sink->on_request)
		s->sink->on_request(s->ctx, &st->x, &in);
}

static void block_done(struct h2_session *s, const struct h2_ev *ev, const uint8_t *in, size_t len)
{
	struct h2_dir *d = &s->d[ev->dir];
	bool request = (int)ev->dir == s->req_dir && !(ev->flags & H2_EVF_PUSH);
	struct h2_stream *st = stream_find(s, ev->stream, NULL);
	struct h2_fields f;

	if (d->lost || d->cut) {
		d->lost = true;
		block_lost(s, ev->stream);
		return;
	}
	h2_fields__init(&f);
	/* a pushed request and blocks of streams not followed are decoded for the table's sake only */
	if (!inflate_block(d, in, len,
			   (request && !st) || (!request && !(ev->flags & H2_EVF_PUSH) && st && !st->lost) ? &f
													   : NULL)) {
		d->lost = true; /* the table is unknown from here */
		block_lost(s, ev->stream);
		return;
	}
	s->st.blocks++;
	if (request)
		request_head(s, ev, &f);
	else if (st && !st->lost)
		st->final_headers |= h2_fields__response(&f, &st->x);
}

/* a piece of a block after the ones before it; false when the block would pass H2_BLOCK_MAX */
static bool assemble(struct h2_dir *d, const void *piece, size_t len)
{
	if (len > H2_BLOCK_MAX - d->blen)
		return false;
	if (d->blen + len > d->bcap) {
		size_t cap = d->bcap ? d->bcap : 1024;
		uint8_t *b;

		while (cap < d->blen + len)
			cap *= 2;
		if (cap > H2_BLOCK_MAX)
			cap = H2_BLOCK_MAX;
		b = realloc(d->block, cap);
		if (!b)
			return false;
		d->block = b;
		d->bcap = cap;
	}
	if (len)
		memcpy(d->block + d->blen, piece, len);
	d->blen += len;
	return true;
}

static void on_headers(struct h2_session *s, const struct h2_ev *ev, const void *block)
{
	struct h2_dir *d = &s->d[ev->dir];
	struct h2_stream *st;

	if (!d->blen && !d->cut && !(ev->flags & H2_EVF_MORE)) {
		block_done(s, ev, block, ev->len); /* in one piece: decoded where it is */
	} else {
		if (!d->cut && !d->lost && !assemble(d, block, ev->len))
			d->cut = true;
		d->bopen = true;
		d->bstream = ev->stream;
		if (ev->flags & H2_EVF_MORE)
			return;
		block_done(s, ev, d->block, d->blen);
	}
	d->blen = 0;
	d->bopen = false;
	d->cut = false;
	if (!(ev->flags & H2_EVF_END_STREAM) || (ev->flags & H2_EVF_PUSH))
		return;
	st = stream_find(s, ev->stream, NULL);
	if (st)
		stream_half_end(s, st, ev->dir, ev->ts_ns);
}

static void on_data(struct h2_session *s, const struct h2_ev *ev)
{
	struct h2_stream *st = stream_find(s, ev->stream, NULL);

	if (!st)
		return;
	if ((int)ev->dir == s->req_dir) {
		st->x.request_bytes += ev->len;
		st->x.request_msgs += ev->value;
	} else {
		st->x.response_bytes += ev->len;
		st->x.response_msgs += ev->value;
	}
	if (ev->flags & H2_EVF_END_STREAM)
		stream_half_end(s, st, ev->dir, ev->ts_ns);
}

/* GOAWAY: streams above the last one the sender (@dir) will process end unanswered */
static void on_goaway(struct h2_session *s, const struct h2_ev *ev)
{
	for (int i = s->nstreams - 1; i >= 0; i--) {
		struct h2_stream *st = s->streams[i];

		/* the last-stream-id covers streams the receiver of GOAWAY opened */
		if (st->id > ev->stream && ((int)ev->dir != s->req_dir) == (st->id & 1))
			stream_end(s, st, true, ev->ts_ns);
	}
}

/* the framing of @dir is lost for good: a block it was assembling is counted, and no stream still open that
 * way can be followed to its end */
static void on_lost(struct h2_session *s, const struct h2_ev *ev)
{
	struct h2_dir *d = &s->d[ev->dir];

	if (d->bopen) /* begun, never finished: counted as the finished ones of a lost direction are */
		block_lost(s, d->bstream);
	d->broken = d->lost = true;
	d->blen = 0;
	d->bopen = false;
	for (int i = 0; i < s->nstreams; i++)
		if (!s->streams[i]->end[ev->dir])
			s->streams[i]->lost = true;
}

void h2_session__event(struct h2_session *s, const struct h2_ev *ev, const void *block)
{
	struct h2_stream *st;

	if (!s || ev->dir > PROTO_OUT)
		return;
	switch (ev->type) {
	case H2_EV_PREFACE:
		/* the connection starts here: both tables are empty and known */
		s->req_dir = ev->dir;
		for (int i = 0; i < 2; i++) {
			s->d[i].lost = s->d[i].broken;
			s->d[i].blen = 0;
			s->d[i].cut = false;
		}
		break;
	case H2_EV_HEADERS:
		on_headers(s, ev, block);
		break;
	case H2_EV_DATA:
		on_data(s, ev);
		break;
	case H2_EV_RST:
		st = stream_find(s, ev->stream, NULL);
		if (st)
			stream_end(s, st, true, ev->ts_ns); /* (a stream ended both ways is gone already) */
		break;
	case H2_EV_GOAWAY:
		on_goaway(s, ev);
		break;
	case H2_EV_SETTINGS:
		/* a table size the sender of SETTINGS allows bounds the other side's encoder: the blocks that
		 * come the other way (told even before the preface: a server may send its SETTINGS first) */
		if (nghttp2_hd_inflate_change_table_size(s->d[!ev->dir].inf, ev->value) != 0)
			s->d[!ev->dir].broken = s->d[!ev->dir].lost = true;
		break;
	case H2_EV_LOST:
		on_lost(s, ev);
		break;
	default:
		break;
	}
}

void h2_session__close(struct h2_session *s, uint64_t now_ns)
{
	if (!s)
		return;
	while (s->nstreams)
		stream_end(s, s->streams[s->nstreams - 1], true, now_ns);
}

void h2_session__stats(const struct h2_session *s, struct h2_session_stats *out)
{
	*out = s->st;
}

void h2_session__free(struct h2_session *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nstreams; i++)
		free(s->streams[i]);
	for (int i = 0; i < 2; i++) {
		if (s->d[i].inf)
			nghttp2_hd_inflate_del(s->d[i].inf);
		free(s->d[i].block);
	}
	free(s);
}
