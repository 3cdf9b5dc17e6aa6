#!/usr/bin/python3
"""grpc_app.py -- real gRPC programs with exactly known behaviour, for the HTTP/2 and gRPC integration tests.

Run with /usr/bin/python3 (Debian's python3-grpcio and python3-grpc-tools). The service is obsdemo.proto next to
this file; its stubs are generated at run time with grpc_tools.protoc into --stubs DIR (or $OBSDEMO_STUBS), once:
later runs with the same directory reuse them. Without either, a private temporary directory is used and removed.

  server --port P [--fail-code CODE] [--record FILE] [--forward HOST:PORT] [--tls CERT KEY] [--workers N]
      Serves obsdemo.Demo on 127.0.0.1:P and prints "ready" (flushed) once listening. Unary answers one Resp,
      ServerStream answers Req.count Resps, Fail aborts with CODE (UNAVAILABLE by default); every answer carries
      Req.size bytes of pad. --record appends one JSON line per call (method, peer, invocation metadata, pid, tid,
      request fields) before answering. --forward: Unary first calls Unary on HOST:PORT (no metadata passed on).
  client --target HOST:PORT [--unary N] [--stream M] [--stream-count K] [--fail F] [--fail-code CODE]
         [--metadata k=v ...] [--size B] [--tls-ca CERT]
      Makes N Unary calls, then M ServerStream calls asking for K messages each, then F Fail calls, one after the
      other on one channel (one HTTP/2 connection). Prints a JSON summary; exits 0 iff every call ended as
      expected (OK with the right answers, Fail with CODE), 1 otherwise.
  stubs
      Only generates the stubs (when missing) and prints their directory.
  http-front --port P --grpc HOST:PORT [--record FILE] [--threading]
      An HTTP/1.1 server (python http.server) whose GET /call makes one gRPC Unary call to HOST:PORT and answers
      200 with the result as JSON (502 when the call failed); other paths get 404. --record appends one JSON line
      per HTTP request (path, headers, pid, tid). Prints "ready" once listening.
  server and http-front end with status 0 on SIGTERM, or by themselves after --lifetime seconds.

grpc's options keep the frames deterministic: no retries, no keepalive pings, no BDP pings, no proxy, one
subchannel per channel; servers refuse a port already in use (no SO_REUSEPORT).
"""

import argparse
import atexit
import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent import futures

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "obsdemo.proto")
SERVICE = "/obsdemo.Demo/"

# one set of channel and server arguments for every program here
COMMON_OPTIONS = [
    ("grpc.enable_retries", 0),
    ("grpc.keepalive_time_ms", 2**31 - 1),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.bdp_probe", 0),
    ("grpc.enable_http_proxy", 0),
]
CHANNEL_OPTIONS = COMMON_OPTIONS + [("grpc.use_local_subchannel_pool", 1)]
SERVER_OPTIONS = COMMON_OPTIONS + [("grpc.so_reuseport", 0)]


def stubs_dir(arg):
    """The directory holding obsdemo_pb2*.py for this proto, generated there when missing."""
    d = arg or os.environ.get("OBSDEMO_STUBS")
    if not d:
        d = tempfile.mkdtemp(prefix="obsdemo-stubs.")
        atexit.register(shutil.rmtree, d, True)
    with open(PROTO, "rb") as f:
        tag = hashlib.sha256(f.read()).hexdigest()[:12]
    final = os.path.join(d, "obsdemo-" + tag)  # a changed proto gets fresh stubs
    if os.path.exists(os.path.join(final, "obsdemo_pb2_grpc.py")):
        return final
    os.makedirs(d, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".gen.", dir=d)
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", HERE, "--python_out=" + work,
           "--grpc_python_out=" + work, PROTO]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        shutil.rmtree(work, True)
        sys.exit("grpc_app: protoc failed: %s\n%s" % (" ".join(cmd), r.stdout.decode(errors="replace")))
    try:
        os.rename(work, final)  # atomic: concurrent runs either win or find the other's stubs
    except OSError:
        shutil.rmtree(work, True)
    return final


class Recorder:
    """One JSON line per event appended to a file, written whole and flushed before the answer goes out."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else None
        self.lock = threading.Lock()

    def write(self, obj):
        if not self.f:
            return
        obj["pid"] = os.getpid()
        obj["tid"] = threading.get_native_id()
        line = json.dumps(obj, sort_keys=True) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()


def meta_list(md):
    """Invocation metadata as [key, value] pairs; binary (-bin) values as hex."""
    out = []
    for k, v in md or ():
        out.append([k, v.hex() if isinstance(v, bytes) else v])
    return out


def code_of(grpc, name):
    try:
        return getattr(grpc.StatusCode, name)
    except AttributeError:
        sys.exit("grpc_app: unknown status code %r" % name)


def ready(what):
    print("ready", flush=True)
    sys.stderr.write("grpc_app: %s ready (pid %d)\n" % (what, os.getpid()))
    sys.stderr.flush()


def exit_on_term(lifetime):
    """SIGTERM ends the program with status 0; so does the end of --lifetime seconds (a bound for tests)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if lifetime > 0:
        t = threading.Timer(lifetime, os.kill, (os.getpid(), signal.SIGTERM))
        t.daemon = True
        t.start()


