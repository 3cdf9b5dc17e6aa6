/* tracectx.c -- incoming trace context from W3C, B3 (single and multi), AWS X-Ray and Datadog headers */
#include <stddef.h>
#include <string.h>

#include "lib/hex.h"
#include "lib/tracectx.h"
#include "lib/tracestate.h"

enum field {
	F_TP,
	F_B3,
	F_B3_TRACE,
	F_B3_SPAN,
	F_B3_SAMPLED,
	F_B3_FLAGS,
	F_XRAY,
	F_DD_TRACE,
	F_DD_PARENT,
	F_DD_PRIO,
	F__N
};

static const char *const names[F__N] = {
	[F_TP] = "traceparent",
	[F_B3] = "b3",
	[F_B3_TRACE] = "x-b3-traceid",
	[F_B3_SPAN] = "x-b3-spanid",
	[F_B3_SAMPLED] = "x-b3-sampled",
	[F_B3_FLAGS] = "x-b3-flags",
	[F_XRAY] = "x-amzn-trace-id",
	[F_DD_TRACE] = "x-datadog-trace-id",
	[F_DD_PARENT] = "x-datadog-parent-id",
	[F_DD_PRIO] = "x-datadog-sampling-priority",
};

static char *slot(struct ctx_extractor *x, int f)
{
	char *const s[F__N] = { x->traceparent, x->b3,	 x->b3_trace, x->b3_span,   x->b3_sampled,
				x->b3_flags,	x->xray, x->dd_trace, x->dd_parent, x->dd_priority };

	return s[f];
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool name_is(const char *n, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len && lit[i]; i++)
		if (lower(n[i]) != lit[i])
			return false;
	return i == len && !lit[i];
}

void ctx_extractor__init(struct ctx_extractor *x)
{
	x->seen = x->bad = 0;
	x->state_bad = x->baggage_bad = false;
	x->state_over = x->state_full = false;
	x->state_members = 0;
	x->tracestate[0] = x->baggage[0] = '\0';
}

/* ---- tracestate ---- */

/* drop the members longer than CTX_STATE_BIG from the list @l */
static void drop_big(char *l)
{
	char *w = l;

	for (const char *m = l; *m;) {
		const char *e = strchr(m, ',');
		size_t n = e ? (size_t)(e - m) : strlen(m);

		if (n <= CTX_STATE_BIG) {
			if (w != l)
				*w++ = ',';
			memmove(w, m, n);
			w += n;
		}
		m += n + (e ? 1 : 0);
	}
	*w = '\0';
}

/* Add the member @m to the list @l (@size bytes): W3C's truncation rule applied as members arrive.  While
 * everything fits, members are kept; once the whole list is over, members over 128 characters are
 * dropped (those kept so far too), and the first one that still does not fit ends the list. */
static void keep_member(char *l, size_t size, bool *over, bool *full, const char *m, size_t n)
{
	size_t have = strlen(l);

	if (*full)
		return;
	if (!*over && have + (have ? 1 : 0) + n < size)
		goto append;
	if (!*over) {
		*over = true;
		drop_big(l);
		have = strlen(l);
	}
	if (n > CTX_STATE_BIG)
		return;
	if (have + (have ? 1 : 0) + n >= size) {
		*full = true;
		return;
	}
append:
	if (have)
		l[have++] = ',';
	memcpy(l + have, m, n);
	l[have + n] = '\0';
}

size_t tracectx__truncate_state(char *dst, size_t size, const char *src)
{
	bool over = false, full = false;

	if (!size)
		return 0;
	dst[0] = '\0';
	for (const char *m = src; *m;) {
		const char *e = strchr(m, ',');
		size_t n = e ? (size_t)(e - m) : strlen(m);

		if (n)
			keep_member(dst, size, &over, &full, m, n);
		m += n + (e ? 1 : 0);
	}
	return strlen(dst);
}

/* one list-member, OWS trimmed, not empty: false when it breaks the grammar */
static bool state_member(struct ctx_extractor *x, const char *m, size_t n)
{
	const char *eq = memchr(m, '=', n);
	uint64_t h;

	if (!eq || !state_key(m, eq - m) || !state_value(eq + 1, n - (eq - m) - 1))
		return false;
	if (x->state_members == CTX_STATE_MEMBERS)
		return false;
	h = key_hash(m, eq - m);
	for (int i = 0; i < x->state_members; i++)
		if (x->state_keys[i] == h)
			return false; /* a key twice */
	x->state_keys[x->state_members++] = h;
	keep_member(x->tracestate, sizeof(x->tracestate), &x->state_over, &x->state_full, m, n);
	return true;
}

