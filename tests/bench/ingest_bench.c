/* ingest_bench.c -- the collector's ingest path alone: synthetic obs_data_event records of N keep-alive HTTP/1.1
 * exchanges (16 connections, a 700-byte page) fed through demux__event as the ring callback does, flushed in
 * batches as the 200 ms poll does, into RED metrics (no export). Count it with callgrind (ingest_bench.sh):
 * everything between the two feed_all() toggles is the per-exchange cost.
 *
 * usage: ingest_bench N   prints "ingest_bench exchanges N held_max H" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/syscalls.h"
#include "proto/demux.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

#define NCONNS 16
#define BATCH 4000 /* exchanges between flushes: 200 ms at 20,000 requests/s */

static const char request[] = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:7600\r\nUser-Agent: wrk\r\n\r\n";
static char response[1024];
static size_t response_len;

static void resource(void *ctx, int pid, struct span_resource *out)
{
	(void)ctx;
	snprintf(out->service_name, sizeof(out->service_name), "nginx");
	snprintf(out->executable_name, sizeof(out->executable_name), "nginx");
	out->pid = pid;
}

static void capture(void *ctx, uint64_t sk, uint32_t capv)
{
	(void)ctx, (void)sk, (void)capv;
}

static void data(struct demux *d, uint64_t sk, int conn, int dir, uint64_t enter, uint64_t exit, const void *bytes,
		 size_t n)
{
	static uint64_t buf[(sizeof(struct obs_data_event) + 2048) / 8];
	struct obs_data_event *e = (void *)buf;

	memset(e, 0, sizeof(*e));
	e->type = OBS_EV_DATA;
	e->pid = 100 + conn % 2; /* two workers */
	e->tid = e->pid;
	e->fd = 10 + conn;
	e->sk = sk;
	e->enter_ns = enter;
	e->exit_ns = exit;
	e->total = e->caplen = n;
	e->dir = dir;
	e->stream = OBS_STREAM_SOCKET;
	memcpy(buf + sizeof(*e) / 8, bytes, n);
	demux__event(d, buf, sizeof(*e) + n);
}

/* __attribute__((noinline)): callgrind's --toggle-collect names it */
__attribute__((noinline)) void feed_all(struct demux *d, long n)
{
	uint64_t ts = 1000000;

	for (long i = 0; i < n; i++) {
		int c = (int)(i % NCONNS);
		uint64_t sk = 0xffff888000000000ull + (uint64_t)c * 4096;

		/* the worker reads the request, then writes head and page in one writev */
		data(d, sk, c, SC_RECEIVE, ts, ts + 2000, request, sizeof(request) - 1);
		data(d, sk, c, SC_TRANSMIT, ts + 9000, ts + 12000, response, response_len);
		ts += 25000;
		if (i % BATCH == BATCH - 1)
			demux__flush(d, false); /* every timestamp is older than the window: all of them go */
	}
	demux__flush(d, true);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	static const uint64_t bounds[] = { 1000, 10000, 100000, 1000000, 10000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 5 };
	struct metrics *m = metrics__new(&mo);
	char err[256];
	struct redactor *red = redactor__new(NULL, err, sizeof(err));
	struct traces_opts to = { .metrics = m,
				  .redactor = red,
				  .host_name = "bench",
				  .source = "ebpf",
				  .sample_ratio = 1.0,
				  .max_spans_per_second = 10000 };
	struct traces *t = m && red ? traces__new(&to, err, sizeof(err)) : NULL;
	struct demux_opts dop = { .traces = t, .metrics = m, .resource = resource, .capture = capture };
	struct demux *d = t ? demux__new(&dop) : NULL;
	int hl;

	if (!d) {
		fprintf(stderr, "ingest_bench: setup failed %s\n", err);
		return 1;
	}
	hl = snprintf(response, sizeof(response),
		      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 09:36:00 GMT\r\n"
		      "Content-Type: text/html\r\nContent-Length: 700\r\nLast-Modified: Mon, 07 Dec 2026 09:00:00 "
		      "GMT\r\nConnection: keep-alive\r\nETag: \"6571a0a0-2bc\"\r\nAccept-Ranges: bytes\r\n\r\n");
	memset(response + hl, 'x', 700);
	response_len = hl + 700;
	feed_all(d, n);
	printf("ingest_bench exchanges %ld\n", n);
	demux__free(d);
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	return 0;
}
