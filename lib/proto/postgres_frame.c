/* postgres_frame.c -- PostgreSQL protocol v3 framing, both directions: headers checked, bodies gathered or
 * skipped by length, gaps, the hunt for ReadyForQuery after a lost backend framing; whole messages go to
 * postgres_wire.c */
#include <stddef.h>
#include <string.h>

#include "lib/proto/postgres_wire.h"

#define PG_STARTUP_MAX 10000u  /* the server refuses longer startup packets */
#define PG_MSG_MAX 0x40000000u /* 1 GiB: no message is longer */
#define PG_BIND_NAMES 130u     /* a Bind's portal and statement names: never its values */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- framing ---- */

static bool valid_type(bool fe, uint8_t t, uint32_t len)
{
	if (!t || len < 4 || len > PG_MSG_MAX)
		return false;
	if (fe) {
		if (strchr("SHXc", t))
			return len == 4; /* Sync, Flush, Terminate, CopyDone */
		return strchr("QPBDECdfpF", t);
	}
	switch (t) {
	case 'Z':
		return len == 5;
	case 'K':
		return len == 12;
	case '1':
	case '2':
	case '3':
	case 'n':
	case 'I':
	case 's':
	case 'c':
		return len == 4;
	default:
		return strchr("RSTDCENtGHWdAvV", t);
	}
}

static bool keep_body(bool fe, uint8_t t)
{
	return fe ? !t || (t && strchr("QPBE", t)) : (t == 'C' || t == 'E');
}

static void lose(struct pg_conn *c, bool fe)
{
	struct pg_stream *s = &c->s[fe ? c->fe : !c->fe];

	memset(fe ? c->febody : c->bebody, 0, s->got);
	s->got = 0;
	if (fe) {
		pg_wire__lose_frontend(c);
		return;
	}
	c->errors++;
	c->hunting = 1;
	c->match = 0;
	pg_wire__end_all(c);
}

/* the header in s->hdr is complete: false when it cannot be one */
static bool header(struct pg_conn *c, struct pg_stream *s, bool fe, bool untyped_msg)
{
	uint32_t len;

	(void)c;
	if (untyped_msg) {
		len = be32(s->hdr);
		if (len < 8 || len > PG_STARTUP_MAX)
			return false;
		s->type = 0;
	} else {
		s->type = s->hdr[0];
		len = be32(s->hdr + 1);
		if (!valid_type(fe, s->type, len))
			return false;
	}
	s->blen = s->need = len - 4;
	s->keep = keep_body(fe, s->type);
	s->got = 0;
	s->cut = 0;
	s->in_body = 1;
	return true;
}

static void message_done(struct pg_conn *c, struct pg_stream *s, bool fe)
{
	s->in_body = 0;
	s->hlen = 0;
	if (fe)
		pg_wire__frontend(c, s);
	else
		pg_wire__backend(c, s);
	/* the raw text (literals, error details) is not kept past its message */
	memset(fe ? c->febody : c->bebody, 0, s->got);
	s->got = 0;
}

/* how many of @k bytes at @b a Bind's gathered body takes: up to its second NUL (the portal's and the
 * statement's names), never the parameter values after them */
static size_t bind_take(const char *body, size_t got, const uint8_t *b, size_t k)
{
	int nuls = 0;

	for (size_t i = 0; i < got; i++)
		nuls += !body[i];
	if (nuls >= 2)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (!b[i] && ++nuls == 2)
			return i + 1;
	return k;
}

/* the hunt for ReadyForQuery in the backend's bytes after its framing was lost */
static size_t hunt(struct pg_conn *c, const uint8_t *b, size_t len)
{
	static const uint8_t pat[5] = { 'Z', 0, 0, 0, 5 };

	for (size_t i = 0; i < len; i++) {
		if (c->match < 5 && b[i] == pat[c->match]) {
			c->match++;
		} else if (c->match == 5 && (b[i] == 'I' || b[i] == 'T' || b[i] == 'E')) {
			c->hunting = 0;
			c->match = 0;
			pg_wire__end_all(c); /* answered in the part nobody saw, or after it: not ours to pair */
			c->be_groups = c->fe_groups;
			return i + 1;
		} else {
			c->match = b[i] == 'Z';
		}
	}
	return len;
}