def run_server(a, grpc, pb, pbg):
    rec = Recorder(a.record)
    fail_code = code_of(grpc, a.fail_code)
    fwd = None
    if a.forward:
        fwd = pbg.DemoStub(grpc.insecure_channel(a.forward, options=CHANNEL_OPTIONS))

    class Demo(pbg.DemoServicer):
        def note(self, method, req, ctx):
            rec.write({"method": SERVICE + method, "peer": ctx.peer(),
                       "metadata": meta_list(ctx.invocation_metadata()),
                       "name": req.name, "count": req.count, "size": req.size})

        def Unary(self, req, ctx):
            self.note("Unary", req, ctx)
            text = "hello " + req.name
            if fwd:
                r = fwd.Unary(pb.Req(name="fwd " + req.name, size=req.size), timeout=a.timeout,
                              wait_for_ready=True)
                text += " via " + r.text
            return pb.Resp(text=text, pad=b"p" * req.size)

        def ServerStream(self, req, ctx):
            self.note("ServerStream", req, ctx)
            for i in range(req.count):
                yield pb.Resp(text="%s %d" % (req.name, i), pad=b"s" * req.size)

        def Fail(self, req, ctx):
            self.note("Fail", req, ctx)
            ctx.abort(fail_code, "failing as asked: " + req.name)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=a.workers), options=SERVER_OPTIONS)
    pbg.add_DemoServicer_to_server(Demo(), server)
    addr = "127.0.0.1:%d" % a.port
    if a.tls:
        with open(a.tls[0], "rb") as c, open(a.tls[1], "rb") as k:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        bound = server.add_secure_port(addr, creds)
    else:
        bound = server.add_insecure_port(addr)
    if bound != a.port:
        sys.exit("grpc_app: server could not listen on %s (in use?)" % addr)
    server.start()
    exit_on_term(a.lifetime)
    ready("server on %s%s" % (addr, " (tls)" if a.tls else ""))
    server.wait_for_termination()


