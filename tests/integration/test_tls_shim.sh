#!/usr/bin/env bash
# test_tls_shim.sh -- TLS plaintext through the shim (OpenSSL 3, libssl.so.3 found at run time): nginx with ssl
# (master + 2 workers) counted against its own access log, a python HTTPS server (http.server wrapped in ssl) whose
# handler calls a second HTTPS server (traceparent injected inside SSL_write_ex, the program's bytes unchanged), and
# a third that reads late (a non-blocking write retried after WANT_WRITE gets our stable buffer again), curl https://
# client spans, HTTP/2 over TLS left alone; a known traceparent over HTTPS comes back in the server span.
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v nginx >/dev/null && command -v openssl >/dev/null || { echo "SKIP: needs nginx and openssl"; exit 77; }
RT=$TMP/rt
mkdir -p "$RT" "$TMP/ngx/logs"
chmod 1777 "$RT" # nginx's workers run as nobody
PY=/usr/bin/python3 # Debian's: its _ssl module loads libssl.so.3 RTLD_LOCAL (out of RTLD_NEXT's reach)
[ -x $PY ] || PY=python3
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || { bad "openssl made no certificate"; finish; }
LP=$(free_port) NP=$(free_port) PP=$(free_port) EP=$(free_port) HP=$(free_port) SP=$(free_port)
OBSPROBE_RUNTIME_DIR=$RT timeout 150 "$OBSPROBE" serve --listen "127.0.0.1:$LP" --spans-file "$TMP/spans.jsonl" -q \
	2>"$TMP/serve.err" &
SERVE=$!
PIDS+=($SERVE)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "serve did not start: $(cat "$TMP/serve.err")"; finish; }
SH=(env OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM)

# ---- nginx over HTTPS: master + 2 workers, the access log is the ground truth ----
cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 128; }
http {
  access_log $TMP/ngx/logs/access.log;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f; uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  server {
    listen 127.0.0.1:$NP ssl;
    ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.1:$HP ssl http2;
    ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;
    location / { return 200 "h2\n"; }
  }
}
NGX
"${SH[@]}" OBSPROBE_SERVICE=ngxtls timeout 150 nginx -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" 2>"$TMP/ngx.err" &
PIDS+=($!)
wait_for 10 curl -skf "https://127.0.0.1:$NP/warmup" || bad "nginx with ssl under the shim did not serve: $(cat "$TMP/ngx.err")"

# ---- python HTTPS servers: pyfront (traced) calls echo (untraced), which answers the headers it got ----
cat >"$TMP/https.py" <<'PY'
import http.server, select, socket, socketserver, ssl, sys, time, urllib.request
port, cert, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def stalled_call(port):
    # a request (head + 10,000-byte body, one write) that the peer does not read for a second: SSL_write_ex wants to
    # be retried (WANT_WRITE), as a non-blocking program does, with the same bytes
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s = ssl._create_unverified_context().wrap_socket(raw)
    s.setblocking(False)
    req = b"POST /down HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n" + b"b" * 10000
    tries = 0
    while True:
        try:
            n = s.send(req)
            break
        except ssl.SSLWantWriteError:
            tries += 1
            select.select([], [s], [], 5)
        except ssl.SSLWantReadError:
            tries += 1
            select.select([s], [], [], 5)
    s.setblocking(True)
    s.settimeout(10)
    got = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    return b"retried=%d sent=%d of %d\n" % (tries > 0, n, len(req)) + got.split(b"\r\n\r\n", 1)[-1]
class Stall(socketserver.BaseRequestHandler):
    def handle(self):
        time.sleep(1)
        s, got = self.request, b""
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 10000:
            d = s.recv(65536)
            if not d:
                break
            got += d
        tp = [l for l in got.split(b"\r\n") if l.lower().startswith(b"traceparent:")]
        body = b"%s body=%d\n" % (tp[0] if tp else b"none", len(got.split(b"\r\n\r\n", 1)[1]))
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if mode == "echo":
            body = ("traceparent=%s\n" % self.headers.get("traceparent")).encode()
        elif self.path.startswith("/stall/"):
            body = stalled_call(int(self.path[7:]))
        elif self.path.startswith("/chain/"):
            ctx = ssl._create_unverified_context()
            with urllib.request.urlopen("https://127.0.0.1:%s/down" % self.path[7:], context=ctx, timeout=10) as r:
                body = r.read()
        else:
            body = b"hi\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if mode == "stall": # a TLS peer with a small receive buffer that reads a second late
    srv = socketserver.TCPServer(("127.0.0.1", port), Stall, bind_and_activate=False)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    srv.allow_reuse_address = True
    srv.server_bind(); srv.server_activate()
