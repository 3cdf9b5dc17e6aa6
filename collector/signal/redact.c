/* redact.c -- secrets out of text before it leaves: the redactor, its patterns, the rules' passes in order, the cut */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signal/redact.h"
#include "signal/redact_rules.h"

#define TRUNCATED " [truncated]"
#define MAX_EXTRA 32
#define MAX_WORK (16u << 20) /* a pass whose output would be larger fails (closed) */

struct redactor {
	regex_t extra[MAX_EXTRA];
	int nextra;
	uint64_t redactions, dropped, truncated;
	uint64_t rules[REDACT_RULE__COUNT];
};

struct redactor *redactor__new(const char *const *extra, char *err, size_t errlen)
{
	struct redactor *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; extra && extra[i]; i++) {
		int rc;

		if (r->nextra == MAX_EXTRA) {
			snprintf(err, errlen, "more than %d patterns", MAX_EXTRA);
			redactor__free(r);
			return NULL;
		}
		rc = regcomp(&r->extra[r->nextra], extra[i], REG_EXTENDED);
		if (rc) {
			char why[128];

			regerror(rc, &r->extra[r->nextra], why, sizeof(why));
			snprintf(err, errlen, "pattern '%s': %s", extra[i], why);
			redactor__free(r);
			return NULL;
		}
		r->nextra++;
	}
	return r;
}

void redactor__free(struct redactor *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nextra; i++)
		regfree(&r->extra[i]);
	free(r);
}

bool redact__header_is_secret(const char *name, size_t namelen)
{
	return redact_rules__key_kind(name, namelen) != 0;
}

typedef void (*pass_fn)(const void *arg, const char *s, size_t n, struct out *o);

static void run_urls(const void *arg, const char *s, size_t n, struct out *o)
{
	(void)arg;
	redact_rules__urls(s, n, o);
}

static void run_keys(const void *arg, const char *s, size_t n, struct out *o)
{
	(void)arg;
	redact_rules__keys(s, n, o);
}

static void run_bearer(const void *arg, const char *s, size_t n, struct out *o)
{
	(void)arg;
	redact_rules__bearer(s, n, o);
}

static void run_email(const void *arg, const char *s, size_t n, struct out *o)
{
	(void)arg;
	redact_rules__email(s, n, o);
}

static void run_cards(const void *arg, const char *s, size_t n, struct out *o)
{
	(void)arg;
	redact_rules__cards(s, n, o);
}

static void run_regex(const void *arg, const char *s, size_t n, struct out *o)
{
	redact_rules__regex(arg, s, n, o);
}

/* a work buffer that grows to what a pass needs: on the caller's stack until a text needs more */
struct work {
	char *p;
	size_t cap;
	bool heap;
};

/* room for @need bytes; what it held is not kept (a pass rewrites it whole) */
static bool work_fit(struct work *w, size_t need)
{
	char *p;

	if (need <= w->cap)
		return true;
	if (need > MAX_WORK)
		return false;
	p = malloc(need);
	if (!p)
		return false;
	if (w->heap)
		free(w->p);
	w->p = p;
	w->cap = need;
	w->heap = true;
	return true;
}

/* @cur (length *@len) through one pass into @next, which grows until the output fits; then swapped */
static bool run(pass_fn fn, const void *arg, struct work *cur, size_t *len, struct work *next, uint64_t *n)
{
	struct work t;
	struct out o;

	for (;;) {
		o = (struct out){ next->p, 0, next->cap, false, 0, 0 };
		next->p[0] = '\0';
		fn(arg, cur->p, *len, &o);
		if (!o.full)
			break;
		if (!work_fit(next, o.need + 1))
			return false;
	}
	*n += o.n;
	*len = o.len;
	t = *cur;
	*cur = *next;
	*next = t;
	return true;
}

/* the first bytes of @s (length @n) that fit @out with the mark: cut on a UTF-8 character boundary */
static size_t cut_and_mark(const char *s, size_t n, char *out, size_t outsize)
{
	size_t mark = strlen(TRUNCATED), keep = outsize - 1 > mark ? outsize - 1 - mark : 0, m;

	if (keep > n)
		keep = n;
	while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
		keep--;
	memcpy(out, s, keep);
	m = outsize - 1 - keep < mark ? outsize - 1 - keep : mark;
	memcpy(out + keep, TRUNCATED, m);
	out[keep + m] = '\0';
	return keep + m;
}

#define STACK_WORK 1024 /* a route, a host, a user agent, most log lines: no malloc */

