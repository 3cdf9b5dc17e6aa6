#!/usr/bin/python3
"""grpc_receiver.py -- a tiny OTLP/gRPC receiver for tests (python grpcio): stores every request it accepts.

    /usr/bin/python3 grpc_receiver.py --dir DIR [--port 0] [--port-file FILE] [--max-seconds 60]
                                      [--fail N] [--code UNAVAILABLE] [--retry-delay SEC] [--partial N]
                                      [--discard]

The service stubs are generated at start with grpc_tools.protoc from the schema in tests/otlp (the
*_service.proto files) into a temporary directory.  Listens on 127.0.0.1 only, plaintext HTTP/2 (h2c); with
--port 0 the kernel picks the port, written to --port-file once listening.

The first N calls (over all services) end with status --code (a grpc.StatusCode name), with a
google.rpc.Status carrying RetryInfo{retry_delay = --retry-delay s} in grpc-status-details-bin when
--retry-delay is given; after that every call is answered OK with an empty response (or, with --partial N,
a partial_success rejecting N items with error_message "too old").

In DIR, accepted call number K (from 1) leaves K-traces.bin / K-logs.bin / K-metrics.bin (the request,
serialized: otlpdump.py reads the directory as it reads receiver.py's), and every call appends
"CODE SERVICE ITEMS" to DIR/requests.log (ITEMS: spans, log records or metrics in the request).
It exits by itself after --max-seconds.
"""
import argparse
import concurrent.futures
import importlib
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SIGNALS = (  # name, proto module, service, response class, partial-success field, count(request)
    ("traces", "opentelemetry.proto.collector.trace.v1.trace_service", "TraceService", "ExportTraceServiceResponse",
     "rejected_spans", lambda r: sum(len(ss.spans) for rs in r.resource_spans for ss in rs.scope_spans)),
    ("logs", "opentelemetry.proto.collector.logs.v1.logs_service", "LogsService", "ExportLogsServiceResponse",
     "rejected_log_records",
     lambda r: sum(len(sl.log_records) for rl in r.resource_logs for sl in rl.scope_logs)),
    ("metrics", "opentelemetry.proto.collector.metrics.v1.metrics_service", "MetricsService",
     "ExportMetricsServiceResponse", "rejected_data_points",
     lambda r: sum(len(sm.metrics) for rm in r.resource_metrics for sm in rm.scope_metrics)),
)


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(field, data):
    """a length-delimited protobuf field"""
    return bytes([field << 3 | 2]) + varint(len(data)) + data


def status_with_retry_info(code, seconds):
    """google.rpc.Status{1: code, 2: message, 3: Any{1: type_url, 2: RetryInfo{1: Duration{1: s, 2: ns}}}}"""
    dur = b"\x08" + varint(int(seconds)) + b"\x10" + varint(int(round((seconds % 1) * 1e9)))
    any_ = ld(1, b"type.googleapis.com/google.rpc.RetryInfo") + ld(2, ld(1, dur))
    return b"\x08" + varint(code) + ld(2, b"slow down") + ld(3, any_)


def generate(tmp):
    """the python stubs of every *_service.proto whose imports exist (metrics needs metrics/v1/metrics.proto)"""
    from grpc_tools import protoc
    protos = []
    for root, _, files in os.walk(os.path.join(HERE, "opentelemetry")):
        for f in files:
            if f.endswith(".proto"):
                protos.append(os.path.relpath(os.path.join(root, f), HERE))
    have = set(protos)
    if "opentelemetry/proto/metrics/v1/metrics.proto" not in have:
        protos = [p for p in protos if "metrics" not in p]
    inc = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main(["protoc", "-I" + HERE, "-I" + inc, "--python_out=" + tmp, "--grpc_python_out=" + tmp] + protos)
    if rc != 0:
        sys.exit("grpc_receiver: protoc failed")
    sys.path.insert(0, tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--code", default="UNAVAILABLE")
    ap.add_argument("--retry-delay", type=float)
    ap.add_argument("--partial", type=int)
    ap.add_argument("--discard", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="grpc_receiver.")
    generate(tmp)
    import grpc

    code = getattr(grpc.StatusCode, args.code)
    state = {"fail": args.fail, "accepted": 0}
    lock = threading.Lock()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))

    def make_servicer(name, mod, svc, resp_cls, rej_field, count):
        pb2 = importlib.import_module(mod + "_pb2")
        pb2_grpc = importlib.import_module(mod + "_pb2_grpc")

        class Servicer(getattr(pb2_grpc, svc + "Servicer")):
            def Export(self, request, context):
                n = count(request)
                with lock:
                    failing = state["fail"] > 0
                    if failing:
                        state["fail"] -= 1
                    with open(os.path.join(args.dir, "requests.log"), "a") as f:
                        f.write("%s %s %d\n" % (code.name if failing else "OK", name, n))
                    if not failing and not args.discard:
                        state["accepted"] += 1
                        base = os.path.join(args.dir, "%d-%s" % (state["accepted"], name))
                        with open(base + ".tmp", "wb") as f:
                            f.write(request.SerializeToString())
                        os.rename(base + ".tmp", base + ".bin")
                if failing:
                    if args.retry_delay is not None:
                        context.set_trailing_metadata(
                            (("grpc-status-details-bin", status_with_retry_info(code.value[0], args.retry_delay)),))
                    context.abort(code, "failing on purpose")
                resp = getattr(pb2, resp_cls)()
                if args.partial is not None:
                    setattr(resp.partial_success, rej_field, args.partial)
                    resp.partial_success.error_message = "too old"
                return resp

        getattr(pb2_grpc, "add_%sServicer_to_server" % svc)(Servicer(), server)

    for sig in SIGNALS:
        try:
            importlib.import_module(sig[1] + "_pb2")
        except ImportError:
            continue  # metrics without its schema
        make_servicer(*sig)
    port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    server.wait_for_termination(timeout=args.max_seconds)
    server.stop(0)
    subprocess.run(["rm", "-rf", tmp], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