def client_channel(a, grpc):
    if not a.tls_ca:
        return grpc.insecure_channel(a.target, options=CHANNEL_OPTIONS)
    with open(a.tls_ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    opts = CHANNEL_OPTIONS + [("grpc.ssl_target_name_override", a.tls_name)]
    return grpc.secure_channel(a.target, creds, options=opts)


def run_client(a, grpc, pb, pbg):
    md = []
    for kv in a.metadata:
        k, sep, v = kv.partition("=")
        if not sep:
            sys.exit("grpc_app: --metadata wants key=value, got %r" % kv)
        md.append((k.lower(), v))
    want_fail = code_of(grpc, a.fail_code)
    calls = {"Unary": 0, "ServerStream": 0, "Fail": 0}
    msgs = {"Unary": 0, "ServerStream": 0, "Fail": 0}
    codes = {}
    problems = []
    pad_bytes = 0

    channel = client_channel(a, grpc)
    try:
        grpc.channel_ready_future(channel).result(timeout=a.timeout)
    except grpc.FutureTimeoutError:
        problems.append("no connection to %s within %ss" % (a.target, a.timeout))
    stub = pbg.DemoStub(channel)
    kw = {"metadata": md or None, "timeout": a.timeout, "wait_for_ready": True}

    def seen(code):
        codes[code.name] = codes.get(code.name, 0) + 1

    if not problems:
        for i in range(a.unary):
            calls["Unary"] += 1
            name = "u%d" % i
            try:
                r = stub.Unary(pb.Req(name=name, size=a.size), **kw)
                seen(grpc.StatusCode.OK)
                msgs["Unary"] += 1
                pad_bytes += len(r.pad)
                if not r.text.startswith("hello " + name) or len(r.pad) != a.size:
                    problems.append("Unary %s: unexpected answer %r (pad %d)" % (name, r.text, len(r.pad)))
            except grpc.RpcError as e:
                seen(e.code())
                problems.append("Unary %s: %s %s" % (name, e.code().name, e.details()))
        for i in range(a.stream):
            calls["ServerStream"] += 1
            name = "s%d" % i
            got = 0
            try:
                for r in stub.ServerStream(pb.Req(name=name, count=a.stream_count, size=a.size), **kw):
                    if r.text != "%s %d" % (name, got) or len(r.pad) != a.size:
                        problems.append("ServerStream %s: unexpected message %r" % (name, r.text))
                    got += 1
                    pad_bytes += len(r.pad)
                seen(grpc.StatusCode.OK)
            except grpc.RpcError as e:
                seen(e.code())
                problems.append("ServerStream %s: %s %s" % (name, e.code().name, e.details()))
            msgs["ServerStream"] += got
            if got != a.stream_count:
                problems.append("ServerStream %s: %d messages, wanted %d" % (name, got, a.stream_count))
        for i in range(a.fail):
            calls["Fail"] += 1
            name = "f%d" % i
            try:
                stub.Fail(pb.Req(name=name, size=a.size), **kw)
                seen(grpc.StatusCode.OK)
                msgs["Fail"] += 1
                problems.append("Fail %s: succeeded" % name)
            except grpc.RpcError as e:
                seen(e.code())
                if e.code() != want_fail:
                    problems.append("Fail %s: %s, wanted %s" % (name, e.code().name, want_fail.name))
    channel.close()
    summary = {"target": a.target, "pid": os.getpid(), "calls": calls, "messages": msgs, "codes": codes,
               "pad_bytes": pad_bytes, "metadata": [list(p) for p in md], "ok": not problems,
               "problems": problems}
    print(json.dumps(summary, sort_keys=True), flush=True)
    return 0 if not problems else 1


def run_front(a, grpc, pb, pbg):
    rec = Recorder(a.record)
    stub = pbg.DemoStub(grpc.insecure_channel(a.grpc, options=CHANNEL_OPTIONS))
    seq = [0]
    seq_lock = threading.Lock()

    class Front(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, obj):
            body = (json.dumps(obj, sort_keys=True) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            rec.write({"path": self.path, "headers": [[k.lower(), v] for k, v in self.headers.items()]})
            if self.path.split("?")[0] != "/call":
                self.answer(404, {"error": "only /call"})
                return
            with seq_lock:
                seq[0] += 1
                name = "front%d" % seq[0]
            try:
                r = stub.Unary(pb.Req(name=name), timeout=a.timeout, wait_for_ready=True)
                self.answer(200, {"code": "OK", "text": r.text})
            except grpc.RpcError as e:
                self.answer(502, {"code": e.code().name, "details": e.details()})

        def log_message(self, fmt, *args):
            pass

    cls = http.server.ThreadingHTTPServer if a.threading else http.server.HTTPServer
    cls.allow_reuse_address = False
    srv = cls(("127.0.0.1", a.port), Front)
    exit_on_term(a.lifetime)
    ready("http-front on 127.0.0.1:%d -> grpc %s" % (a.port, a.grpc))
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stubs", help="directory for the generated stubs (default $OBSDEMO_STUBS)")
    sub = p.add_subparsers(dest="mode", required=True)
    timeout = argparse.ArgumentParser(add_help=False)
    timeout.add_argument("--timeout", type=float, default=10.0, help="seconds per call and for connecting")

    s = sub.add_parser("server", parents=[timeout])
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--fail-code", default="UNAVAILABLE")
    s.add_argument("--record")
    s.add_argument("--forward", metavar="HOST:PORT")
    s.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    s.add_argument("--workers", type=int, default=4)
    s.add_argument("--lifetime", type=float, default=0, help="exit after this many seconds (0: never)")

    c = sub.add_parser("client", parents=[timeout])
    c.add_argument("--target", required=True)
    c.add_argument("--unary", type=int, default=0)
    c.add_argument("--stream", type=int, default=0)
    c.add_argument("--stream-count", type=int, default=3)
    c.add_argument("--fail", type=int, default=0)
    c.add_argument("--fail-code", default="UNAVAILABLE")
    c.add_argument("--metadata", action="append", default=[], metavar="K=V")
    c.add_argument("--size", type=int, default=0)
    c.add_argument("--tls-ca", metavar="CERT", help="grpc over TLS, trusting CERT")
    c.add_argument("--tls-name", default="localhost", help="name checked in the server's certificate")

    f = sub.add_parser("http-front", parents=[timeout])
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--grpc", required=True, metavar="HOST:PORT")
    f.add_argument("--record")
    f.add_argument("--threading", action="store_true", help="a thread per connection")
    f.add_argument("--lifetime", type=float, default=0, help="exit after this many seconds (0: never)")

    sub.add_parser("stubs", help="only generate the stubs (into --stubs or $OBSDEMO_STUBS) and print where")

    a = p.parse_args()
    d = stubs_dir(a.stubs)
    if a.mode == "stubs":
        print(d)
        return 0
    sys.path.insert(0, d)
    import grpc
    import obsdemo_pb2 as pb
    import obsdemo_pb2_grpc as pbg

    run = {"server": run_server, "client": run_client, "http-front": run_front}[a.mode]
    return run(a, grpc, pb, pbg) or 0


if __name__ == "__main__":
    sys.exit(main())
