/* redact.c -- secrets out of text before it leaves: keys' values, auth headers, bearer tokens, cards, e-mails */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redact.h"

#define REDACTED "[REDACTED]"
#define MAX_EXTRA 32

struct redactor {
	regex_t extra[MAX_EXTRA];
	int nextra;
	uint64_t redactions, dropped;
};

/* an output buffer that refuses to overflow */
struct out {
	char *p;
	size_t len, cap;
	bool full;
	uint64_t n; /* replacements */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n + 1 > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put_s(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

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

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.';
}

static bool contains_ci(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	for (size_t i = 0; i + m <= n; i++)
		if (!strncasecmp(s + i, lit, m))
			return true;
	return false;
}

/* 0: not secret, 1: secret key, 2: a header whose unquoted value runs to the end of the line */
static int key_kind(const char *k, size_t n)
{
	static const char *const secret[] = { "password", "passwd", "pwd", "secret", "token", "api_key", "api-key",
					      "apikey", "access_token", "session" };
	static const char *const headers[] = { "authorization", "proxy-authorization", "cookie", "set-cookie" };

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (strlen(headers[i]) == n && !strncasecmp(k, headers[i], n))
			return 2;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (contains_ci(k, n, secret[i]))
			return 1;
	return 0;
}

bool redact__header_is_secret(const char *name, size_t namelen)
{
	return key_kind(name, namelen) != 0;
}

/* rule 1: at each ':' or '=', look back for a secret key; replace the value after it */
static void pass_keys(const char *s, size_t n, struct out *o)
{
	size_t i = 0, copied = 0;

	while (i < n) {
		size_t k, kend, kstart, v, vend;
		char q = 0;
		int kind;

		if (s[i] != ':' && s[i] != '=') {
			i++;
			continue;
		}
		/* key: [quote] spaces? back from the separator */
		k = i;
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k > 0 && (s[k - 1] == '"' || s[k - 1] == '\''))
			k--;
		kend = k;
		while (k > 0 && key_char(s[k - 1]))
			k--;
		kstart = k;
		kind = kend > kstart ? key_kind(s + kstart, kend - kstart) : 0;
		if (!kind || (s[i] == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/')) {
			i++;
			continue;
		}
		/* value */
		v = i + 1;
		while (v < n && (s[v] == ' ' || s[v] == '\t'))
			v++;
		if (v < n && (s[v] == '"' || s[v] == '\'')) {
			q = s[v++];
			vend = v;
			while (vend < n && s[vend] != q) {
				if (s[vend] == '\\' && vend + 1 < n)
					vend++;
				vend++;
			}
		} else {
			vend = v;
			if (kind == 2 && s[i] == ':')
				while (vend < n && s[vend] != '\r' && s[vend] != '\n')
					vend++;
			else
				while (vend < n && !strchr("&;, \t\r\n\"'}]<>)", s[vend]))
					vend++;
		}
		if (vend == v) {
			i = v > i ? v : i + 1;
			continue;
		}
		put(o, s + copied, v - copied);
		put_s(o, REDACTED);
		o->n++;
		copied = i = vend;
	}
	put(o, s + copied, n - copied);
}

/* rule 2: Bearer <token> */
static void pass_bearer(const char *s, size_t n, struct out *o)
{
	size_t i = 0, copied = 0;

	while (i + 7 < n) {
		size_t t;

		if (strncasecmp(s + i, "bearer", 6) || (i && key_char(s[i - 1])) || (s[i + 6] != ' ' && s[i + 6] != '\t')) {
			i++;
			continue;
		}
		t = i + 6;
		while (t < n && (s[t] == ' ' || s[t] == '\t'))
			t++;
		if (t == n || !strncmp(s + t, REDACTED, strlen(REDACTED))) {
			i = t;
			continue;
		}
		put(o, s + copied, t - copied);
		while (t < n && (key_char(s[t]) || strchr("~+/=", s[t])))
			t++;
		put_s(o, REDACTED);
		o->n++;
		copied = i = t;
	}
	put(o, s + copied, n - copied);
}

static bool local_char(char c)
{
	return key_char(c) || c == '%' || c == '+';
}

/* rule 3: e-mail addresses */
static void pass_email(const char *s, size_t n, struct out *o)
{
	size_t i = 0, copied = 0;

	while (i < n) {
		size_t a, b, lastdot = 0, tld;

		if (s[i] != '@') {
			i++;
			continue;
		}
		a = i;
		while (a > copied && local_char(s[a - 1]))
			a--;
		b = i + 1;
		while (b < n && (key_char(s[b]) && s[b] != '_')) {
			if (s[b] == '.')
				lastdot = b;
			b++;
		}
		while (b > i + 1 && (s[b - 1] == '.' || s[b - 1] == '-')) /* "x@y.com." ends a sentence */
			b--;
		for (lastdot = 0, tld = i + 1; tld < b; tld++)
			if (s[tld] == '.')
				lastdot = tld;
		tld = lastdot ? b - lastdot - 1 : 0;
		if (a == i || !lastdot || lastdot == i + 1 || tld < 2) {
			i++;
			continue;
		}
		for (size_t k = lastdot + 1; k < b; k++)
			if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')))
				tld = 0;
		if (!tld) {
			i++;
			continue;
		}
		put(o, s + copied, a - copied);
		put_s(o, "[EMAIL]");
		o->n++;
		copied = i = b;
	}
	put(o, s + copied, n - copied);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool luhn(const char *d, int n)
{
	int sum = 0;

	for (int i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';

		if (i & 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* rule 4: card numbers */
static void pass_cards(const char *s, size_t n, struct out *o)
{
	size_t i = 0, copied = 0;

	while (i < n) {
		char d[24];
		int nd = 0;
		size_t e = i;

		if (!is_digit(s[i]) || (i && alnum(s[i - 1]))) {
			i++;
			continue;
		}
		/* digits, single separators between them */
		while (e < n) {
			if (is_digit(s[e])) {
				if (nd < 24)
					d[nd] = s[e];
				nd++;
				e++;
			} else if ((s[e] == ' ' || s[e] == '-') && e + 1 < n && is_digit(s[e + 1]) && e > i) {
				e++;
			} else {
				break;
			}
		}
		if (nd >= 13 && nd <= 19 && !(e < n && alnum(s[e])) && luhn(d, nd)) {
			put(o, s + copied, i - copied);
			put_s(o, "****-****-****-");
			put(o, d + nd - 4, 4);
			o->n++;
			copied = e;
		}
		i = e;
	}
	put(o, s + copied, n - copied);
}

/* rule 5: extra patterns (input NUL-terminated) */
static void pass_regex(const regex_t *re, const char *s, size_t n, struct out *o)
{
	size_t copied = 0, at = 0;
	regmatch_t m;

	while (at <= n && !regexec(re, s + at, 1, &m, at ? REG_NOTBOL : 0)) {
		size_t so = at + m.rm_so, eo = at + m.rm_eo;

		if (eo == so) { /* an empty match: step on */
			at = so + 1;
			continue;
		}
		put(o, s + copied, so - copied);
		put_s(o, REDACTED);
		o->n++;
		copied = at = eo;
	}
	put(o, s + copied, n - copied);
}

int redact__text(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize)
{
	/* the passes' room, more than @out's: a text may grow in one pass and shrink in a later one */
	size_t cap = inlen < SIZE_MAX / 8 && outsize < SIZE_MAX / 2 ? outsize + 2 * inlen + 64 : outsize;
	char *a = NULL, *b = NULL;
	struct out o = { 0 };
	uint64_t total = 0;
	int rc = -1;

	if (!outsize)
		return -1;
	out[0] = '\0';
	if (memchr(in, '\0', inlen))
		goto done; /* a NUL would hide what follows from every scanner below */
	a = malloc(cap);
	b = malloc(cap);
	if (!a || !b)
		goto done;

	o = (struct out){ a, 0, cap, false, 0 };
	a[0] = '\0';
	pass_keys(in, inlen, &o);
#define NEXT(fn, ...)                                           \
	do {                                                    \
		struct out t = { b, 0, cap, false, 0 };         \
		if (o.full)                                     \
			goto done;                              \
		total += o.n;                                   \
		b[0] = '\0';                                    \
		fn(__VA_ARGS__ o.p, o.len, &t);                 \
		o = t;                                          \
		b = a;                                          \
		a = o.p;                                        \
	} while (0)
	NEXT(pass_bearer, );
	NEXT(pass_email, );
	NEXT(pass_cards, );
	for (int i = 0; i < r->nextra; i++)
		NEXT(pass_regex, &r->extra[i], );
#undef NEXT
	if (o.full || o.len >= outsize)
		goto done;
	total += o.n;
	memcpy(out, o.p, o.len + 1);
	rc = (int)o.len;
	__atomic_fetch_add(&r->redactions, total, __ATOMIC_RELAXED);
done:
	if (rc < 0) {
		out[0] = '\0';
		__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
	}
	free(a);
	free(b);
	return rc;
}

void redactor__stats(const struct redactor *r, struct redact_stats *out)
{
	out->redactions = __atomic_load_n(&r->redactions, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
}
