/* fuzz-srcs: collector/cli/optval.c collector/export/url.c collector/signal/hist.c lib/buckets.c */
/* fuzz_optval.c -- every option value parser: numbers, durations, --buckets, --listen, URLs, --func,
 * --otlp-header and $OTEL_EXPORTER_OTLP_HEADERS entries.
 *
 * Input: a selector byte, then the value (up to a NUL, as from argv or a config string).  The first
 * byte after the selector also sizes the output buffers that take one (host name, header, error
 * text), each allocated exactly so that ASan sees a byte written past it.  Checked: accepted values
 * are in range; numbers and bucket lists format back to text that parses to the same value; outputs
 * stay within their buffers and NUL-terminated; every refusal says why. */
#include <math.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "signal/hist.h"
#include "cli/optval.h"
#include "export/url.h"

static void why_ok(const char *why)
{
	FUZZ_CHECK(!why || (why[0] && strlen(why) < 200));
}

static void buckets(const char *s, size_t errlen)
{
	struct hist_bounds b, again;
	char *err = malloc(errlen), list[OBS_MAX_BOUNDS * 32] = "", one[32];
	int rc;

	if (!err)
		return;
	rc = hist_bounds__parse(&b, s, err, errlen);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc) {
		FUZZ_CHECK(errlen == 0 || fz__terminated(err, errlen));
		goto cleanup;
	}
	FUZZ_CHECK(b.n >= 0 && b.n <= OBS_MAX_BOUNDS);
	for (int i = 0; i < b.n; i++) {
		FUZZ_CHECK(b.ns[i] > 0 && b.ns[i] <= 1000000000000000000ull);
		FUZZ_CHECK(i == 0 || b.ns[i] > b.ns[i - 1]);
		if (b.ns[i] >= 1000000000000000ull)
			goto cleanup; /* past 2^50 ns a double cannot carry every nanosecond back */
	}
	for (int i = 0; i < b.n; i++) {
		fmt_seconds(one, sizeof(one), b.ns[i]);
		strcat(list, i ? "," : "");
		strcat(list, one);
	}
	rc = hist_bounds__parse(&again, list, err, errlen);
	FUZZ_CHECK(rc == 0 && again.n == b.n && !memcmp(again.ns, b.ns, sizeof(b.ns[0]) * b.n));
cleanup:
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *out, again[64];
	size_t outlen;
	uint8_t which;
	double d;
	long l;
	int port;

	if (size < 1)
		return 0;
	which = data[0];
	outlen = size > 1 ? 1 + data[1] % 96 : 1; /* 1..96 bytes */
	s = malloc(size);
	out = malloc(outlen);
	if (!s || !out)
		goto cleanup;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (which % 9) {
	case 0:
		if (!optval_long(s, &l)) {
			snprintf(again, sizeof(again), "%ld", l);
			FUZZ_CHECK(!optval_long(again, &l) && !strcmp(again, (snprintf(out, outlen, "%ld", l), again)));
		}
		break;
	case 1: /* --duration, --sample-ratio */
		if (!optval_double(s, &d)) {
			double back;

			FUZZ_CHECK(isfinite(d));
			snprintf(again, sizeof(again), "%.17g", d);
			FUZZ_CHECK(!optval_double(again, &back) && back == d);
		}
		break;
	case 2:
		buckets(s, outlen);
		break;
	case 3:
		buckets(s, which >> 4); /* error texts into 0..15 bytes */
		break;
	case 4: {
		const char *why = optval_listen(s, out, outlen, &port);

		why_ok(why);
		if (!why) {
			FUZZ_CHECK(port >= 1 && port <= 65535);
			FUZZ_CHECK(fz__terminated(out, outlen) && out[0]);
		}
		break;
	}
	case 5:
		why_ok(url__check(s));
		break;
	case 6:
		why_ok(optval_func(s));
		break;
	case 7:
		why_ok(optval_header(s));
		break;
	case 8: {
		size_t n = strlen(s);

		optval_otel_header(s, n, out, outlen);
		FUZZ_CHECK(fz__terminated(out, outlen));
		break;
	}
	}
cleanup:
	free(s);
	free(out);
	return 0;
}
