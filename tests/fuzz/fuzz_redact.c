/* fuzz-srcs: collector/signal/redact.c collector/signal/redact_rules.c */
/* fuzz_redact.c -- redaction of any text into output buffers of every small and odd size.
 *
 * Input: the text (bytes of any value; at most 2 KiB are used).  It is redacted with or without
 * extra patterns (chosen by the input) into an exactly sized heap buffer (ASan sees a byte written
 * past it) of sizes 0..3, 5, 8, 13, 16, around the size of the full result (found with a buffer
 * large enough), and a few sizes picked from the input.  Checked:
 * the result is NUL-terminated within the buffer and as long as returned; a refusal leaves "";
 * whenever the full result and the text both fit a buffer, that buffer gets exactly the full result
 * (the passes work in buffers of the caller's size: a text longer than the buffer may be refused
 * even when its redacted form would fit). */
#include <stdlib.h>

#include "fuzz_util.h"
#include "signal/redact.h"

#define TEXT_MAX 2048

static struct redactor *plain, *extra;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const patterns[] = { "ACCT-[0-9]{6}", "internal\\.corp", "(x|y)+z", NULL };
	char err[256];

	(void)argc;
	(void)argv;
	plain = redactor__new(NULL, err, sizeof(err));
	extra = redactor__new(patterns, err, sizeof(err));
	if (!plain || !extra) {
		fprintf(stderr, "fuzz_redact: redactor__new: %s\n", err);
		abort();
	}
	return 0;
}

/* redact into a buffer of exactly @outsize bytes; returns the result's length or -1 */
static int redact_into(struct redactor *r, const char *in, size_t n, size_t outsize, char *copy)
{
	char *out = malloc(outsize ? outsize : 1);
	int rc;

	if (!out)
		return -2;
	memset(out, 'Z', outsize);
	rc = redact__text(r, in, n, out, outsize);
	FUZZ_CHECK(rc >= -1);
	if (rc >= 0) {
		FUZZ_CHECK((size_t)rc < outsize);
		FUZZ_CHECK(out[rc] == '\0' && strlen(out) == (size_t)rc);
		if (copy)
			memcpy(copy, out, rc + 1);
	} else {
		FUZZ_CHECK(outsize == 0 || out[0] == '\0');
	}
	free(out);
	return rc;
}

static void one(struct redactor *r, const char *in, size_t n, struct fz_rng *rng)
{
	static const size_t small[] = { 0, 1, 2, 3, 5, 8, 13, 16 };
	size_t big = 2 * n + 64, sizes[32], ns = 0;
	char *full = NULL, *got = NULL;
	int full_len, rc;

	/* the full result: a buffer doubled until the result is well inside it (not refused, not cut) */
	for (;;) {
		free(full);
		full = malloc(big);
		if (!full)
			goto cleanup;
		full_len = redact_into(r, in, n, big, full);
		if ((full_len >= 0 && (size_t)full_len + 32 < big) || big > 64 * n + 4096)
			break;
		big *= 2;
	}
	got = malloc(big + 3); /* sizes go up to the full result + 2 */
	if (!got)
		goto cleanup;
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		sizes[ns++] = small[i];
	if (full_len >= 0)
		for (int d = -2; d <= 2; d++)
			if (full_len + d >= 0)
				sizes[ns++] = (size_t)(full_len + d);
	for (int i = 0; i < 3; i++)
		sizes[ns++] = fz_rng__below(rng, big + 1);
	for (size_t i = 0; i < ns; i++) {
		rc = redact_into(r, in, n, sizes[i], got);
		if (full_len >= 0 && sizes[i] > (size_t)full_len && sizes[i] > n) {
			FUZZ_CHECK(rc == full_len); /* it fits: nothing may be cut or refused */
			FUZZ_CHECK(!memcmp(got, full, full_len + 1));
		}
	}
cleanup:
	free(full);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < TEXT_MAX ? size : TEXT_MAX;
	char *in = malloc(n ? n : 1); /* not NUL-terminated: the redactor gets a length */
	struct fz_rng rng;

	if (!in)
		return 0;
	memcpy(in, data, n);
	fz_rng__seed(&rng, data, size);
	one(fz_rng__below(&rng, 2) ? extra : plain, in, n, &rng);
	FUZZ_CHECK(redact__header_is_secret(in, n) == redact__header_is_secret(in, n));
	free(in);
	return 0;
}
