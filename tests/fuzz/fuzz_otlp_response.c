/* fuzz-srcs: collector/export/otlpresp.c */
/* fuzz_otlp_response.c -- libFuzzer harness for otlpresp__parse: OTLP/HTTP success bodies as a receiver sends them.
 * The first byte picks the encoding (bit 0: JSON), the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "export/otlpresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[64];
	uint64_t rejected;

	if (!size)
		return 0;
	if (otlpresp__parse(data + 1, size - 1, data[0] & 1, &rejected, msg, sizeof(msg)) == 0) {
		for (size_t i = 0; msg[i]; i++)
			if ((unsigned char)msg[i] < 0x20)
				__builtin_trap(); /* control characters never reach stderr */
	} else if (rejected || msg[0]) {
		__builtin_trap(); /* a body that does not decode rejects nothing */
	}
	return 0;
}