/* one tracestate header line: its members join those of the lines before */
static void state_line(struct ctx_extractor *x, const char *v, size_t n)
{
	const char *s = v, *e = v + n;

	while (!x->state_bad) {
		const char *comma = memchr(s, ',', e - s), *a = s, *b = comma ? comma : e;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a < b && !state_member(x, a, b - a)) {
			x->state_bad = true;
			x->tracestate[0] = '\0';
		}
		if (!comma)
			break;
		s = comma + 1;
	}
}

/* ---- baggage ---- */

/* append a list-valued header (baggage): repeated lines join with ',' */
static void append_list(char *dst, bool *bad, const char *v, size_t n)
{
	size_t have = strlen(dst);

	if (*bad)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
			/* passed on in an outgoing header by the shim: never a CR, LF or other control byte */
			*bad = true;
			dst[0] = '\0';
			return;
		}
	if (have + (have ? 1 : 0) + n >= CTX_STATE_LEN) {
		*bad = true; /* too long to pass on whole: pass nothing rather than a cut list */
		dst[0] = '\0';
		return;
	}
	if (have)
		dst[have++] = ',';
	memcpy(dst + have, v, n);
	dst[have + n] = '\0';
}

/* the field @name (@nlen bytes) is, F__N for tracestate/baggage and the headers this file does not read: told
 * apart by length, then one comparison (two for the lengths two names share) */
enum { F_STATE = F__N + 1, F_BAGGAGE, F_NONE };

static int field_of(const char *name, size_t nlen)
{
	int f;

	switch (nlen) {
	case 2:
		f = F_B3;
		break;
	case 7:
		f = F_BAGGAGE;
		break;
	case 10: /* tracestate, x-b3-flags */
		if (lower(name[0]) == 't')
			return name_is(name, nlen, "tracestate") ? F_STATE : F_NONE;
		f = F_B3_FLAGS;
		break;
	case 11: /* traceparent, x-b3-spanid */
		f = lower(name[0]) == 't' ? F_TP : F_B3_SPAN;
		break;
	case 12: /* x-b3-traceid, x-b3-sampled */
		f = lower(name[5]) == 't' ? F_B3_TRACE : F_B3_SAMPLED;
		break;
	case 15:
		f = F_XRAY;
		break;
	case 18:
		f = F_DD_TRACE;
		break;
	case 19:
		f = F_DD_PARENT;
		break;
	case 27:
		f = F_DD_PRIO;
		break;
	default:
		return F_NONE;
	}
	if (f == F_BAGGAGE)
		return name_is(name, nlen, "baggage") ? F_BAGGAGE : F_NONE;
	return name_is(name, nlen, names[f]) ? f : F_NONE;
}

void ctx_extractor__header(struct ctx_extractor *x, const char *name, size_t nlen, const char *val, size_t vlen)
{
	int f = field_of(name, nlen);
	char *s;

	if (f == F_NONE)
		return;
	if (f == F_STATE) {
		state_line(x, val, vlen);
		return;
	}
	if (f == F_BAGGAGE) {
		append_list(x->baggage, &x->baggage_bad, val, vlen);
		return;
	}
	if ((x->seen & (1u << f)) || vlen >= CTX_VAL_LEN) {
		x->bad |= 1u << f; /* repeated or oversized: ambiguous, so not trusted */
	} else {
		s = slot(x, f);
		memcpy(s, val, vlen);
		s[vlen] = '\0';
	}
	x->seen |= 1u << f;
}

static int hexval(char c, bool lower_only)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (!lower_only && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* @n hex characters at @s into @n/2 bytes; false on a bad digit */
static bool unhex(const char *s, size_t n, uint8_t *out, bool lower_only)
{
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i], lower_only), lo = hexval(s[i + 1], lower_only);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool zero(const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (id[i])
			return false;
	return true;
}

static bool have(const struct ctx_extractor *x, int f)
{
	return (x->seen & (1u << f)) && !(x->bad & (1u << f));
}

/* the ids and the decision one format's headers carry */
struct ids {
	uint8_t trace_id[16], span_id[8];
	uint8_t sampled, decided;
};

