/* encode_bench.c -- the OTLP encoders' cost per span: nginx-like server spans (the attributes traces.c gives an
 * HTTP server span) encoded in batches as protobuf, OTLP/JSON, --spans-file lines, and the protobuf batch gzipped
 * at a zlib level.  Run under callgrind for instructions per span (tests/bench/encode_bench.sh counts run()).
 *
 * usage: encode_bench N pb|json|line|gzip1|gzip6 [batch]
 * prints "encode_bench MODE N batch B bytes_per_span X" (gzip: compressed bytes of the protobuf batch) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/otlp.h"
#include "export/otlp_json.h"

enum mode { PB, JSON, LINE, GZIP };

static uint64_t rnd(void)
{
	static uint64_t x = 0x2545f4914f6cdd1dull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static void fill(struct span *s, long i)
{
	static const char *const targets[] = { "/", "/index.html", "/api/users/42?page=2", "/static/app.js" };
	char tmp[64];

	memset(s, 0, sizeof(*s));
	for (int k = 0; k < 16; k++) /* random, as real ids are: gzip cannot squeeze them */
		s->trace_id[k] = (uint8_t)rnd();
	for (int k = 0; k < 8; k++)
		s->span_id[k] = (uint8_t)rnd();
	span__copy_str(s->name, sizeof(s->name), "GET");
	s->kind = SPAN_KIND_SERVER;
	s->flags = SPAN_FLAG_SAMPLED | SPAN_FLAG_HAS_IS_REMOTE;
	s->start_ns = 1765000000000000000ull + (uint64_t)i * 1000;
	s->end_ns = s->start_ns + 50000 + (uint64_t)(i % 7) * 10000;
	span__copy_str(s->resource.service_name, SPAN_RES_STR_LEN, "nginx");
	span__copy_str(s->resource.executable_name, SPAN_RES_STR_LEN, "nginx");
	s->resource.pid = 100;
	span__add_str(s, "http.request.method", "GET");
	span__add_str(s, "url.path", targets[i & 3]);
	span__add_str(s, "url.scheme", "http");
	span__add_int(s, "http.response.status_code", 200);
	span__add_str(s, "network.protocol.version", "1.1");
	span__add_str(s, "server.address", "127.0.0.1");
	span__add_int(s, "server.port", 7650);
	span__add_str(s, "client.address", "127.0.0.1");
	snprintf(tmp, sizeof(tmp), "%ld", 40000 + (i & 15));
	span__add_int(s, "client.port", atol(tmp));
	span__add_int(s, "thread.id", 100 + (i & 1));
}

static int gzip_level(struct otlp_buf *out, const struct otlp_buf *in, int level)
{
	z_stream zs = { 0 };
	int rc;

	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	otlp_buf__reset(out);
	if (otlp_buf__reserve(out, deflateBound(&zs, (uLong)in->len)))
		return -1;
	zs.next_in = in->data;
	zs.avail_in = (uInt)in->len;
	zs.next_out = out->data;
	zs.avail_out = (uInt)out->cap;
	rc = deflate(&zs, Z_FINISH);
	out->len = zs.total_out;
	deflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* encode @n spans in batches of @batch; returns the bytes produced (gzip: compressed) */
__attribute__((noinline)) size_t run(const struct span *spans, long n, long batch, enum mode m, int level,
				     struct otlp_buf *b, struct otlp_buf *gz)
{
	static const struct otlp_host host = { .name = "bench", .instance_id = "2f0c8a3e-1b7d-4c55-9a6e-3d2b1f0e9c44" };
	size_t bytes = 0;

	for (long i = 0; i < n; i += batch) {
		long k = n - i < batch ? n - i : batch;
		const struct span *s = spans + (i % 4096);

		otlp_buf__reset(b);
		if (m == LINE) {
			for (long j = 0; j < k; j++) {
				otlp_buf__reset(b);
				if (otlp__span_line(b, s + j, &host))
					abort();
				bytes += b->len;
			}
			continue;
		}
		if ((m == JSON ? otlp__traces_json(b, s, (size_t)k, &host) : otlp__traces_pb(b, s, (size_t)k, &host)))
			abort();
		if (m == GZIP) {
			if (gzip_level(gz, b, level))
				abort();
			bytes += gz->len;
		} else {
			bytes += b->len;
		}
	}
	return bytes;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000, batch = argc > 3 ? atol(argv[3]) : 512;
	const char *ms = argc > 2 ? argv[2] : "pb";
	static struct span spans[4096 + 2048];
	struct otlp_buf b = { 0 }, gz = { 0 };
	enum mode m;
	int level = 0;
	size_t bytes;

	if (!strcmp(ms, "pb"))
		m = PB;
	else if (!strcmp(ms, "json"))
		m = JSON;
	else if (!strcmp(ms, "line"))
		m = LINE;
	else if (!strncmp(ms, "gzip", 4) && ms[4] >= '1' && ms[4] <= '9')
		m = GZIP, level = ms[4] - '0';
	else {
		fprintf(stderr, "usage: encode_bench N pb|json|line|gzip1..9 [batch <= 2048]\n");
		return 2;
	}
	if (batch < 1 || batch > 2048 || n < 1) {
		fprintf(stderr, "encode_bench: batch 1..2048, N >= 1\n");
		return 2;
	}
	n -= n % batch ? n % batch : 0; /* whole batches: spans + (i % 4096) + batch stays in the array */
	if (!n)
		n = batch;
	for (long i = 0; i < 4096 + 2048; i++)
		fill(&spans[i], i);
	bytes = run(spans, n, batch, m, level, &b, &gz);
	printf("encode_bench %s %ld batch %ld bytes_per_span %.1f\n", ms, n, batch, (double)bytes / (double)n);
	otlp_buf__free(&b);
	otlp_buf__free(&gz);
	return 0;
}
