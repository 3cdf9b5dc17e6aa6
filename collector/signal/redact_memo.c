/* redact_memo.c -- the redactor's results remembered for short texts that repeat (direct-mapped, by a hash of
 * the text and the output's size) */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/texthash.h"
#include "signal/redact.h"
#include "signal/redact_memo.h"

#define MEMO_SLOTS 256
#define MEMO_IN_MAX 192	 /* longer texts are redacted every time */
#define MEMO_OUT_MAX 256 /* a result longer than this is not kept */

struct memo_entry {
	uint64_t hash;
	uint32_t outsize;
	uint16_t inlen, outlen;
	bool used, cut;
	uint32_t counts[REDACT_RULE__COUNT];
	char in[MEMO_IN_MAX];
	char out[MEMO_OUT_MAX];
};

struct redact_memo {
	struct redactor *r;
	struct redact_memo_stats st;
	struct memo_entry e[MEMO_SLOTS];
};

struct redact_memo *redact_memo__new(struct redactor *r)
{
	struct redact_memo *m = calloc(1, sizeof(*m));

	if (m)
		m->r = r;
	return m;
}

void redact_memo__free(struct redact_memo *m)
{
	free(m);
}

/* mixed so that the low bits (the slot) depend on every byte */
static uint64_t hash_text(const char *s, size_t n, size_t outsize)
{
	return texthash__final(texthash__step(TEXTHASH_SEED ^ outsize, s, n));
}

int redact_memo__text(struct redact_memo *m, const char *in, size_t inlen, char *out, size_t outsize)
{
	struct memo_entry *e;
	uint64_t h;
	bool cut;
	int rc;

	if (inlen > MEMO_IN_MAX || !outsize || outsize > UINT32_MAX) {
		m->st.passed++;
		return redact__text(m->r, in, inlen, out, outsize);
	}
	h = hash_text(in, inlen, outsize);
	e = &m->e[h % MEMO_SLOTS];
	if (e->used && e->hash == h && e->inlen == inlen && e->outsize == outsize && !memcmp(e->in, in, inlen)) {
		m->st.hits++;
		memcpy(out, e->out, e->outlen + 1u);
		redactor__recount(m->r, e->counts, e->cut);
		return e->outlen;
	}
	m->st.misses++;
	rc = redact__text_counted(m->r, in, inlen, out, outsize, &cut, e->counts);
	if (rc < 0 || rc >= MEMO_OUT_MAX) {
		e->used = false; /* its counts were overwritten */
		return rc;
	}
	e->used = true;
	e->hash = h;
	e->inlen = (uint16_t)inlen;
	e->outsize = (uint32_t)outsize;
	e->outlen = (uint16_t)rc;
	e->cut = cut;
	memcpy(e->in, in, inlen);
	memcpy(e->out, out, (size_t)rc + 1);
	return rc;
}

void redact_memo__stats(const struct redact_memo *m, struct redact_memo_stats *out)
{
	*out = m->st;
}