else:
    srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
timeout 150 $PY "$TMP/https.py" $EP "$TMP/cert.pem" "$TMP/key.pem" echo 2>"$TMP/echo.err" &
PIDS+=($!)
timeout 150 $PY "$TMP/https.py" $SP "$TMP/cert.pem" "$TMP/key.pem" stall 2>"$TMP/stall.err" &
PIDS+=($!)
"${SH[@]}" OBSPROBE_SERVICE=pyfront timeout 150 $PY "$TMP/https.py" $PP "$TMP/cert.pem" "$TMP/key.pem" front \
	2>"$TMP/front.err" &
PIDS+=($!)
wait_for 10 curl -skf "https://127.0.0.1:$EP/" || bad "echo server did not start: $(cat "$TMP/echo.err")"
wait_for 10 curl -skf "https://127.0.0.1:$PP/warmup" || bad "python HTTPS server under the shim did not start: $(cat "$TMP/front.err")"
sleep 0.5
scrape $LP >"$TMP/m0"
m0() { metric "$TMP/m0" "$1"; }
n0=$(m0 'obsprobe_exchanges_total{service="ngxtls",protocol="http1",transport="tls"}')
p0=$(m0 'obsprobe_exchanges_total{service="pyfront",protocol="http1",transport="tls"}')
a0=$(wc -l <"$TMP/ngx/logs/access.log")

# nginx: N requests on one keep-alive connection and M on their own, one with a known traceparent
N=200 M=20
urls=()
for i in $(seq 1 $N); do urls+=("https://127.0.0.1:$NP/k$i"); done
curl -sk --max-time 60 "${urls[@]}" >"$TMP/ngx.out"
check "nginx answers every keep-alive HTTPS request" $N "$(grep -c '^ok$' "$TMP/ngx.out")"
for i in $(seq 1 $((M - 1))); do curl -sk --max-time 5 -o /dev/null "https://127.0.0.1:$NP/one$i"; done
curl -sk --max-time 5 -o /dev/null -H 'traceparent: 00-7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a-1b1b1b1b1b1b1b1b-01' \
	"https://127.0.0.1:$NP/known"
# HTTP/2 over TLS (ALPN h2): framed by the shim, decoded by the collector (issue 14): H server exchanges, HTTP/2
H=3
curl -sk --http2 --max-time 10 "https://127.0.0.1:$HP/h1" "https://127.0.0.1:$HP/h2" "https://127.0.0.1:$HP/h3" >"$TMP/h2.out"
check "nginx answers the h2 requests" $H "$(grep -c '^h2$' "$TMP/h2.out")"
# curl under the shim: client spans over TLS (one process, alive long enough for the collector to know it)
C=7
urls=()
for i in $(seq 1 $C); do urls+=("https://127.0.0.1:$NP/c$i"); done
"${SH[@]}" OBSPROBE_SERVICE=curltls curl -sk --rate 4/s --max-time 10 "${urls[@]}" >"$TMP/curl.out"
check "curl under the shim reads every answer" $C "$(grep -c '^ok$' "$TMP/curl.out")"

# python: P plain requests, one known traceparent through the chain (pyfront -> echo), one without
P=15
for i in $(seq 1 $P); do curl -sk --max-time 5 -o /dev/null "https://127.0.0.1:$PP/p$i"; done
chain=$(curl -sk --max-time 15 -H 'traceparent: 00-5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c-3d3d3d3d3d3d3d3d-01' \
	"https://127.0.0.1:$PP/chain/$EP")
chain2=$(curl -sk --max-time 15 "https://127.0.0.1:$PP/chain/$EP")
stall=$(curl -sk --max-time 15 -H 'traceparent: 00-6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e-4f4f4f4f4f4f4f4f-01' \
	"https://127.0.0.1:$PP/stall/$SP")
sleep 1.5
scrape $LP >"$TMP/m1"
a1=$(wc -l <"$TMP/ngx/logs/access.log")
m() { metric "$TMP/m1" "$1"; }

check "nginx access log: the h2 requests logged as HTTP/2.0" $H "$(grep -c '"GET /h[123] HTTP/2.0"' "$TMP/ngx/logs/access.log")"
NG=$((a1 - a0 - H)) # the HTTP/1.1 requests
check "nginx access log: every HTTP/1.1 request of the test logged" $((N + M + C)) $NG
check "nginx: exchanges over TLS = access log lines" $((${n0:-0} + NG)) "$(m 'obsprobe_exchanges_total{service="ngxtls",protocol="http1",transport="tls"}')"
sum_count() { grep -E "^$1\{" "$TMP/m1" | grep "service=\"$2\"" | awk '{s += $2} END {print s + 0}'; }
check "nginx: http_server_request_duration_seconds _count = access log lines (+ warmup, + h2)" $((NG + 1 + H)) \
	"$(sum_count http_server_request_duration_seconds_count ngxtls)"
