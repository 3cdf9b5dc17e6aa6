#!/usr/bin/env python3
"""seeds.py -- write the seed inputs of tests/fuzz/corpus/ (run from anywhere; rewrites only seed-* files).

Each harness's input format is described at the top of its tests/fuzz/fuzz_<name>.c; this script
builds realistic inputs in those formats.  Reproducers of defects (crash-*, defect-*) are added to
the same directories by hand and are not touched here."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


CRLF = "\r\n"


def req(method, target, headers=(), body="", version="HTTP/1.1"):
    return method + " " + target + " " + version + CRLF + "".join(h + CRLF for h in headers) + CRLF + body


def resp(status, reason, headers=(), body="", version="HTTP/1.1"):
    return version + " " + str(status) + " " + reason + CRLF + "".join(h + CRLF for h in headers) + CRLF + body


TP = "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
REQS = {
    "get": req("GET", "/users/42?x=1", ["Host: example.com", "User-Agent: curl/8.0", TP]),
    "post-length": req("POST", "/api/orders", ["Host: a", "Content-Length: 11", "Content-Type: application/json"],
                       '{"id": 123}'),
    "post-chunked": req("POST", "/upload", ["Host: a", "Transfer-Encoding: chunked"],
                        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"),
    "expect-100": req("PUT", "/blob", ["Host: a", "Expect: 100-continue", "Content-Length: 4"], "data"),
    "http10": req("GET", "/", ["Connection: keep-alive"], version="HTTP/1.0"),
    "head": req("HEAD", "/index.html", ["Host: a"]),
    "connect": req("CONNECT", "example.com:443", ["Host: example.com:443"]),
    "te-notchunked": req("POST", "/x", ["Host: a", "Transfer-Encoding: notchunked", "Content-Length: 3"], "abc"),
    "te-twice": req("POST", "/x", ["Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: identity"],
                    "3\r\nabc\r\n0\r\n\r\n"),
    "h2-preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "long-header": req("GET", "/" + "a" * 700, ["Host: a", "X-Long: " + "b" * 1100]),
}
RESPS = {
    "200-length": resp(200, "OK", ["Content-Length: 5", "Content-Type: text/plain"], "hello"),
    "200-chunked": resp(200, "OK", ["Transfer-Encoding: chunked"], "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"),
    "204": resp(204, "No Content"),
    "304": resp(304, "Not Modified", ["ETag: \"x\""]),
    "100-then-201": resp(100, "Continue") + resp(201, "Created", ["Content-Length: 2"], "ok"),
    "101-upgrade": resp(101, "Switching Protocols", ["Upgrade: websocket", "Connection: Upgrade"]) + "\x81\x05hello",
    "close-delimited": resp(200, "OK", ["Connection: close"], "body until close"),
    "500": resp(500, "Internal Server Error", ["Content-Length: 0"]),
}

# ---- fuzz_http: one direction's raw bytes
for k, v in REQS.items():
    put("fuzz_http", "req-" + k, v)
for k, v in RESPS.items():
    put("fuzz_http", "resp-" + k, v)
put("fuzz_http", "pipelined", REQS["get"] + REQS["post-length"] + REQS["head"])
put("fuzz_http", "garbage-then-get", "\x16\x03\x01\x02\x00garbage\r\n" + REQS["get"])
put("fuzz_http", "keepalive-responses", RESPS["200-length"] + RESPS["204"] + RESPS["200-chunked"])

# ---- fuzz_httpconn: operations (see fuzz_httpconn.c)
def data(direction, b, uncaptured=0):
    if isinstance(b, str):
        b = b.encode("latin-1")
    op = (1 << 2 if direction == "out" else 0) | (8 if uncaptured else 0)
    return bytes([op]) + struct.pack("<H", len(b)) + b + (struct.pack("<H", uncaptured) if uncaptured else b"")


def gap(direction, n):
    return bytes([1 | (1 << 2 if direction == "out" else 0)]) + struct.pack("<H", n)


CLOSE = bytes([2])
def tick(ms):
    return bytes([3 | (ms << 2)])

put("fuzz_httpconn", "server-get", data("in", REQS["get"]) + tick(5) + data("out", RESPS["200-length"]) + CLOSE)
put("fuzz_httpconn", "client-post", data("out", REQS["post-length"]) + data("in", RESPS["200-chunked"]))
put("fuzz_httpconn", "pipelined", data("in", REQS["get"] * 3) + data("out", RESPS["200-length"] * 2) +
    data("out", RESPS["204"]))
put("fuzz_httpconn", "pipeline-overflow", data("in", REQS["get"] * 6) + data("out", RESPS["200-length"]))
put("fuzz_httpconn", "expect-100", data("in", REQS["expect-100"][:-4]) + data("out", resp(100, "Continue")) +
    data("in", "data") + data("out", RESPS["200-length"]))
put("fuzz_httpconn", "body-gap", data("in", req("POST", "/big", ["Content-Length: 5000"]) + "x" * 100, 4900) +
    data("out", RESPS["200-length"]))
put("fuzz_httpconn", "head-gap", data("in", "GET /a HTTP/1.1\r\nHo") + gap("in", 300) + data("in", REQS["get"]) +
    data("out", RESPS["500"]))
put("fuzz_httpconn", "head-response", data("in", REQS["head"]) + data("out", resp(200, "OK", ["Content-Length: 99"])) +
    data("in", REQS["get"]) + data("out", RESPS["200-length"]))
put("fuzz_httpconn", "upgrade", data("in", req("GET", "/ws", ["Upgrade: websocket", "Connection: Upgrade"])) +
    data("out", RESPS["101-upgrade"]) + data("in", "\x81\x85abcdhello") + CLOSE)
put("fuzz_httpconn", "close-mid-response", data("in", REQS["get"]) + data("out", RESPS["close-delimited"]) + CLOSE +
    data("out", REQS["get"]) + data("in", RESPS["304"]))
put("fuzz_httpconn", "tracestate", data("in", req("GET", "/", [TP, "tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
                                                           "baggage: user=alice"])) + data("out", RESPS["204"]))

# ---- fuzz_proto_conn: the operations of fuzz_httpconn (its seeds too), and bytes no protocol claims
for name in sorted(os.listdir(os.path.join(CORPUS, "fuzz_httpconn"))):
    if name.startswith("seed-"):
        with open(os.path.join(CORPUS, "fuzz_httpconn", name), "rb") as f:
            put("fuzz_proto_conn", name[5:], f.read())
put("fuzz_proto_conn", "redis", data("out", "*1\r\n$4\r\nPING\r\n") + data("in", "+PONG\r\n") + data("out", REQS["get"]))
put("fuzz_proto_conn", "tls", data("out", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 500) +
    data("in", "\x16\x03\x03\x00\x5d\x02", 1400))
put("fuzz_proto_conn", "stray-then-get", data("in", "tail of a body") + gap("in", 50) + data("out", "GE") +
    gap("in", 10) + data("in", REQS["get"]) + data("out", RESPS["200-length"]) + CLOSE)

# ---- fuzz_postgres: mode 0 + the operations of fuzz_httpconn (out: the client's messages), or mode odd + SQL
def pgmsg(t, body=b""):
    body = body.encode("latin-1") if isinstance(body, str) else body
    return (t.encode() if t else b"") + struct.pack("!i", 4 + len(body)) + body


PG_STARTUP = pgmsg("", struct.pack("!i", 196608) + b"user\0alice\0database\0shop\0\0")
PG_READY = pgmsg("R", b"\0\0\0\0") + pgmsg("S", "server_version\x0015.5\0") + pgmsg("K", b"\0\0\0\1\0\0\0\2") + \
    pgmsg("Z", "I")


def pgput(name, ops):
    put("fuzz_postgres", name, b"\0" + ops)


pg = data
BIG_ROW = pgmsg("D", "\0\1\0\0\x17\x70" + "x" * 6000)
PG_PARSE = lambda name, q: pgmsg("P", name + "\0" + q + "\0\0\0")
PG_BIND = lambda portal, stmt: pgmsg("B", portal + "\0" + stmt + "\0\0\0\0\1\0\0\0\3abc\0\0")
PG_EXEC = lambda portal: pgmsg("E", portal + "\0\0\0\0\0")
PG_SYNC = pgmsg("S")
pgput("simple", pg("out", PG_STARTUP) + pg("in", PG_READY) +
      pg("out", pgmsg("Q", "SELECT a FROM t WHERE b = 'x' AND c = 5\0")) +
      pg("in", pgmsg("T", "\0\1a\0" + "\0" * 18) + pgmsg("D", "\0\1\0\0\0\1x") + pgmsg("C", "SELECT 1\0") +
         pgmsg("Z", "I")) + CLOSE)
pgput("server-errors", pg("in", PG_STARTUP) + pg("out", PG_READY) + pg("in", pgmsg("Q", "SELECT * FROM nope\0")) +
      pg("out", pgmsg("E", "SERROR\0C42P01\0Mno\0\0") + pgmsg("Z", "I")))
pgput("extended-pipeline", pg("out", PG_STARTUP) + pg("in", PG_READY) +
      pg("out", PG_PARSE("", "INSERT INTO a VALUES ($1)") + PG_BIND("", "") + PG_EXEC("") +
         PG_PARSE("s1", "UPDATE b SET x = $1") + PG_BIND("p", "s1") + PG_EXEC("p") + PG_SYNC +
         PG_BIND("", "s1") + PG_EXEC("") + PG_SYNC) +
      pg("in", pgmsg("1") + pgmsg("2") + pgmsg("C", "INSERT 0 1\0") + pgmsg("E", "SERROR\0C23505\0\0") +
         pgmsg("Z", "E") + pgmsg("2") + pgmsg("C", "UPDATE 2\0") + pgmsg("Z", "I")))
pgput("copy", pg("out", PG_STARTUP) + pg("in", PG_READY) + pg("out", pgmsg("Q", "COPY t FROM STDIN\0")) +
      pg("in", pgmsg("G", "\0\0\1\0\0")) + pg("out", pgmsg("d", "Z\0\0\0\5I\n") + pgmsg("c")) +
      pg("in", pgmsg("C", "COPY 1\0") + pgmsg("Z", "I")) + pg("out", pgmsg("Q", "COPY t TO STDOUT\0")) +
      pg("in", pgmsg("H", "\0\0\1\0\0") + pgmsg("d", "1\n") + pgmsg("c") + pgmsg("C", "COPY 1\0") + pgmsg("Z", "I")))
pgput("datarow-gaps", pg("out", PG_STARTUP) + pg("in", PG_READY) + pg("out", pgmsg("Q", "SELECT b FROM f\0")) +
      pg("in", BIG_ROW[:2047], len(BIG_ROW) - 2047) + pg("in", BIG_ROW[:5], len(BIG_ROW) - 5) +
      pg("in", pgmsg("C", "SELECT 2\0") + pgmsg("Z", "I")))
pgput("ssl-s", pg("out", pgmsg("", struct.pack("!i", 80877103))) + pg("in", "S") +
      pg("out", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") + pg("in", "\x16\x03\x03\x00\x7a\x02"))
pgput("ssl-n", pg("out", pgmsg("", struct.pack("!i", 80877103))) + pg("in", "N") + pg("out", PG_STARTUP) +
      pg("in", PG_READY) + pg("out", pgmsg("Q", "SHOW x\0")) + pg("in", pgmsg("C", "SHOW\0") + pgmsg("Z", "I")))
pgput("password", pg("out", PG_STARTUP) + pg("in", pgmsg("R", b"\0\0\0\3")) + pg("out", pgmsg("p", "secret\0")) +
      pg("in", PG_READY) + pg("out", pgmsg("Q", "\0")) + pg("in", pgmsg("I") + pgmsg("Z", "I")))
pgput("framing-lost", pg("out", PG_STARTUP) + pg("in", PG_READY) + pg("out", pgmsg("Q", "SELECT 1\0")) +
      pg("in", (pgmsg("D", "\0\1\0\0\0\1x") * 300)[:2047], 300 * 12 - 2047) +
      pg("in", pgmsg("C", "SELECT 300\0") + pgmsg("Z", "I")) + pg("out", pgmsg("Q", "SELECT 2\0")) +
      pg("in", pgmsg("C", "SELECT 1\0") + pgmsg("Z", "I")))
pgput("cancel", pg("out", pgmsg("", struct.pack("!iii", 80877102, 1, 2))) + CLOSE)
for k in ("simple", "extended-pipeline", "ssl-n"):  # through the registry too
    with open(os.path.join(CORPUS, "fuzz_postgres", "seed-" + k), "rb") as f:
        put("fuzz_proto_conn", "postgres-" + k, f.read()[1:])
for k, q in {"literals": "SELECT 'a''b', E'\\'', $$x$$, $t$y$t$, 1.5e3, 0x1f, $1 FROM \"T\" -- c\n/* d /* e */ */",
             "insert": "INSERT INTO pgbench_history (tid, aid) VALUES (1, -5)",
             "unterminated": "SELECT 'never closed", "ident": "SELECT \"a\"\"b\", U&'x', B'01', X'ff', N'n'",
             "create": "CREATE UNIQUE INDEX i ON t (a)"}.items():
    put("fuzz_postgres", "sql-" + k, bytes([255]) + q.encode())

# ---- fuzz_tracectx: header lines
TC = {
    "w3c": [TP, "tracestate: congo=t61rcWkgMzE", "tracestate: rojo=00f067aa0ba902b7", "baggage: user=alice,tenant=1"],
    "w3c-future": ["traceparent: 01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-extra"],
    "w3c-zero": ["traceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01"],
    "w3c-upper": ["traceparent: 00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"],
    "tracestate-ows": [TP, "tracestate: foo=1 \t , \t bar=2"],
    "tracestate-tenant": [TP, "tracestate: tenant@system=v,a-b_c*d/e=1"],
    "tracestate-bad": [TP, "tracestate: foo =1,@foo=1,k=\x01"],
    "tracestate-32": [TP, "tracestate: " + ",".join("k%d=v" % i for i in range(33))],
    "tracestate-key256": [TP, "tracestate: " + "k" * 256 + "=v"],
    "b3-single": ["b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"],
    "b3-64bit": ["b3: 64fe8b2a57d3eff7-e457b5a2e4d86bd1-d"],
    "b3-deny": ["b3: 0"],
    "b3-multi": ["X-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7", "X-B3-SpanId: e457b5a2e4d86bd1",
                 "X-B3-Sampled: 1", "X-B3-Flags: 1"],
    "b3-multi-dup": ["X-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7", "X-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7",
                     "X-B3-SpanId: e457b5a2e4d86bd1"],
    "xray": ["X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"],
    "xray-self": ["X-Amzn-Trace-Id: Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;"
                  "Parent=463ac35c9f6413ad;Sampled=?"],
    "datadog": ["x-datadog-trace-id: 1234567890123456789", "x-datadog-parent-id: 987654321",
                "x-datadog-sampling-priority: -1"],
    "precedence": [TP, "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0",
                   "x-datadog-trace-id: 1", "x-datadog-parent-id: 2"],
    "bad-w3c-then-b3": ["traceparent: 00-xyz", "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1"],
}
for k, v in TC.items():
    put("fuzz_tracectx", k, "\r\n".join(v) + "\r\n")

# ---- fuzz_redact: texts
RED = {
    "keys": "user=bob password=hunter2&token=abc123; api_key: 'k-123' \"secret\": \"s3\"",
    "headers": "Authorization: Basic dXNlcjpwYXNz\nCookie: sid=abc; theme=dark\nX-Api-Key: 0123",
    "bearer": "calling with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig now",
    "emails": "mail alice@example.com, bob.smith+x@mail.example.co.uk.",
    "cards": "card 4111 1111 1111 1111 and 4111-1111-1111-1112 and 378282246310005",
    "json-escaped": '{"msg":"body={\\"password\\":\\"hunter2\\"}"}',
    "urls": "connect postgres://admin:S3cret@db:5432/app and redis://:pw@h:6379",
    "yaml-next-line": "db:\n  password:\n    hunter2\n  private_key: abc\n  credentials: xyz",
    "many-pwd": "pwd=x&" * 300,
    "extra": "ACCT-123456 at db.internal.corp xxyz",
    "utf8": "naïve pässword=geheim ✓",
}
for k, v in RED.items():
    put("fuzz_redact", k, v.encode("utf-8"))

# ---- fuzz_logline: writes (see fuzz_logline.c)
def write(writer, b, lost=False):
    if isinstance(b, str):
        b = b.encode("latin-1")
    big = len(b) > 255
    op = (writer << 2) | (0x20 if lost else 0) | (0x40 if big else 0)
    return bytes([op]) + (struct.pack("<H", len(b)) if big else bytes([len(b)])) + b


FLUSH_ALL = bytes([3])
def ltick(steps):
    return bytes([1 | (steps << 2)])

put("fuzz_logline", "lines", bytes([7]) + write(0, "INFO start\nWARN half") + write(0, " done\r\n") + FLUSH_ALL)
put("fuzz_logline", "interleaved", bytes([7]) + write(0, "a1 ") + write(1, "b1 ") + write(2, "c1\n") +
    write(0, "a2\n") + write(1, "b2\nb3\n") + write(5, "stderr line\n"))
put("fuzz_logline", "evict", bytes([1]) + b"".join(write(k, "part %d " % k) for k in range(8)) + FLUSH_ALL)
put("fuzz_logline", "long-line", bytes([7]) + write(3, "x" * 1000) + write(3, "y" * 100 + "\nnext\n"))
put("fuzz_logline", "lost-bytes", bytes([7]) + write(4, "begin ") + write(4, "cut", lost=True) + write(4, "after\n"))
put("fuzz_logline", "tick", bytes([7]) + write(0, "slow ") + ltick(63) + write(0, "rest\n") + bytes([2 | 4]))

# ---- fuzz_config: JSON files
for name in sorted(os.listdir(os.path.join(HERE, "..", "data"))):
    if name.startswith("config-"):
        with open(os.path.join(HERE, "..", "data", name), "rb") as f:
            put("fuzz_config", name[len("config-"):-len(".json")], f.read())
put("fuzz_config", "buckets-string", '{"buckets": "0.001 0.01,0.1", "listen": "[::1]:9500", "pid": "1,2,3"}')
put("fuzz_config", "nested", '{"func": [["a"]], "verbose": 3, "duration": 1e400}')

# ---- fuzz_optval: selector byte (see fuzz_optval.c), then the value
OPT = [
    (0, "long", "12345"), (0, "long-neg", "-9223372036854775808"), (1, "double", "0.25"), (1, "double-exp", "1e-3"),
    (2, "buckets", "0.001,0.0025, 0.005 0.01,1,10"), (3, "buckets-bad", "0.1,0.01"), (2, "buckets-tiny", "1e-9,2e-9"),
    (4, "listen", "127.0.0.1:9464"), (4, "listen-v6", "[::1]:9464"), (4, "listen-port", ":9464"),
    (4, "listen-name", "localhost:80"), (5, "url", "http://user@127.0.0.1:4318/otlp"), (5, "url-v6", "https://[::1]:4318"),
    (6, "func", "libc.so.6:malloc"), (6, "func-cxx", "ns::Class::method"), (7, "header", "Authorization=Bearer x"),
    (8, "otel-header", " api-key = a%20b%3D "),
]
for sel, name, val in OPT:
    put("fuzz_optval", name, bytes([sel]) + val.encode())

# ---- fuzz_otlp: fields in the order fuzz_otlp.c reads them
def s(b, whole=False):
    return bytes([255]) + b if whole else bytes([len(b)]) + b


def span(name, nattrs, attrs, trace=bytes(range(1, 17)), parent=bytes(8), res=1):
    out = trace + bytes(range(17, 25)) + parent + s(name) + s(b"rojo=00f067aa0ba902b7") + bytes([2, 2])
    out += struct.pack("<I", 0x301) + struct.pack("<QQ", 1700000000000000000, 1700000000001000000)
    out += struct.pack("<H", 0) + bytes([res, nattrs])
    for key, typ, val in attrs:
        out += s(key) + bytes([typ]) + (s(val) if typ == 1 else struct.pack("<q", val))
    return out


def log(body, tid=7, stream=b"stdout", res=1):
    return (struct.pack("<QQ", 1700000000000000000, 1700000000000000500) + bytes([9]) + s(b"INFO") + s(body) +
            bytes(range(1, 17)) + bytes(range(17, 25)) + struct.pack("<I", tid) + s(stream) + bytes([res]))


ATTRS = [(b"http.request.method", 1, b"GET"), (b"url.path", 1, b"/users/42"), (b"http.response.status_code", 2, 200),
         (b"bad\xff\xfekey", 1, b"\xc0\xaf overlong \xed\xa0\x80 surrogate"), (b"neg", 2, -1), (b"junk", 3, 0)]
put("fuzz_otlp", "one-each", s(b"host-1") + bytes([0]) + span(b"GET /users/:id", 6, ATTRS) + bytes([0]) +
    log(b"INFO handled request"))
put("fuzz_otlp", "groups", s(b"") + bytes([3]) + span(b"a", 0, [], res=0) + span(b"b", 2, ATTRS[:2], res=3) +
    span(b"c", 1, ATTRS[2:3], res=0) + span(b"x" * 96, 0, [], res=2) + bytes([2]) + log(b"one", res=2) +
    log(b"two", tid=0, stream=b"", res=1) + log(b"\xff" * 10, res=2))
put("fuzz_otlp", "too-many-attrs", s(b"h") + bytes([0]) + span(b"many", 200, ATTRS * 3) + bytes([0]) +
    log(b"b" * 255))

# ---- fuzz_redis: a byte choosing how each connection starts, then the operations of fuzz_httpconn
def resp_cmd(*args):
    return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)


CLIENT, SERVER, UNCLAIMED = bytes([1]), bytes([0]), bytes([2])
put("fuzz_redis", "client-set-get", CLIENT + data("in", "+PONG\r\n") + data("out", resp_cmd("SET", "k", "v")) +
    data("in", "+OK\r\n") + data("out", resp_cmd("GET", "k")) + data("in", "$1\r\nv\r\n") + CLOSE)
put("fuzz_redis", "server-pipelined", SERVER + data("out", "+PONG\r\n") +
    data("in", "".join(resp_cmd("INCR", "c") for _ in range(20))) + data("out", ":1\r\n" * 20))
put("fuzz_redis", "big-value-gap", CLIENT + data("in", "+PONG\r\n") +
    data("out", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\n" + "v" * 100, 4902) + data("in", "+OK\r\n") +
    data("out", resp_cmd("GET", "k")) + data("in", "$5000\r\n" + "v" * 50, 100) + gap("in", 4852))
put("fuzz_redis", "multi-exec", CLIENT + data("in", "+PONG\r\n") + data("out", resp_cmd("MULTI")) +
    data("in", "+OK\r\n") + data("out", resp_cmd("SET", "a", "1") + resp_cmd("INCR", "a")) +
    data("in", "+QUEUED\r\n+QUEUED\r\n") + data("out", resp_cmd("EXEC")) + data("in", "*2\r\n+OK\r\n:2\r\n"))
put("fuzz_redis", "pubsub-resp2", CLIENT + data("in", "+PONG\r\n") + data("out", resp_cmd("SUBSCRIBE", "a", "b")) +
    data("in", "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n") +
    data("in", "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n") + data("out", resp_cmd("UNSUBSCRIBE")) +
    data("in", "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n"))
put("fuzz_redis", "resp3", CLIENT + data("in", "+PONG\r\n") + data("out", resp_cmd("HELLO", "3")) +
    data("in", "%1\r\n$5\r\nproto\r\n:3\r\n") + data("out", resp_cmd("GET", "k")) +
    data("in", ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n|1\r\n+a\r\n:1\r\n_\r\n") +
    data("out", resp_cmd("LPOS", "l", "x")) + data("in", "*2\r\n%1\r\n+a\r\n~1\r\n#t\r\n,1.5\r\n") +
    data("out", resp_cmd("DUMP", "k")) + data("in", "!6\r\nERR no\r\n=7\r\ntxt:abc\r\n(12\r\n"))
put("fuzz_redis", "inline", SERVER + data("out", "+PONG\r\n") + data("in", "set k \"a b\"\r\nget k\r\n\r\n") +
    data("out", "+OK\r\n$3\r\na b\r\n") + data("in", "AUTH secret\r\n") + data("out", "-ERR no password\r\n"))
put("fuzz_redis", "select-errors", CLIENT + data("in", "+PONG\r\n") + data("out", resp_cmd("SELECT", "3")) +
    data("in", "+OK\r\n") + data("out", resp_cmd("LPUSH", "s", "x")) +
    data("in", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"))
put("fuzz_redis", "unclaimed", UNCLAIMED + data("out", "*1\r\n$4\r\nPI") + data("out", "NG\r\n") +
    data("in", "+PONG\r\n") + data("in", "GET / HTTP/1.1\r\n\r\n"))

# ---- fuzz_demux: ring records (see fuzz_demux.c): payload, connection, stdout write, flush
def ring_data(sock, text, write=False, tls=False, step=10, span=5, uncopied=None):
    b = text.encode("latin-1") if isinstance(text, str) else text
    op = (sock << 2) | (16 if tls else 0) | (32 if write else 0) | (64 if uncopied is not None else 0)
    return bytes([op, step, span]) + struct.pack("<H", len(b)) + b + (bytes([uncopied]) if uncopied is not None else b"")


def ring_conn(sock, accepted=True, close=False):
    return bytes([1 | (sock << 2) | (16 if accepted else 0) | (32 if close else 0)])


def ring_log(thread, text):
    return bytes([2 | (thread << 2), len(text)]) + text.encode("latin-1")


RING_FLUSH = bytes([3])
RQ = req("GET", "/users/42?x=1", ["Host: svc", "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"])
RS = resp(200, "OK", ["Content-Length: 5"], "hello")
# socket 0: a server; socket 1: a traced client of it (the server's read in the ring first), a log line between
put("fuzz_demux", "server-client-join", ring_conn(0) + ring_conn(1, accepted=False) + ring_data(0, RQ) +
    ring_data(1, RQ, write=True) + ring_log(0, "handling /users/42\n") + ring_data(0, RS, write=True) +
    ring_data(1, RS) + RING_FLUSH + ring_conn(0, close=True) + ring_conn(1, close=True))
# TLS: a handshake record on the socket, plaintext from the library, pipelined requests, a close mid-response
put("fuzz_demux", "tls-pipelined", ring_data(2, b"\x16\x03\x01\x00\x20\x01\x00\x00\x1c\x03\x03") +
    ring_data(2, RQ + RQ, tls=True) + ring_data(2, RS, write=True, tls=True) +
    ring_data(2, resp(200, "OK", ["Content-Length: 900"], "x" * 100), write=True, tls=True, uncopied=200) +
    ring_conn(2, close=True))
# four connections, three parsed at once: evictions; a redis client and a postgres-looking start
put("fuzz_demux", "evictions", b"".join(ring_data(s, req("GET", "/c/%d" % s)) for s in range(4)) +
    ring_data(3, "*1\r\n$4\r\nPING\r\n", write=True) + ring_data(3, "+PONG\r\n") +
    b"".join(ring_data(s, RS, write=True) for s in range(4)) + RING_FLUSH +
    ring_data(0, b"\x00\x00\x00\x08\x04\xd2\x16\x2f") + ring_log(1, "partial line without newline"))
