/* fuzz-srcs: lib/tracectx.c */
/* fuzz_tracectx.c -- every trace-context header extractor, and what it formats parses back identically.
 *
 * Input: header lines "Name: value\n" as a parser hands them over (the value without surrounding
 * spaces and tabs; a line without ':' is a name with an empty value).  Checked:
 *   - the context found is consistent (valid means non-zero ids and a known format; strings stay
 *     terminated; tracestate only with a valid traceparent);
 *   - round trip: the ids and decision found, formatted as a traceparent, extract back identically,
 *     and the tracestate/baggage passed on extract back unchanged;
 *   - ids taken from the input, formatted and extracted, come back identical (all-zero ones refused);
 *   - the formatter never writes past a buffer too short for it. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "lib/tracectx.h"

static bool is_zero(const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (id[i])
			return false;
	return true;
}

static void check_ctx(const struct trace_ctx *c, bool ok)
{
	FUZZ_CHECK(ok == !!c->valid);
	FUZZ_CHECK(fz__terminated(c->tracestate, sizeof(c->tracestate)));
	FUZZ_CHECK(fz__terminated(c->baggage, sizeof(c->baggage)));
	if (c->valid) {
		FUZZ_CHECK(c->format >= CTX_W3C && c->format <= CTX_DATADOG);
		FUZZ_CHECK(!is_zero(c->trace_id, 16) && !is_zero(c->span_id, 8));
	} else {
		FUZZ_CHECK(c->format == CTX_NONE && !c->tracestate[0]);
	}
	FUZZ_CHECK(c->sampled <= 1 && c->decided <= 1);
	FUZZ_CHECK(!c->tracestate[0] || c->format == CTX_W3C);
}

static void header(struct ctx_extractor *x, const char *name, const char *val)
{
	ctx_extractor__header(x, name, strlen(name), val, strlen(val));
}

/* a traceparent for @trace/@span (and a tracestate and baggage) extracts back as itself */
static void round_trip(const uint8_t trace[16], const uint8_t span[8], bool sampled, const char *state,
		       const char *baggage)
{
	struct ctx_extractor *x = malloc(sizeof(*x));
	struct trace_ctx back;
	char tp[56];
	bool ok;

	if (!x)
		return;
	FUZZ_CHECK(tracectx__format_traceparent(tp, sizeof(tp), trace, span, sampled) == 55);
	FUZZ_CHECK(strlen(tp) == 55);
	ctx_extractor__init(x);
	header(x, "traceparent", tp);
	if (state[0])
		header(x, "tracestate", state);
	if (baggage[0])
		header(x, "baggage", baggage);
	ok = ctx_extractor__finish(x, &back);
	check_ctx(&back, ok);
	if (is_zero(trace, 16) || is_zero(span, 8)) {
		FUZZ_CHECK(!ok); /* W3C: all-zero ids are invalid */
	} else {
		FUZZ_CHECK(ok && back.format == CTX_W3C && back.decided && back.sampled == sampled);
		FUZZ_CHECK(!memcmp(back.trace_id, trace, 16) && !memcmp(back.span_id, span, 8));
		FUZZ_CHECK(!strcmp(back.tracestate, state));
	}
	FUZZ_CHECK(!strcmp(back.baggage, baggage));
	free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx_extractor *x = malloc(sizeof(*x));
	char *text = malloc(size + 1), *line, *next, *end, *colon, *v, *ve;
	struct trace_ctx out;
	uint8_t trace[16] = { 0 }, span[8] = { 0 };
	size_t k, tplen;
	char *tp;
	bool ok;

	if (!x || !text)
		goto cleanup;
	memcpy(text, data, size);
	text[size] = '\0';
	ctx_extractor__init(x);
	for (line = text, end = text + size; line < end; line = next) {
		size_t n = strcspn(line, "\n"); /* a NUL byte ends the value early: as a C string would */

		next = line + n + (line + n < end);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		colon = memchr(line, ':', n);
		v = colon ? colon + 1 : line + n;
		ve = line + n;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		ctx_extractor__header(x, line, colon ? (size_t)(colon - line) : n, v, ve - v);
	}
	ok = ctx_extractor__finish(x, &out);
	check_ctx(&out, ok);
	if (ok)
		round_trip(out.trace_id, out.span_id, out.sampled, out.tracestate, out.baggage);

	/* ids straight from the input's first bytes */
	k = size < 16 ? size : 16;
	memcpy(trace, data, k);
	memcpy(span, data + k, size - k < 8 ? size - k : 8);
	round_trip(trace, span, size & 1, "", "");

	/* a buffer too short: refused, nothing written (ASan watches the exact allocation) */
	tplen = size % 56;
	tp = malloc(tplen ? tplen : 1);
	if (tp) {
		FUZZ_CHECK(tracectx__format_traceparent(tp, tplen, trace, span, true) == -1);
		free(tp);
	}
cleanup:
	free(text);
	free(x);
	return 0;
}
