/* span_bench.c -- spans exported per second: HTTP exchanges through traces (RED metrics, redaction, span build)
 * and the OTLP exporter (protobuf, gzip, libcurl) into an in-process sink: libmicrohttpd for OTLP/HTTP, an nghttp2 h2c
 * server (h2sink.c) for OTLP/gRPC; run pinned to one core.
 *
 * usage: span_bench N [grpc]   prints "spans_per_sec X exported Y dropped Z protocol P" */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export/exporter.h"
#include "h2sink.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

static enum MHD_Result sink(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			    const char *version, const char *data, size_t *size, void **ptr)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)data;
	if (!*ptr) {
		*ptr = &marker;
		return MHD_YES;
	}
	if (*size) {
		*size = 0; /* swallow the body */
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/x-protobuf");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	bool grpc = argc > 2 && !strcmp(argv[2], "grpc");
	int port;
	uint64_t bounds[] = { 1000, 10000, 100000, 1000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 4 };
	struct metrics *m = metrics__new(&mo);
	struct MHD_Daemon *d =
		MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, sink, NULL, MHD_OPTION_END);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char url[64], err[256];
	struct exporter_opts eo = { .endpoint = url, .span_queue = 65536, .batch_max = 2048, .batch_delay_ms = 50 };
	struct redactor *red = redactor__new(NULL, err, sizeof(err));
	struct exporter *e;
	struct traces *t;
	struct traces_opts to;
	struct span_resource res = { .service_name = "bench", .executable_name = "bench", .pid = 1 };
	struct exporter_stats st;
	double t0, t1;

	port = grpc ? h2sink__start() : (int)info->port;
	if (port < 0) {
		fprintf(stderr, "span_bench: no gRPC sink\n");
		return 1;
	}
	eo.protocol = grpc ? OTLP_GRPC : OTLP_HTTP_PROTOBUF;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	e = exporter__new(&eo);
	to = (struct traces_opts){ .metrics = m,
				   .exporter = e,
				   .redactor = red,
				   .sample_ratio = 1.0,
				   .max_spans_per_second = 1e9,
				   .source = "ebpf" };
	t = traces__new(&to, err, sizeof(err));
	if (!m || !d || !red || !e || !t) {
		fprintf(stderr, "span_bench: setup failed %s\n", err);
		return 1;
	}
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct obs_exchange x = { .kind = 2,
					  .sampled = 1,
					  .status = 200,
					  .proto = OBS_PROTO_HTTP1,
					  .version = 1,
					  .pid = 1,
					  .tid = 1 };
		struct trace_ctx in = { 0 };

		x.start_ns = 1000000 + i * 1000;
		x.end_ns = x.start_ns + 50000;
		snprintf(x.op, sizeof(x.op), "GET");
		snprintf(x.target, sizeof(x.target), "/api/users/%ld?page=2", i);
		snprintf(x.host, sizeof(x.host), "shop.example:8080");
		snprintf(x.agent, sizeof(x.agent), "curl/7.88.1");
		traces__start_exchange(t, &x, &in);
		traces__end_exchange(t, &x, &res);
		if ((i & 1023) == 0) {
			exporter__stats(e, &st);
			while (st.spans_queued > 60000) { /* stay under the queue: measure throughput, not drops */
				usleep(1000);
				exporter__stats(e, &st);
			}
		}
	}
	exporter__shutdown(e);
	t1 = now_s();
	exporter__stats(e, &st);
	printf("spans_per_sec %.0f exported %llu dropped %llu protocol %s\n", st.spans_exported / (t1 - t0),
	       (unsigned long long)st.spans_exported,
	       (unsigned long long)(st.spans_queue_full + st.spans_export_failed), grpc ? "grpc" : "http/protobuf");
	traces__free(t);
	exporter__free(e);
	redactor__free(red);
	MHD_stop_daemon(d);
	metrics__free(m);
	return 0;
}