/* W3C Trace Context level 1: version-traceid-parentid-flags */
static bool parse_w3c(const char *v, struct ids *o)
{
	size_t n = strlen(v);
	uint8_t ver, flags;

	if (n < 55 || !unhex(v, 2, &ver, true) || ver == 0xff)
		return false;
	if (ver == 0 && n != 55)
		return false;
	if (n > 55 && v[55] != '-')
		return false;
	if (v[2] != '-' || v[35] != '-' || v[52] != '-')
		return false;
	if (!unhex(v + 3, 32, o->trace_id, true) || !unhex(v + 36, 16, o->span_id, true) ||
	    !unhex(v + 53, 2, &flags, true))
		return false;
	if (zero(o->trace_id, 16) || zero(o->span_id, 8))
		return false;
	o->sampled = flags & 1;
	o->decided = 1;
	return true;
}

/* a 16- or 32-hex trace id, left-padded to 16 bytes */
static bool b3_trace_id(const char *s, size_t n, uint8_t out[16])
{
	memset(out, 0, 16);
	if (n == 32)
		return unhex(s, 32, out, true) && !zero(out, 16);
	if (n == 16)
		return unhex(s, 16, out + 8, true) && !zero(out, 16);
	return false;
}

static int b3_sampling(const char *s, size_t n)
{
	if (n == 1 && (s[0] == '1' || s[0] == 'd'))
		return 1;
	if (n == 1 && s[0] == '0')
		return 0;
	return -1;
}

/* b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]] | {sampling} */
static bool parse_b3(const char *v, struct ids *o)
{
	const char *d1 = strchr(v, '-'), *d2, *d3;
	size_t n = strlen(v);
	int smp;

	if (!d1) {
		smp = b3_sampling(v, n);
		if (smp >= 0) {
			o->decided = 1;
			o->sampled = smp;
		}
		return false;
	}
	if (!b3_trace_id(v, d1 - v, o->trace_id))
		return false;
	d2 = strchr(d1 + 1, '-');
	if ((size_t)((d2 ? d2 : v + n) - (d1 + 1)) != 16 || !unhex(d1 + 1, 16, o->span_id, true) || zero(o->span_id, 8))
		return false;
	if (!d2) {
		o->sampled = 1;
		return true;
	}
	d3 = strchr(d2 + 1, '-');
	smp = b3_sampling(d2 + 1, (d3 ? d3 : v + n) - (d2 + 1));
	if (smp < 0)
		return false;
	if (d3) {
		uint8_t parent[8];

		if (strlen(d3 + 1) != 16 || !unhex(d3 + 1, 16, parent, true))
			return false;
	}
	o->sampled = smp;
	o->decided = 1;
	return true;
}

static bool parse_b3_multi(const struct ctx_extractor *x, struct ids *o)
{
	const char *t = x->b3_trace, *s = x->b3_span;

	if (!have(x, F_B3_TRACE) || !have(x, F_B3_SPAN))
		return false;
	if (!b3_trace_id(t, strlen(t), o->trace_id) || strlen(s) != 16 || !unhex(s, 16, o->span_id, true) ||
	    zero(o->span_id, 8))
		return false;
	o->sampled = 1;
	if (have(x, F_B3_FLAGS) && !strcmp(x->b3_flags, "1")) {
		o->decided = 1;
	} else if (have(x, F_B3_SAMPLED)) {
		const char *v = x->b3_sampled;

		if (!strcmp(v, "1") || !strcmp(v, "true"))
			o->decided = 1;
		else if (!strcmp(v, "0") || !strcmp(v, "false"))
			o->decided = 1, o->sampled = 0;
		else
			return false;
	}
	return true;
}