int redact__text_counted(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize, bool *cut,
			 uint32_t counts[REDACT_RULE__COUNT])
{
	char sa[STACK_WORK], sb[STACK_WORK];
	struct work a = { sa, sizeof(sa), false }, b = { sb, sizeof(sb), false };
	uint64_t n[REDACT_RULE__COUNT] = { 0 }, total = 0;
	size_t len = 0;
	int rc = -1;

	if (cut)
		*cut = false;
	if (!outsize)
		return -1;
	out[0] = '\0';
	if (inlen > MAX_WORK / 4 || !work_fit(&a, 3 * inlen + 1) || !work_fit(&b, 2 * inlen + 64))
		goto done;
	for (size_t i = 0; i < inlen; i++) {
		if (in[i]) {
			a.p[len++] = in[i];
		} else { /* a NUL would hide what follows from the scanners: U+FFFD in its place */
			memcpy(a.p + len, "\xef\xbf\xbd", 3);
			len += 3;
		}
	}
	a.p[len] = '\0';
	if (!run(run_urls, NULL, &a, &len, &b, &n[REDACT_URL_CREDENTIALS]) ||
	    !run(run_keys, NULL, &a, &len, &b, &n[REDACT_SECRET_KEY]) ||
	    !run(run_bearer, NULL, &a, &len, &b, &n[REDACT_BEARER]) ||
	    !run(run_email, NULL, &a, &len, &b, &n[REDACT_EMAIL]) ||
	    !run(run_cards, NULL, &a, &len, &b, &n[REDACT_CARD]))
		goto done;
	for (int i = 0; i < r->nextra; i++)
		if (!run(run_regex, &r->extra[i], &a, &len, &b, &n[REDACT_PATTERN]))
			goto done;
	if (len < outsize) {
		memcpy(out, a.p, len + 1);
	} else {
		/* the redacted text is longer than @out: its beginning, marked (it holds no secret: cut after) */
		len = cut_and_mark(a.p, len, out, outsize);
		if (cut)
			*cut = true;
		__atomic_fetch_add(&r->truncated, 1, __ATOMIC_RELAXED);
	}
	rc = (int)len;
	for (int i = 0; i < REDACT_RULE__COUNT; i++) {
		if (n[i])
			__atomic_fetch_add(&r->rules[i], n[i], __ATOMIC_RELAXED);
		if (counts)
			counts[i] = n[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)n[i];
		total += n[i];
	}
	__atomic_fetch_add(&r->redactions, total, __ATOMIC_RELAXED);
done:
	if (rc < 0) {
		out[0] = '\0';
		__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
	}
	if (a.heap)
		free(a.p);
	if (b.heap)
		free(b.p);
	return rc;
}

int redact__text_cut(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize, bool *cut)
{
	return redact__text_counted(r, in, inlen, out, outsize, cut, NULL);
}

int redact__text(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize)
{
	return redact__text_counted(r, in, inlen, out, outsize, NULL, NULL);
}

void redactor__recount(struct redactor *r, const uint32_t counts[REDACT_RULE__COUNT], bool cut)
{
	uint64_t total = 0;

	for (int i = 0; i < REDACT_RULE__COUNT; i++) {
		if (counts[i])
			__atomic_fetch_add(&r->rules[i], counts[i], __ATOMIC_RELAXED);
		total += counts[i];
	}
	if (total)
		__atomic_fetch_add(&r->redactions, total, __ATOMIC_RELAXED);
	if (cut)
		__atomic_fetch_add(&r->truncated, 1, __ATOMIC_RELAXED);
}

void redactor__stats(const struct redactor *r, struct redact_stats *out)
{
	out->redactions = __atomic_load_n(&r->redactions, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
	out->truncated = __atomic_load_n(&r->truncated, __ATOMIC_RELAXED);
	for (int i = 0; i < REDACT_RULE__COUNT; i++)
		out->rules[i] = __atomic_load_n(&r->rules[i], __ATOMIC_RELAXED);
}

const char *redact__rule_name(enum redact_rule rule)
{
	static const char *const names[REDACT_RULE__COUNT] = {
		[REDACT_URL_CREDENTIALS] = "url_credentials",
		[REDACT_SECRET_KEY] = "secret_key",
		[REDACT_BEARER] = "bearer",
		[REDACT_EMAIL] = "email",
		[REDACT_CARD] = "card",
		[REDACT_PATTERN] = "pattern",
	};

	return (unsigned)rule < REDACT_RULE__COUNT ? names[rule] : "unknown";
}
