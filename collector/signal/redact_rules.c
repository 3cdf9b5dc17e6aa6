/* redact_rules.c -- the redaction rules' scanners: one pass of one rule over a text (SPEC "Sanitization") */
#include <regex.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "signal/redact_rules.h"

#define REDACTED "[REDACTED]"

static void put(struct out *o, const char *s, size_t n)
{
	o->need += n;
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

int redact_rules__key_kind(const char *k, size_t n)
{
	static const char *const secret[] = { "password",   "passwd",	  "passphrase", "pwd",	       "secret",
					      "token",	    "credential", "api_key",	"api-key",     "apikey",
					      "access_key", "access-key", "accesskey",	"private_key", "private-key",
					      "privatekey", "session",	  "signature",	"jwt",	       "cookie" };
	static const char *const exact[] = { "auth", "pass", "pw", "pin", "sig", "otp" };
	static const char *const headers[] = { "authorization", "proxy-authorization", "cookie", "set-cookie" };

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (strlen(headers[i]) == n && !strncasecmp(k, headers[i], n))
			return 2;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strlen(exact[i]) == n && !strncasecmp(k, exact[i], n))
			return 1;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (contains_ci(k, n, secret[i]))
			return 1;
	return 0;
}

/* the end of a quoted value from @v (just past its opening quote @q, which @bs backslashes escaped):
 * the next @q not escaped at that level; an escaped value ("{\"k\":\"v\"}" inside a JSON string) ends
 * at the first @q with at most @bs backslashes before it.  Returns where the closing run starts. */
static size_t quoted_end(const char *s, size_t n, size_t v, char q, size_t bs)
{
	for (size_t e = v; e < n; e++) {
		size_t r = 0;

		if (!bs && s[e] == '\\') {
			e++; /* \x inside the string: skipped */
			continue;
		}
		if (s[e] != q)
			continue;
		if (!bs)
			return e;
		while (e - r > v && s[e - r - 1] == '\\')
			r++;
		if (r <= bs)
			return e - r;
	}
	return n;
}

/* "key:" with nothing after it on the line (or a YAML block indicator | or >): the value is the lines
 * below indented deeper than the key's line.  Returns the end of that block (0: none) and its start in
 * *@vstart. */
static size_t block_value(const char *s, size_t n, size_t kstart, size_t v, size_t *vstart)
{
	size_t ls = kstart, indent = 0, e = v, end = 0;

	if (v < n && (s[v] == '|' || s[v] == '>'))
		for (e = v + 1; e < n && (s[e] == '-' || s[e] == '+' || (s[e] >= '0' && s[e] <= '9')); e++)
			;
	while (e < n && (s[e] == ' ' || s[e] == '\t' || s[e] == '\r'))
		e++;
	if (e < n && s[e] != '\n')
		return 0; /* a value on this line */
	while (ls > 0 && s[ls - 1] != '\n')
		ls--;
	while (ls + indent < kstart && (s[ls + indent] == ' ' || s[ls + indent] == '-'))
		indent++; /* "- key:" in a YAML list: the value is deeper than the dash */
	*vstart = 0;
	while (e < n) { /* e at a '\n': the next line */
		size_t l = e + 1, d = 0, le;

		while (l + d < n && (s[l + d] == ' ' || s[l + d] == '\t'))
			d++;
		for (le = l + d; le < n && s[le] != '\n'; le++)
			;
		if (le > l + d && !(le == l + d + 1 && s[l + d] == '\r')) { /* not a blank line */
			if (d <= indent)
				break;
			if (!*vstart)
				*vstart = l + d;
			end = le > l + d && s[le - 1] == '\r' ? le - 1 : le;
		}
		e = le;
	}
	return *vstart ? end : 0;
}

/* rule 2: at each ':' or '=', look back for a secret key; replace the value after it */
void redact_rules__keys(const char *s, size_t n, struct out *o)
{
	size_t i = 0, copied = 0;

	while (i < n) {
		size_t k, kend, kstart, v, vend, bv, bs = 0;
		int kind;

		if (s[i] != ':' && s[i] != '=') {
			i++;
			continue;
		}
		/* key: [quote, maybe escaped] spaces? back from the separator */
		k = i;
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'')) {
			k--;
			while (k > 0 && s[k - 1] == '\\')
				k--;
		}
		kend = k;
		while (k > 0 && key_char(s[k - 1]))
			k--;
		kstart = k;
		kind = kend > kstart ? redact_rules__key_kind(s + kstart, kend - kstart) : 0;
		if (!kind || (s[i] == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/')) {
			i++;
			continue;
		}
		/* value */
		v = i + 1;
		while (v < n && (s[v] == ' ' || s[v] == '\t'))
			v++;
		while (v + bs < n && s[v + bs] == '\\')
			bs++;
		if (v + bs < n && (s[v + bs] == '"' || s[v + bs] == '\'')) {
			char q = s[v + bs];

			v += bs + 1;
			vend = quoted_end(s, n, v, q, bs);
		} else if (s[i] == ':' && (vend = block_value(s, n, kstart, v, &bv))) {
			v = bv; /* YAML: the value on the lines below */
		} else {
			vend = v;
			if (kind == 2 && s[i] == ':')
				while (vend < n && s[vend] != '\r' && s[vend] != '\n')
					vend++;
			else
				while (vend < n && !strchr("&;, \t\r\n\"'}]<>)", s[vend]))
					vend++;
		}
		if (vend <= v) {
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

static bool scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
	       c == '.';
}

/* rule 1: credentials in a URL's authority -- scheme://user:password@host (the password), or
 * scheme://token@host (the whole user part) */
void redact_rules__urls(const char *s, size_t n, struct out *o)
{
	size_t i = 1, copied = 0;

	while (i + 2 < n) {
		size_t a, e, at = 0, colon = 0, from;

		if (s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/' || !scheme_char(s[i - 1])) {
			i++;
			continue;
		}
		a = i + 3;
		for (e = a; e < n && !strchr("/?#\\\"'<> \t\r\n", s[e]); e++)
			if (s[e] == '@')
				at = e;
		if (!at) {
			i = e;
			continue;
		}
		for (size_t c = a; c < at && !colon; c++)
			if (s[c] == ':')
				colon = c;
		from = colon ? colon + 1 : a;
		if (from < at && strncmp(s + from, REDACTED, strlen(REDACTED))) {
			put(o, s + copied, from - copied);
			put_s(o, REDACTED);
			o->n++;
			copied = at;
		}
		i = e;
	}
	put(o, s + copied, n - copied);
}

/* rule 3: Bearer <token> */
void redact_rules__bearer(const char *s, size_t n, struct out *o)
{
	size_t i = 0, copied = 0;

	while (i + 7 < n) {
		size_t t;

		if (strncasecmp(s + i, "bearer", 6) || (i && key_char(s[i - 1])) ||
		    (s[i + 6] != ' ' && s[i + 6] != '\t')) {
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

/* rule 4: e-mail addresses */
void redact_rules__email(const char *s, size_t n, struct out *o)
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

/* rule 5: card numbers */
void redact_rules__cards(const char *s, size_t n, struct out *o)
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

/* rule 6: extra patterns (input NUL-terminated) */
void redact_rules__regex(const regex_t *re, const char *s, size_t n, struct out *o)
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
