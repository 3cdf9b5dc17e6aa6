/* fuzz-srcs: lib/proto/http1_parser.c */
/* fuzz_http.c -- the HTTP/1.x parser fed arbitrary bytes in arbitrary splits, with gaps and closes.
 *
 * Input: the raw bytes of one direction of a connection.  The splits are chosen by a PRNG seeded with
 * the input, so a file reproduces its run.  Checked:
 *   - any split gives the same callbacks as one feed (the parser's promise: "any split");
 *   - callbacks come in order (begin, headers, head, end), strings stay NUL-terminated in their
 *     arrays, header names and values are readable for their length and fit a line;
 *   - with gaps, chunk starts and closes anywhere, nothing crashes and the same order holds. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/proto/http1_parser.h"

struct log {
	uint64_t hash; /* FNV-1a over every callback and what it carried */
	int begins, heads, ends;
	bool in_msg, have_head;
};

static void mix(struct log *l, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		l->hash = (l->hash ^ b[i]) * 1099511628211ull;
}

static void check_msg(const struct http_msg *m)
{
	FUZZ_CHECK(fz__terminated(m->method, sizeof(m->method)));
	FUZZ_CHECK(fz__terminated(m->target, sizeof(m->target)));
	FUZZ_CHECK(fz__terminated(m->host, sizeof(m->host)));
	FUZZ_CHECK(fz__terminated(m->user_agent, sizeof(m->user_agent)));
	FUZZ_CHECK(m->is_request || m->status <= 999);
	FUZZ_CHECK(m->content_length >= -1);
}

static void mix_msg(struct log *l, char what, const struct http_msg *m)
{
	mix(l, &what, 1);
	mix(l, m->method, strlen(m->method));
	mix(l, m->target, strlen(m->target));
	mix(l, m->host, strlen(m->host));
	mix(l, m->user_agent, strlen(m->user_agent));
	uint64_t v[] = { m->is_request, m->no_body,    m->chunked,	 m->conn_close, m->expect_continue,
			 m->truncated,	m->incomplete, m->version_minor, m->status,	(uint64_t)m->content_length,
			 m->body_bytes };
	mix(l, v, sizeof(v));
}

static void on_begin(void *ctx)
{
	struct log *l = ctx;

	FUZZ_CHECK(!l->in_msg || !l->have_head); /* a message given up before its head ended: no on_end */
	l->in_msg = true;
	l->have_head = false;
	l->begins++;
	mix(l, "B", 1);
}

static void on_header(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct log *l = ctx;

	FUZZ_CHECK(l->in_msg && !l->have_head);
	FUZZ_CHECK(nlen <= HTTP_LINE_MAX && vlen <= HTTP_LINE_MAX);
	mix(l, "H", 1);
	mix(l, name, nlen); /* every byte is read: ASan sees a pointer past the line */
	mix(l, ":", 1);
	mix(l, val, vlen);
}

static void on_head(void *ctx, struct http_msg *m)
{
	struct log *l = ctx;

	FUZZ_CHECK(l->in_msg && !l->have_head);
	l->have_head = true;
	l->heads++;
	check_msg(m);
	mix_msg(l, 'D', m);
}

static void on_end(void *ctx, const struct http_msg *m)
{
	struct log *l = ctx;

	FUZZ_CHECK(l->in_msg);
	l->in_msg = false;
	l->ends++;
	check_msg(m);
	mix_msg(l, 'E', m);
}

static const struct http_parser_cb cb = { on_begin, on_header, on_head, on_end };

static void log_init(struct log *l)
{
	memset(l, 0, sizeof(*l));
	l->hash = 1469598103934665603ull;
}

/* the parser's own counters and state after a run */
static void check_parser(const struct http_parser *p, const struct log *l)
{
	FUZZ_CHECK(p->linelen <= HTTP_LINE_MAX);
	FUZZ_CHECK(p->messages == (uint64_t)l->ends);
	FUZZ_CHECK(!p->in_msg || l->in_msg);
	FUZZ_CHECK(p->in_msg || !l->in_msg || !l->have_head); /* a head reported, then no end */
}

/* after a close no message is open; one given up before its head is forgotten */
static void closed(struct log *l)
{
	FUZZ_CHECK(!l->in_msg || !l->have_head);
	l->in_msg = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_mode modes[] = { HTTP_ANY, HTTP_REQUESTS, HTTP_RESPONSES };
	struct http_parser *p = malloc(sizeof(*p));
	struct log whole, split, gaps;
	struct fz_rng rng;
	enum http_mode mode;
	int ended = 0;

	if (!p)
		return 0;
	fz_rng__seed(&rng, data, size);
	mode = modes[fz_rng__below(&rng, 3)];

	/* detection reads no further than it is given (ASan watches the exact input), and agrees with a parser
	 * that has seen nothing: NO when it would count an error, MAYBE when it could not yet */
	{
		enum http_guess g = http__detect(data, size);

		http_parser__init(p, HTTP_ANY);
		http_parser__feed(p, data, size, true, NULL, NULL);
		if (g == HTTP_GUESS_NO)
			FUZZ_CHECK(p->errors == 1 && p->messages == 0);
		if (g == HTTP_GUESS_MAYBE)
			FUZZ_CHECK(p->errors == 0 && p->messages == 0);
	}

	/* one feed */
	log_init(&whole);
	http_parser__init(p, mode);
	ended = http_parser__feed(p, data, size, true, &cb, &whole);
	FUZZ_CHECK(ended == whole.ends);
	check_parser(p, &whole);

	/* the same bytes in pieces: 1..16 bytes, or up to the whole, the later ones not chunk starts */
	log_init(&split);
	http_parser__init(p, mode);
	for (size_t off = 0, n; off < size; off += n) {
		n = fz_rng__below(&rng, 4) ? 1 + fz_rng__below(&rng, 16) : 1 + fz_rng__below(&rng, size);
		n = n < size - off ? n : size - off;
		ended += http_parser__feed(p, data + off, n, off == 0, &cb, &split);
	}
	check_parser(p, &split);
	FUZZ_CHECK(split.hash == whole.hash);
	FUZZ_CHECK(split.ends == whole.ends && split.heads == whole.heads && split.begins == whole.begins);
	http_parser__close(p, &cb, &split);
	closed(&split);

	/* pieces that are chunk starts or not, gaps between them (small, or past any body), closes */
	log_init(&gaps);
	http_parser__init(p, mode);
	for (size_t off = 0, n; off < size; off += n) {
		uint64_t r = fz_rng__next(&rng);

		n = 1 + fz_rng__below(&rng, 64);
		n = n < size - off ? n : size - off;
		http_parser__feed(p, data + off, n, r & 1, &cb, &gaps);
		if ((r >> 1 & 7) == 0)
			http_parser__gap(p, (r >> 4 & 1) ? r >> 40 : 1 + (r >> 8 & 0xffff), &cb, &gaps);
		if ((r >> 1 & 63) == 1) {
			http_parser__close(p, &cb, &gaps);
			closed(&gaps);
		}
		check_parser(p, &gaps);
	}
	http_parser__close(p, &cb, &gaps);
	closed(&gaps);
	free(p);
	return 0;
}
