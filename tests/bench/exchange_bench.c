/* exchange_bench.c -- the collector's cost per finished HTTP exchange: synthetic nginx-like exchanges (server,
 * GET, a few routes, 127.0.0.1 peers) straight into traces__start_exchange/traces__end_exchange: RED metrics,
 * describe(), redaction, route folding and, with a sink, the span.  Run under callgrind for instructions per
 * exchange (tests/bench/exchange_bench.sh); alone it prints ns per exchange (meaningless on a loaded machine).
 *
 * usage: exchange_bench N [nosink|file|sampled_out|client]
 *   nosink       no OTLP endpoint, no --spans-file (attach's defaults)
 *   file         --spans-file /dev/null: every span built and written as a JSON line
 *   sampled_out  --sample-ratio 0: RED metrics only, spans counted sampled_out
 *   client       client exchanges (Host header, server_address label), no sink
 * prints "exchange_bench MODE N ns_per_exchange X" */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t loopback[16];

static void fill(struct obs_exchange *x, long i, bool client)
{
	static const char *const targets[] = { "/", "/index.html", "/api/users/42?page=2", "/static/app.js" };

	memset(x, 0, sizeof(*x));
	x->proto = OBS_PROTO_HTTP1;
	x->kind = client ? OBS_X_CLIENT : OBS_X_SERVER;
	x->status = 200;
	x->version = 1;
	x->pid = 100;
	x->tid = 100 + (int)(i & 1);
	x->start_ns = 1000000 + (uint64_t)i * 1000;
	x->end_ns = x->start_ns + 50000 + (uint64_t)(i % 7) * 10000;
	x->response_bytes = 700;
	strcpy(x->op, "GET");
	strcpy(x->target, targets[i & 3]);
	strcpy(x->host, "127.0.0.1:7650");
	x->local.family = x->peer.family = AF_INET;
	memcpy(x->local.addr, loopback, 16);
	memcpy(x->peer.addr, loopback, 16);
	x->local.port = client ? (uint16_t)(40000 + (i & 15)) : 7650;
	x->peer.port = client ? 7650 : (uint16_t)(40000 + (i & 15));
}

/* the loop (exchange_bench.sh counts the two traces__ calls in it) */
__attribute__((noinline)) void run(struct traces *t, long n, bool client, const struct span_resource *res)
{
	struct obs_exchange x;
	struct trace_ctx in = { 0 };

	for (long i = 0; i < n; i++) {
		fill(&x, i, client);
		traces__start_exchange(t, &x, &in);
		traces__end_exchange(t, &x, res);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *mode = argc > 2 ? argv[2] : "nosink";
	uint64_t bounds[] = { 5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 8 };
	struct metrics *m = metrics__new(&mo);
	struct span_resource res = { .service_name = "nginx", .executable_name = "nginx", .pid = 100 };
	char err[256];
	struct redactor *red = redactor__new(NULL, err, sizeof(err));
	struct traces_opts to = { .metrics = m,
				  .redactor = red,
				  .sample_ratio = 1.0,
				  .max_spans_per_second = 1000000000,
				  .host_name = "bench",
				  .source = "ebpf" };
	struct traces *t;
	double t0, t1;

	inet_pton(AF_INET, "127.0.0.1", loopback);
	if (!strcmp(mode, "file"))
		to.spans_file = "/dev/null";
	else if (!strcmp(mode, "sampled_out"))
		to.sample_ratio = 0;
	else if (strcmp(mode, "nosink") && strcmp(mode, "client")) {
		fprintf(stderr, "usage: exchange_bench N [nosink|file|sampled_out|client]\n");
		return 2;
	}
	t = traces__new(&to, err, sizeof(err));
	if (!m || !red || !t) {
		fprintf(stderr, "exchange_bench: setup failed: %s\n", err);
		return 1;
	}
	run(t, 64, !strcmp(mode, "client"), &res); /* warm: series exist, caches filled */
	t0 = now_s();
	run(t, n, !strcmp(mode, "client"), &res);
	t1 = now_s();
	printf("exchange_bench %s %ld ns_per_exchange %.0f\n", mode, n, (t1 - t0) * 1e9 / (double)n);
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	return 0;
}
