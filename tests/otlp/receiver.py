#!/usr/bin/env python3
"""receiver.py -- a tiny OTLP/HTTP receiver for tests: stores every request body it accepts in a directory.

    receiver.py --dir DIR [--bind 127.0.0.1] [--port 0] [--port-file FILE] [--fail N] [--status 503]
                [--retry-after SEC] [--max-seconds 60] [--fault slow|close|garbage|endless] [--delay 5] [--discard]
                [--partial N]

Listens on 127.0.0.1 only (--bind: another local address, e.g. a test's own network namespace's).  With --port 0 (the default) the kernel picks a free port; it is written to
--port-file (atomically, once listening).  The first N POSTs are answered with --status (and a
Retry-After header when --retry-after is given); after that every POST to /v1/traces, /v1/logs or
/v1/metrics gets 200 with an empty OTLP response.  A body sent with Content-Encoding: gzip is decompressed first.

In DIR, accepted request number K (from 1) leaves:
    K-traces.bin / K-logs.bin / K-metrics.bin   (application/x-protobuf)  or  K-traces.json / ...
    K-traces.headers             the request headers as received, one "Name: value" per line
and every request, accepted or not, appends "STATUS PATH CONTENT-TYPE ENCODING BYTES" to DIR/requests.log.
It exits by itself after --max-seconds so a crashed test never leaves it behind.

Fault modes (--fault), for every POST, logged in requests.log with the mode's name as STATUS:
    slow     read the request, wait --delay seconds, then answer as above (200, or --status while --fail lasts)
    close    read half of the body, then close the connection without a response
    garbage  read the request, answer bytes that are not HTTP, close
    endless  read the request, answer 200 with a body that never ends (64 KiB every 50 ms for --delay s)
--discard keeps requests.log but stores no bodies (soak runs).
--partial N answers every accepted request with 200 and a partial_success rejecting N items
(error_message "too old"), in the request's encoding.
"""
import argparse
import gzip
import http.server
import os
import socket
import sys
import threading
import time


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--status", type=int, default=503)
    ap.add_argument("--retry-after")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--fault", choices=("slow", "close", "garbage", "endless"))
    ap.add_argument("--delay", type=float, default=5.0)
    ap.add_argument("--discard", action="store_true")
    ap.add_argument("--partial", type=int)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    state = {"fail": args.fail, "accepted": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real collectors do

        def log_message(self, fmt, *a):
            pass

        def reply(self, status, body=b"", ctype="application/x-protobuf", extra=None):
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (its timeout): nobody to answer
                self.close_connection = True

        def log_fault(self, what, nbytes):
            with lock:
                with open(os.path.join(args.dir, "requests.log"), "a") as f:
                    f.write("%s %s %s %s %d\n" % (what, self.path, self.headers.get("Content-Type", "-"),
                                                  self.headers.get("Content-Encoding", "identity"), nbytes))

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if args.fault == "close":
                raw = self.rfile.read(length // 2)
                self.log_fault("close", len(raw))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            raw = self.rfile.read(length) if length else b""
            if args.fault == "garbage":
                self.log_fault("garbage", len(raw))
                self.wfile.write(b"\x00\x17\xffNOT-HTTP garbage \x01\x02\r\n\r\n\xfe\xfd")
                self.close_connection = True
                return
            if args.fault == "endless":
                self.log_fault("endless", len(raw))
                self.close_connection = True
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(1 << 40))
                    self.end_headers()
                    end = time.monotonic() + args.delay
                    while time.monotonic() < end:
                        self.wfile.write(b"\x00" * 65536)
                        time.sleep(0.05)
                except OSError:
                    pass
                return
            if args.fault == "slow":
                time.sleep(args.delay)
            ctype = self.headers.get("Content-Type", "")
            enc = self.headers.get("Content-Encoding", "identity")
            with lock:
                if state["fail"] > 0:
                    state["fail"] -= 1
                    status = args.status
                elif self.path not in ("/v1/traces", "/v1/logs", "/v1/metrics"):
                    status = 404
                else:
                    status = 200
                body = raw
                if status == 200 and enc == "gzip":
                    try:
                        body = gzip.decompress(raw)
                    except OSError:
                        status = 400
                with open(os.path.join(args.dir, "requests.log"), "a") as f:
                    f.write("%d %s %s %s %d\n" % (status, self.path, ctype or "-", enc, len(raw)))
                if status == 200 and not args.discard:
                    state["accepted"] += 1
                    k = state["accepted"]
                    kind = self.path.rsplit("/", 1)[1]
                    ext = "json" if ctype.startswith("application/json") else "bin"
                    base = os.path.join(args.dir, "%d-%s" % (k, kind))
                    with open(base + ".headers", "w") as f:
                        for name, value in self.headers.items():
                            f.write("%s: %s\n" % (name, value))
                    # the body last, via rename: a reader that sees it sees it whole
                    with open(base + ".tmp", "wb") as f:
                        f.write(body)
                    os.rename(base + ".tmp", base + "." + ext)
            if status == 200:
                json_reply = ctype.startswith("application/json")
                body = b"{}" if json_reply else b""
                if args.partial is not None:
                    kind = {"/v1/traces": "Spans", "/v1/logs": "LogRecords"}.get(self.path, "DataPoints")
                    if json_reply:
                        body = ('{"partialSuccess":{"rejected%s":"%d","errorMessage":"too old"}}'
                                % (kind, args.partial)).encode()
                    else:
                        inner = b"\x08" + varint(args.partial) + b"\x12\x07too old"
                        body = b"\x0a" + varint(len(inner)) + inner
                self.reply(200, body, "application/json" if json_reply else "application/x-protobuf")
            else:
                extra = {"Retry-After": args.retry_after} if args.retry_after is not None else None
                self.reply(status, b"unavailable\n", "text/plain", extra)

    srv = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    srv.daemon_threads = True
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    timer = threading.Timer(args.max_seconds, srv.shutdown)
    timer.daemon = True
    timer.start()
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