check "nginx: no exchange parsed from the ciphertext" "" "$(m 'obsprobe_exchanges_total{service="ngxtls",protocol="http1",transport="tcp"}')"
check "nginx: every exchange a GET answered 200 (no parse garbage)" $((NG + 1 + H)) \
	"$(grep -E '^http_server_request_duration_seconds_count\{service="ngxtls",http_request_method="GET",http_response_status_code="200",' "$TMP/m1" | awk '{s += $2} END {print s + 0}')"
grep -q 'reason="tls_' "$TMP/m1" && bad "TLS losses counted: $(grep 'reason="tls_' "$TMP/m1")" || ok "no TLS plaintext lost or unresolved"
check "curl under the shim: client spans over TLS" $C "$(sum_count http_client_request_duration_seconds_count curltls)"
check "curl: its exchanges counted transport=tls" $C "$(m 'obsprobe_exchanges_total{service="curltls",protocol="http1",transport="tls"}')"

check "pyfront: exchanges over TLS (server $((P + 3)), client 3)" $((${p0:-0} + P + 6)) \
	"$(m 'obsprobe_exchanges_total{service="pyfront",protocol="http1",transport="tls"}')"
check "pyfront: server spans (+ warmup)" $((P + 4)) "$(sum_count http_server_request_duration_seconds_count pyfront)"
check "pyfront: client spans for its outgoing HTTPS calls" 3 "$(sum_count http_client_request_duration_seconds_count pyfront)"
check "pyfront: traceparent injected inside SSL_write_ex (3 calls, one retried)" 3 "$(m 'obsprobe_context_injections_total{service="pyfront",outcome="injected"}')"
check "pyfront: no other injection outcome" "" "$(grep -E '^obsprobe_context_injections_total\{service="pyfront",outcome="(no_room|cut|no_slot|not_exact|failed)"' "$TMP/m1")"
kill -INT $SERVE
wait $SERVE

python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/spans.jsonl" >"$TMP/spans" || bad "spans decode"
check "nginx: one server span per access log line (+ warmup)" $((NG + 1)) \
	"$(grep SPAN_KIND_SERVER "$TMP/spans" | grep -c "server.port=$NP ")"
check "nginx: the h2 requests as HTTP/2 server spans" $H \
	"$(grep SPAN_KIND_SERVER "$TMP/spans" | grep "server.port=$HP " | grep -c "network.protocol.version=2")"
known=$(grep SPAN_KIND_SERVER "$TMP/spans" | grep 'url.path=/known ')
check "nginx: the known traceparent comes back in the server span (trace)" 7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a "$(echo "$known" | cut -d' ' -f1)"
check "nginx: ... and its parent" 1b1b1b1b1b1b1b1b "$(echo "$known" | cut -d' ' -f3)"
check "curl: client spans in the spans file" $C "$(grep SPAN_KIND_CLIENT "$TMP/spans" | grep -c "server.port=$NP ")"
fsrv=$(grep SPAN_KIND_SERVER "$TMP/spans" | grep "url.path=/chain/$EP " | grep '^5c5c')
fcli=$(grep SPAN_KIND_CLIENT "$TMP/spans" | grep "server.port=$EP " | grep '^5c5c')
check "pyfront: the chained request continues the incoming trace" 3d3d3d3d3d3d3d3d "$(echo "$fsrv" | cut -d' ' -f3)"
check "pyfront: its client span is a child of its server span" "$(echo "$fsrv" | cut -d' ' -f2)" "$(echo "$fcli" | cut -d' ' -f3)"
check "echo got the injected traceparent (= pyfront's client span), and pyfront read the whole answer" \
	"traceparent=00-5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c-$(echo "$fcli" | cut -d' ' -f2)-01" "$chain"
scli=$(grep SPAN_KIND_CLIENT "$TMP/spans" | grep "server.port=$SP " | grep '^6e6e')
check "a write retried after WANT_WRITE: the program saw its own count, the peer got our line and the whole body" \
	"retried=1 sent=10074 of 10074
traceparent: 00-6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e-$(echo "$scli" | cut -d' ' -f2)-01 body=10000" "$stall"
t2=$(grep SPAN_KIND_SERVER "$TMP/spans" | grep "url.path=/chain/$EP " | grep -v '^5c5c' | cut -d' ' -f1)
check "a new trace crosses too: echo's header carries pyfront's own trace id" "traceparent=00-$t2-" "${chain2:0:48}"
finish