/* Root=1-{8 hex epoch}-{24 hex};Parent={16 hex};Sampled={0|1|?} in any order, other keys ignored */
static bool parse_xray(const char *v, struct ids *o)
{
	bool root = false, parent = false;
	int smp = -1;

	while (*v) {
		const char *end = strchr(v, ';'), *eq;
		size_t n;

		if (!end)
			end = v + strlen(v);
		while (*v == ' ')
			v++;
		eq = memchr(v, '=', end - v);
		if (!eq)
			return false;
		n = end - (eq + 1);
		if (eq - v == 4 && !strncmp(v, "Root", 4)) {
			if (n != 35 || eq[1] != '1' || eq[2] != '-' || eq[11] != '-' ||
			    !unhex(eq + 3, 8, o->trace_id, false) || !unhex(eq + 12, 24, o->trace_id + 4, false) ||
			    zero(o->trace_id, 16))
				return false;
			root = true;
		} else if (eq - v == 6 && !strncmp(v, "Parent", 6)) {
			if (n != 16 || !unhex(eq + 1, 16, o->span_id, false) || zero(o->span_id, 8))
				return false;
			parent = true;
		} else if (eq - v == 7 && !strncmp(v, "Sampled", 7)) {
			if (n == 1 && (eq[1] == '0' || eq[1] == '1'))
				smp = eq[1] - '0';
			else if (!(n == 1 && eq[1] == '?'))
				return false;
		}
		v = *end ? end + 1 : end;
	}
	if (!root || !parent)
		return false;
	o->sampled = smp != 0;
	o->decided = smp >= 0;
	return true;
}

/* an unsigned decimal 64-bit number, no sign, no overflow */
static bool dec_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

static void be64(uint8_t *out, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = v & 0xff;
}

static bool parse_datadog(const struct ctx_extractor *x, struct ids *o)
{
	uint64_t t, p;

	if (!have(x, F_DD_TRACE) || !have(x, F_DD_PARENT) || !dec_u64(x->dd_trace, &t) || !dec_u64(x->dd_parent, &p) ||
	    !t || !p)
		return false;
	memset(o->trace_id, 0, 8);
	be64(o->trace_id + 8, t);
	be64(o->span_id, p);
	o->sampled = 1;
	if (have(x, F_DD_PRIO)) {
		const char *s = x->dd_priority;
		bool neg = *s == '-';
		uint64_t v;

		if (!dec_u64(s + neg, &v))
			return false;
		o->decided = 1;
		o->sampled = !neg && v > 0;
	}
	return true;
}

/* @src (a string shorter than @size) into @dst */
static void copy_str(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool ctx_extractor__finish(const struct ctx_extractor *x, struct trace_ctx *out)
{
	uint8_t decided = 0, sampled = 0;

	/* the fixed fields zeroed and the strings empty: their arrays are read as strings, never cleared whole */
	memset(out, 0, offsetof(struct trace_ctx, tracestate));
	out->tracestate[0] = out->baggage[0] = '\0';
	if (!x->baggage_bad && x->baggage[0])
		copy_str(out->baggage, x->baggage, sizeof(out->baggage));
	if (!x->seen)
		return false; /* no header of any format came: nothing to parse */
	for (int f = CTX_W3C; f <= CTX_DATADOG; f++) {
		struct ids c = { 0 };
		bool ok = false;

		switch (f) {
		case CTX_W3C:
			ok = have(x, F_TP) && parse_w3c(x->traceparent, &c);
			break;
		case CTX_B3:
			ok = have(x, F_B3) && parse_b3(x->b3, &c);
			break;
		case CTX_B3_MULTI:
			ok = parse_b3_multi(x, &c);
			break;
		case CTX_XRAY:
			ok = have(x, F_XRAY) && parse_xray(x->xray, &c);
			break;
		case CTX_DATADOG:
			ok = parse_datadog(x, &c);
			break;
		}
		if (ok) {
			memcpy(out->trace_id, c.trace_id, 16);
			memcpy(out->span_id, c.span_id, 8);
			out->sampled = c.sampled;
			out->decided = c.decided;
			out->valid = 1;
			out->format = f;
			if (f == CTX_W3C && !x->state_bad)
				copy_str(out->tracestate, x->tracestate, sizeof(out->tracestate));
			return true;
		}
		if (c.decided && !decided) { /* "b3: 0": a decision without ids */
			decided = 1;
			sampled = c.sampled;
		}
	}
	out->decided = decided;
	out->sampled = sampled;
	return false;
}

int tracectx__format_traceparent(char *buf, size_t len, const uint8_t trace_id[16], const uint8_t span_id[8],
				 bool sampled)
{
	if (len < 56)
		return -1;
	memcpy(buf, "00-", 3);
	hex__encode(buf + 3, trace_id, 16);
	buf[35] = '-';
	hex__encode(buf + 36, span_id, 8);
	buf[52] = '-';
	buf[53] = '0';
	buf[54] = sampled ? '1' : '0';
	buf[55] = '\0';
	return 55;
}
