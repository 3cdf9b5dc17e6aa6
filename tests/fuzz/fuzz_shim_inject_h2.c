/* fuzz-srcs: preload/inject_h2.c lib/tracectx.c */
/* fuzz_shim_inject_h2.c -- libFuzzer harness for the shim's HTTP/2 injection: a connection's outgoing bytes
 * followed, then one write, cut into any iovecs, either comes back unplanned or as exactly the program's bytes
 * with one HEADERS frame grown by our field (its length right, its flags, stream and block kept, the field before
 * its padding), and what the program is told is its own bytes for every count the kernel may take.
 * Input: byte 0 = iovec cuts (low 3 bits: 1-8 iovecs, the rest seeds the cut points), bytes 1-2 (big-endian) =
 * bit 15: the client preface is followed first, bit 14: sampled, bits 0-13: bytes of the rest followed before
 * the write (at most all); the rest = the connection's outgoing bytes. */
#include <stdlib.h>
#include <string.h>

#include "preload/inject_h2.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inject_h2_plan plan;
	static const uint8_t trace_id[16] = { 1, 2, 3 }, span_id[8] = { 4, 5, 6 };
	static uint8_t out[INJH2_COPY_MAX + 2 * INJH2_FRAME_MAX];
	struct inject_h2_track t;
	struct iovec iov[8];
	const uint8_t *buf;
	size_t n, pre, at = 0, outlen = 0;
	unsigned seed;
	int cnt;

	if (size < 3)
		return 0;
	cnt = (data[0] & 7) + 1;
	seed = data[0] >> 3;
	n = size - 3;
	pre = ((size_t)(data[1] & 0x3f) << 8 | data[2]);
	if (pre > n)
		pre = n;
	inject_h2__track_init(&t);
	if (data[1] & 0x80)
		inject_h2__track(&t, (const uint8_t *)H2_PREFACE, H2_PREFACE_LEN);
	inject_h2__track(&t, data + 3, pre);
	buf = data + 3 + pre;
	n -= pre;
	if (n > INJH2_COPY_MAX)
		n = INJH2_COPY_MAX;
	for (int i = 0; i < cnt; i++) {
		size_t k = i == cnt - 1 ? n - at : (n - at) ? (seed * 7 + i * 13) % (n - at + 1) : 0;

		iov[i].iov_base = (void *)(buf + at);
		iov[i].iov_len = k;
		at += k;
	}
	if (inject_h2__plan(&plan, &t, iov, cnt, buf, n, trace_id, span_id, data[1] & 0x40) == INJH2_OK) {
		const uint8_t *f = buf + plan.at, *o;
		size_t len = (size_t)f[0] << 16 | f[1] << 8 | f[2], pad = f[4] & 0x8 ? f[9] : 0, frag;
		bool cut;
		size_t sent;

		CHECK(inject_h2__proven(&t) && !t.own_tp && !t.head_have);
		CHECK(plan.iovcnt <= cnt + 2 && plan.plen == 9 + len && plan.at + plan.plen <= n);
		CHECK(plan.flen == plan.plen + INJH2_FIELD_LEN && plan.flen <= 9 + INJH2_FRAME_MAX);
		CHECK(f[3] == 1 && (f[4] & 0x4) && (plan.stream & 1) && plan.stream > t.max_stream);
		for (int i = 0; i < plan.iovcnt; i++) {
			memcpy(out + outlen, plan.iov[i].iov_base, plan.iov[i].iov_len);
			outlen += plan.iov[i].iov_len;
		}
		CHECK(outlen == n + INJH2_FIELD_LEN);
		/* the program's bytes around our frame unchanged */
		CHECK(!memcmp(out, buf, plan.at));
		CHECK(!memcmp(out + plan.at + plan.flen, buf + plan.at + plan.plen, n - plan.at - plan.plen));
		/* our frame: the length grown, type, flags and stream kept, the block, the field, the padding */
		o = out + plan.at;
		CHECK(((size_t)o[0] << 16 | o[1] << 8 | o[2]) == len + INJH2_FIELD_LEN && !memcmp(o + 3, f + 3, 6));
		frag = len - pad;
		CHECK(!memcmp(o + 9, f + 9, frag));
		CHECK(o[9 + frag] == 0x00 && o[10 + frag] == 11 && !memcmp(o + 11 + frag, "traceparent", 11));
		CHECK(o[22 + frag] == 55 && !memcmp(o + 23 + frag, "00-01020300", 11));
		CHECK(!memcmp(o + 9 + frag + INJH2_FIELD_LEN, f + 9 + frag, pad));
		/* what the program is told for every count the kernel may take */
		for (size_t r = 0; r <= outlen; r++) {
			ssize_t told = inject_h2__count(&plan, (ssize_t)r, &cut, &sent);

			CHECK(cut == (r > plan.at && r < plan.at + plan.flen));
			CHECK(told >= 0 && (size_t)told <= n && (size_t)told <= r);
			CHECK(cut ? (size_t)told == plan.at && sent == r - plan.at
				  : (size_t)told == (r <= plan.at ? r : r - INJH2_FIELD_LEN));
		}
		CHECK(inject_h2__count(&plan, -1, &cut, &sent) == -1 && !cut);
	}
	/* the write followed too: whatever it was, the tracker survives it */
	inject_h2__track(&t, buf, n);
	CHECK(t.state <= INJH2_DEAD && t.head_have < 9 && t.ntail <= INJH2_TAIL);
	return 0;
}
