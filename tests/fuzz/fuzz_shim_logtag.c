/* fuzz-srcs: preload/inject.c lib/tracectx.c */
/* fuzz_shim_logtag.c -- libFuzzer harness for the shim's log-line tag: a buffer of exactly the size given
 * (ASan sees one byte past it), separate and in place; the result is the line, the tag, the newline, or nothing.
 * Input: bytes 0-1 = the output buffer's size (little-endian, 1-8192), byte 2 = 1 for in place, then the line. */
#include <stdlib.h>
#include <string.h>

#include "preload/inject.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t trace[16] = { 0xde, 0xad, 0xbe, 0xef }, span[8] = { 0xca, 0xfe };
	size_t cap, n, len;
	char *out, *line;
	bool inplace;

	if (size < 3)
		return 0;
	cap = (data[0] | data[1] << 8) % 8192 + 1;
	inplace = data[2] & 1;
	n = size - 3;
	line = malloc(n ? n : 1);
	memcpy(line, data + 3, n);
	if (inplace) {
		if (n > cap) {
			free(line);
			return 0;
		}
		out = malloc(cap);
		memcpy(out, line, n);
		len = logtag__build(out, cap, out, n, trace, span);
	} else {
		out = malloc(cap);
		len = logtag__build(out, cap, line, n, trace, span);
	}
	if (len) {
		CHECK(len == n + LOGTAG_LEN && len <= cap);
		CHECK(line[n - 1] == '\n' && !memchr(line, '\n', n - 1));
		CHECK(!memcmp(out, line, n - 1) && out[len - 1] == '\n' && !memchr(out, '\n', len - 1));
		CHECK(!memcmp(out + n - 1, " trace_id=deadbeef", 18) && !memcmp(out + n + 41, " span_id=cafe", 13));
	} else {
		CHECK(n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1) || n + LOGTAG_LEN > cap);
	}
	free(out);
	free(line);
	return 0;
}