static void bytes(struct pg_conn *c, bool fe, const uint8_t *b, size_t len)
{
	struct pg_stream *s = &c->s[fe ? c->fe : !c->fe];

	while (len) {
		bool untyped_msg = fe && (c->phase == PG_STARTUP || c->phase == PG_SSLANS);
		size_t k;

		if (c->phase == PG_QUIET)
			return;
		if (c->phase == PG_DEAD) {
			c->errors++; /* bytes nobody frames any more */
			return;
		}
		if (!fe && c->hunting) {
			k = hunt(c, b, len);
		} else if (!fe && c->phase == PG_SSLANS) {
			if (b[0] == 'S' || b[0] == 'G')
				c->phase = PG_QUIET; /* TLS (GSS) from here: the TLS capture sees its plaintext */
			else if (b[0] == 'N')
				c->phase = PG_STARTUP;
			else
				lose(c, true);
			k = 1;
		} else if (!fe && c->phase == PG_STARTUP) {
			lose(c, true); /* a server does not speak before the client's first message */
			return;
		} else if (!s->in_body) {
			size_t hsize = untyped_msg ? 4 : 5;

			if (untyped_msg && !s->hlen && c->phase == PG_SSLANS && b[0] == 0x16) {
				c->phase = PG_QUIET; /* a TLS ClientHello: the answer was 'S' */
				return;
			}
			if (!s->hlen)
				s->start_ns = c->now_ns;
			k = hsize - s->hlen < len ? hsize - s->hlen : len;
			memcpy(s->hdr + s->hlen, b, k);
			s->hlen += k;
			if (s->hlen == hsize) {
				if (!header(c, s, fe, untyped_msg)) {
					s->hlen = 0;
					lose(c, fe);
					if (fe)
						return;
					/* the backend's hunt starts after these bytes, however they were cut */
				} else if (!s->need) {
					message_done(c, s, fe);
				}
			}
		} else {
			k = s->need < len ? s->need : len;
			if (s->keep) {
				char *body = fe ? c->febody : c->bebody;
				size_t lim = fe ? (s->type == 'B' ? PG_BIND_NAMES : PG_FE_BODY) : PG_BE_BODY;
				size_t take = s->got < lim ? (lim - s->got < k ? lim - s->got : k) : 0;

				if (s->type == 'B')
					take = bind_take(body, s->got, b, take);
				memcpy(body + s->got, b, take);
				s->got += take;
				s->cut |= take < k;
			}
			s->need -= k;
			if (!s->need)
				message_done(c, s, fe);
		}
		b += k;
		len -= k;
	}
}

static void gap(struct pg_conn *c, bool fe, uint64_t n)
{
	struct pg_stream *s = &c->s[fe ? c->fe : !c->fe];

	if (c->phase == PG_QUIET || c->phase == PG_DEAD)
		return;
	if (!fe && c->hunting) {
		c->match = 0;
		return;
	}
	if (!s->in_body || n > s->need || (!fe && c->phase != PG_TYPED)) {
		s->hlen = 0;
		s->in_body = 0;
		lose(c, fe);
		return;
	}
	s->need -= n;
	s->cut |= s->keep;
	if (!s->need)
		message_done(c, s, fe);
}

void pg_conn__data(struct pg_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	bool fe;

	c->now_ns = now_ns;
	if (!c->role) { /* only a client sends the first message (detect() saw it) */
		c->role = dir == PROTO_OUT ? OBS_X_CLIENT : OBS_X_SERVER;
		c->fe = dir;
	}
	fe = dir == c->fe;
	if (len)
		bytes(c, fe, buf, len);
	if (total > len)
		gap(c, fe, total - len);
}
