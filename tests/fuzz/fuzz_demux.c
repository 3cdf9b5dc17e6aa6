/* fuzz-srcs: collector/proto/demux.c collector/proto/demux_ops.c collector/proto/reorder.c collector/proto/h2_session.c collector/proto/h2_fields.c collector/signal/traces.c collector/signal/redseries.c collector/signal/metrics.c collector/signal/metrics_stream.c collector/signal/logs.c collector/signal/logline.c collector/signal/redact.c collector/signal/redact_rules.c collector/signal/redact_memo.c collector/signal/addrtext.c collector/signal/expo.c collector/export/linefile.c collector/export/otlp_json.c collector/export/otlp_group.c collector/base/log.c lib/proto/conn.c lib/proto/registry.c lib/proto/http2.c lib/proto/grpc.c lib/proto/h2_frame.c lib/proto/proto.c lib/proto/http1.c lib/proto/http1_conn.c lib/proto/http1_parser.c lib/proto/http1_route.c lib/proto/redis.c lib/proto/redis_conn.c lib/proto/redis_parser.c lib/proto/postgres.c lib/proto/postgres_wire.c lib/proto/postgres_frame.c lib/proto/postgres_sql.c lib/tracectx.c lib/sampler.c lib/randid.c lib/buckets.c lib/procstat.c collector/base/privs.c collector/export/otlp_pb.c collector/export/otlp.c collector/signal/hist.c collector/signal/names.c */
/* fuzz_demux.c -- the eBPF path's collector side as the payload ring feeds it: records of four sockets (their
 * own bytes or their TLS plaintext, either direction), their opening and closing, stdout writes, in an order and
 * with times the input chooses, parsed in place (collector/proto/demux.c), the trace operations held and popped
 * (reorder.c), spans and RED metrics made (signal/traces.c, a span file), log lines assembled (signal/logs.c).
 *
 * Input: operations until it ends, each a byte op:
 *   op % 4 == 0  payload: socket (op >> 2) & 3, TLS plaintext when op & 16, a write when op & 32; a u8 time
 *                step, a u8 length of the syscall's window, a u16 LE length L (at most 1,500), L bytes
 *   op % 4 == 1  the socket (op >> 2) & 3 opened (op & 16: accepted, else connected) or, op & 32, closed
 *   op % 4 == 2  a stdout write of the thread (op >> 2) & 3: a u8 length, its bytes
 *   op % 4 == 3  a flush of what is past the window (everything: the records' times are in the past)
 * then everything is flushed and the span lines written.
 * Checked: nothing crashes or leaks (ASan, UBSan, LeakSanitizer); the registry renders after it, and every
 * exchange counted in obsprobe_exchanges_total was observed once in its protocol's RED histogram. */
#include <stdlib.h>
#include <unistd.h>

#include "abi/syscalls.h"
#include "export/exporter.h"
#include "fuzz_util.h"
#include "proto/demux.h"
#include "signal/logs.h"
#include "signal/metrics.h"
#include "signal/redact.h"
#include "signal/traces.h"

/* no exporter is given (spans go to a file, log lines to /dev/null): what traces.c and logs.c would call on one
 * is never reached, and is not linked in (it brings libcurl) */
int exporter__push_span(struct exporter *e, const struct span *s)
{
	(void)e;
	(void)s;
	FUZZ_CHECK(!"an exporter was called");
	return -1;
}

int exporter__push_log(struct exporter *e, const struct log_record *r)
{
	(void)e;
	(void)r;
	FUZZ_CHECK(!"an exporter was called");
	return -1;
}

void exporter__stats(struct exporter *e, struct exporter_stats *out)
{
	(void)e;
	(void)out;
	FUZZ_CHECK(!"an exporter was called");
}

/* the sum of the values of the lines of @text that start with @prefix */
static uint64_t sum_lines(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	uint64_t sum = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, prefix, n)) {
			const char *sp = strchr(l, ' ');

			if (sp)
				sum += strtoull(sp + 1, NULL, 10);
		}
	return sum;
}

static void resource(void *ctx, int pid, struct span_resource *out)
{
	(void)ctx;
	snprintf(out->service_name, sizeof(out->service_name), "svc%d", pid & 3);
	out->pid = pid;
}

