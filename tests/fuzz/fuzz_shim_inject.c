/* fuzz-srcs: preload/inject.c lib/tracectx.c */
/* fuzz_shim_inject.c -- libFuzzer harness for the shim's injection plan: any write, cut into any iovecs, either
 * comes back unplanned or as exactly the program's bytes with well-formed header lines after a valid request line.
 * Input: byte 0 = iovec cuts (low 3 bits: 1-8 iovecs, the rest seeds the cut points), byte 1 = flags (1 sampled,
 * 2 pass tracestate, 4 pass baggage), then the bytes the program writes; the last 40 bytes (when there are more than
 * 80) double as tracestate/baggage values. */
#include <stdlib.h>
#include <string.h>

#include "preload/inject.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inject_plan plan;
	struct inject_ids ids = { .trace_id = { 1, 2, 3 }, .span_id = { 4, 5, 6 } };
	struct iovec iov[8];
	char state[21] = "", baggage[21] = "", *buf, *out, *head;
	size_t n, at = 0, headlen, outlen = 0;
	unsigned seed;
	int cnt;

	if (size < 2)
		return 0;
	cnt = (data[0] & 7) + 1;
	seed = data[0] >> 3;
	ids.sampled = data[1] & 1;
	n = size - 2;
	if (n > 80) {
		memcpy(state, data + size - 40, 20);
		memcpy(baggage, data + size - 20, 20);
	}
	ids.tracestate = (data[1] & 2) ? state : NULL;
	ids.baggage = (data[1] & 4) ? baggage : NULL;
	buf = malloc(n + 1);
	memcpy(buf, data + 2, n);
	for (int i = 0; i < cnt; i++) {
		size_t k = i == cnt - 1 ? n - at : (n - at) ? (seed * 7 + i * 13) % (n - at + 1) : 0;

		iov[i].iov_base = buf + at;
		iov[i].iov_len = k;
		at += k;
	}
	headlen = n < INJECT_HEAD_MAX ? n : INJECT_HEAD_MAX;
	head = malloc(headlen + 1);
	memcpy(head, buf, headlen);
	if (inject__plan(&plan, iov, cnt, head, headlen, &ids)) {
		bool cut;

		/* the request line is one the shim injects after, and the head it starts ends in this write */
		CHECK(plan.line == inject__request_line(buf, n) && plan.line >= 14);
		CHECK(!memcmp(buf + plan.line - 11, " HTTP/1.", 8) && memmem(buf, headlen, "\r\n\r\n", 4));
		CHECK(plan.iovcnt <= cnt + 2 && plan.need == plan.line + plan.hdrlen);
		/* our lines: traceparent first, each "name: value" CRLF, nothing that ends the head */
		CHECK(plan.hdrlen >= 70 && !memcmp(plan.hdr, "traceparent: 00-", 16));
		CHECK(!memcmp(plan.hdr + plan.hdrlen - 2, "\r\n", 2) && !memmem(plan.hdr, plan.hdrlen, "\r\n\r\n", 4));
		for (size_t i = 1; i < plan.hdrlen; i++)
			CHECK(plan.hdr[i] != '\n' || plan.hdr[i - 1] == '\r');
		/* the write built: the program's bytes with ours after the request line, nothing else */
		out = malloc(n + plan.hdrlen + 1);
		for (int i = 0; i < plan.iovcnt; i++) {
			memcpy(out + outlen, plan.iov[i].iov_base, plan.iov[i].iov_len);
			outlen += plan.iov[i].iov_len;
		}
		CHECK(outlen == n + plan.hdrlen);
		CHECK(!memcmp(out, buf, plan.line) && !memcmp(out + plan.line, plan.hdr, plan.hdrlen));
		CHECK(!memcmp(out + plan.line + plan.hdrlen, buf + plan.line, n - plan.line));
		free(out);
		/* what the program is told for every count the kernel may take */
		for (size_t r = 0; r <= outlen; r++) {
			ssize_t told = inject__count(&plan, (ssize_t)r, &cut);

			CHECK(cut == (r > plan.line && r < plan.need));
			CHECK(told >= 0 && (size_t)told <= n && (size_t)told <= r);
			CHECK(cut || (size_t)told == (r <= plan.line ? r : r - plan.hdrlen));
		}
		CHECK(inject__count(&plan, -1, &cut) == -1 && !cut);
	}
	free(head);
	free(buf);
	return 0;
}
