#!/usr/bin/python3
"""app.py -- a tiny HTTP/1 service for test_hosts.sh (one "host"'s traced program).

    app.py --bind ADDR --port N --log FILE [--upstream URL] [--max-seconds 120]

Answers every GET with 200.  With --upstream it first fetches URL + the last path segment (urllib, so over a
connection of its own, from the thread serving the request) and answers with what came back: the call that
crosses to the next host.  Every request served appends "PATH STATUS" to --log, so the test knows what the
program really did.  It exits by itself after --max-seconds so a crashed test never leaves it behind.
"""
import argparse
import http.server
import os
import threading
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--upstream")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()
    log = open(args.log, "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = 200, ("item %s\n" % self.path).encode()
            if args.upstream:
                url = args.upstream + self.path.rsplit("/", 1)[-1]
                try:
                    with urllib.request.urlopen(url, timeout=10) as r:
                        body = b"front: " + r.read()
                except OSError as e:
                    status, body = 502, ("upstream: %s\n" % e).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            log.write("%s %d\n" % (self.path, status))

        def log_message(self, *a):
            pass

    threading.Timer(args.max_seconds, os._exit, (0,)).start()
    http.server.HTTPServer((args.bind, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