static void capture(void *ctx, uint64_t sk, uint32_t capv)
{
	(void)ctx;
	(void)sk;
	(void)capv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t bounds[] = { 1000, 1000000, 1000000000 };
	static uint8_t rec[sizeof(struct obs_data_event) + 1500];
	struct fz f = { data, size };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 3 };
	struct metrics *m = metrics__new(&mo);
	char err[256];
	struct redactor *red = redactor__new(NULL, err, sizeof(err));
	struct traces_opts to = { .metrics = m,
				  .redactor = red,
				  .spans_file = "/dev/null",
				  .host_name = "h",
				  .source = "ebpf",
				  .sample_ratio = 1.0,
				  .max_spans_per_second = 100000 };
	struct traces *t = NULL;
	struct logs *l = NULL;
	struct demux *d = NULL;
	struct logs_opts lo = { .metrics = m, .redactor = red, .log_file = "/dev/null" };
	struct demux_opts dop;
	uint64_t now = 1000000;
	size_t len;
	char *text;

	FUZZ_CHECK(m && red);
	t = traces__new(&to, err, sizeof(err));
	l = logs__new(&lo, err, sizeof(err));
	FUZZ_CHECK(t && l);
	dop = (struct demux_opts){ .traces = t,
				   .logs = l,
				   .metrics = m,
				   .max_conns = 3, /* four sockets and their TLS: eviction too */
				   .resource = resource,
				   .capture = capture };
	d = demux__new(&dop);
	FUZZ_CHECK(d);
	while (f.n) {
		uint8_t op = fz__u8(&f);
		int s = (op >> 2) & 3;

		if (op % 4 == 0) {
			struct obs_data_event *e = (struct obs_data_event *)rec;
			uint8_t step = fz__u8(&f), span = fz__u8(&f);
			uint16_t n = fz__u16(&f);

			if (n > 1500)
				n = 1500;
			memset(e, 0, sizeof(*e));
			now += step;
			e->type = OBS_EV_DATA;
			e->pid = 100 + (s & 1);
			e->tid = 200 + s;
			e->sk = 0x1000 + (uint64_t)s * 64;
			e->enter_ns = now;
			e->exit_ns = now + span;
			e->dir = op & 32 ? SC_TRANSMIT : SC_RECEIVE;
			e->stream = op & 16 ? OBS_STREAM_TLS : OBS_STREAM_SOCKET;
			e->family = 2;
			e->lport = (uint16_t)(s & 1 ? 40000 + s : 8080);
			e->rport = (uint16_t)(s & 1 ? 8080 : 40000 + (s ^ 1));
			memcpy(e->laddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
			memcpy(e->raddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
			n = (uint16_t)(n < f.n ? n : f.n);
			memcpy(rec + sizeof(*e), f.p, n);
			f.p += n;
			f.n -= n;
			e->caplen = n;
			e->total = n + (op & 64 ? fz__u8(&f) : 0); /* bytes the kernel did not copy */
			demux__event(d, rec, sizeof(*e) + n);
		} else if (op % 4 == 1) {
			struct obs_conn_event c;

			memset(&c, 0, sizeof(c));
			c.type = op & 32 ? OBS_EV_CLOSE : OBS_EV_CONN;
			c.pid = 100 + (s & 1);
			c.sk = 0x1000 + (uint64_t)s * 64;
			c.ts = now;
			c.dir = op & 16 ? SC_INBOUND : SC_OUTBOUND;
			c.family = 2;
			c.lport = (uint16_t)(s & 1 ? 40000 + s : 8080);
			c.rport = (uint16_t)(s & 1 ? 8080 : 40000 + (s ^ 1));
			memcpy(c.laddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
			memcpy(c.raddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
			demux__event(d, &c, sizeof(c));
		} else if (op % 4 == 2) {
			struct obs_data_event *e = (struct obs_data_event *)rec;
			uint8_t n = fz__u8(&f);

			memset(e, 0, sizeof(*e));
			e->type = OBS_EV_DATA;
			e->pid = 100 + (s & 1);
			e->tid = 200 + s;
			e->enter_ns = e->exit_ns = ++now;
			e->stream = OBS_STREAM_STDOUT;
			e->dir = SC_TRANSMIT;
			n = (uint8_t)(n < f.n ? n : f.n);
			memcpy(rec + sizeof(*e), f.p, n);
			f.p += n;
			f.n -= n;
			e->caplen = e->total = n;
			demux__event(d, rec, sizeof(*e) + n);
		} else {
			demux__flush(d, false);
		}
	}
	demux__flush(d, true);
	traces__poll(t);
	text = metrics__render(m, false, &len);
	FUZZ_CHECK(text != NULL);
	/* every exchange handed on was observed once, in its protocol's RED histogram */
	FUZZ_CHECK(sum_lines(text, "obsprobe_exchanges_total{") ==
		   sum_lines(text, "http_server_request_duration_seconds_count{") +
			   sum_lines(text, "http_client_request_duration_seconds_count{") +
			   sum_lines(text, "db_client_operation_duration_seconds_count{") +
			   sum_lines(text, "rpc_server_duration_seconds_count{") +
			   sum_lines(text, "rpc_client_duration_seconds_count{"));
	free(text);
	demux__free(d);
	logs__free(l);
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	return 0;
}
