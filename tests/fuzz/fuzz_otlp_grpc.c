/* fuzz-srcs: collector/export/otlp_grpc.c collector/export/otlpresp.c */
/* fuzz_otlp_grpc.c -- libFuzzer harness for what an OTLP/gRPC receiver sends back (export/otlp_grpc.c): header and
 * trailer lines (grpc-status, grpc-message, grpc-status-details-bin with RetryInfo), a google.rpc.Status, a framed
 * response message (then otlpresp__parse), base64.  The first byte picks which (low 2 bits), the rest is the input;
 * header lines are separated by '\n'. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "export/otlp_grpc.h"
#include "export/otlpresp.h"

static void check_status(const struct grpc_status *st)
{
	if (st->code < -1 || st->code > 16)
		__builtin_trap();
	if (st->retry_delay_ms < -1 || st->retry_delay_ms > 3600000)
		__builtin_trap(); /* RetryInfo is capped at an hour */
	if (st->bad_details && st->retry_delay_ms != -1)
		__builtin_trap();
	if (!memchr(st->msg, '\0', sizeof(st->msg)))
		__builtin_trap();
	for (size_t i = 0; st->msg[i]; i++)
		if ((unsigned char)st->msg[i] < 0x20 || st->msg[i] == 0x7f)
			__builtin_trap(); /* the receiver's text goes to our stderr */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grpc_status st;
	const uint8_t *in = data + 1, *msg;
	size_t len = size ? size - 1 : 0, mlen;
	uint8_t out[64];
	char text[64];
	uint64_t rejected;
	long ms, n;
	bool z;

	if (!size)
		return 0;
	switch (data[0] & 3) {
	case 0:
		otlp_grpc__status_reset(&st);
		for (size_t i = 0; i < len;) {
			const uint8_t *nl = memchr(in + i, '\n', len - i);
			size_t l = nl ? (size_t)(nl - (in + i)) + 1 : len - i;

			otlp_grpc__header(&st, (const char *)in + i, l);
			check_status(&st);
			i += l;
		}
		break;
	case 1:
		if (otlp_grpc__retry_info(in, len, &ms) && ms != -1)
			__builtin_trap();
		if (ms < -1 || ms > 3600000)
			__builtin_trap();
		break;
	case 2:
		if (otlp_grpc__unframe(in, len, &msg, &mlen, &z) == 0) {
			if (mlen + GRPC_PREFIX != len || msg != in + GRPC_PREFIX)
				__builtin_trap();
			if (otlpresp__parse(msg, mlen, false, &rejected, text, sizeof(text)) && (rejected || text[0]))
				__builtin_trap();
		}
		break;
	default:
		n = otlp_grpc__base64((const char *)in, len, out, sizeof(out));
		if (n > (long)sizeof(out) || (n >= 0 && (size_t)n > len * 3 / 4))
			__builtin_trap();
		break;
	}
	return 0;
}
