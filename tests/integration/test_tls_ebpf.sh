#!/usr/bin/env bash
# test_tls_ebpf.sh -- eBPF path, TLS plaintext: nginx with ssl (master + 2 workers), a python HTTPS server
# that imports ssl after the attach, an openssl s_client exec'd later by a traced shell (OpenSSL 3) and gnutls-cli
# (GnuTLS), under one `obsprobe attach`.  Exact span and metric
# counts against nginx's access log and python's own request log; exchanges counted transport="tls"; no
# ciphertext parsed (no incomplete/garbage exchanges); a known traceparent survives HTTPS; s_client's client span
# joined by 4-tuple to nginx's server span; --no-tls attaches no uprobe.
source "$(dirname "$0")/lib.sh"
need_root
command -v nginx >/dev/null || { echo "SKIP: nginx missing"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

NPORT=$(free_port) PPORT=$(free_port) LP=$(free_port) LP2=$(free_port)
mkdir -p "$TMP/ngx/logs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 -subj /CN=localhost \
	2>/dev/null || { bad "openssl could not make a certificate"; finish; }

# ---- nginx: master + 2 workers, TLS on a loopback port, the access log as ground truth ----
cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 2;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 128; }
http {
  access_log $TMP/ngx/logs/access.log;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f; uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;
    location / { return 200 "ok\n"; }
  }
}
NGX
nginx -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" || { bad "nginx did not start"; finish; }
wait_for 5 test -s "$TMP/ngx/nginx.pid"
NMASTER=$(cat "$TMP/ngx/nginx.pid")
PIDS+=($NMASTER)

# ---- python: http.server wrapped with ssl, imported (libssl dlopen'd) only after obsprobe attached; each
# request it serves is one line on stderr ----
cat >"$TMP/https.py" <<'PYEOF'
import http.server, sys
open(sys.argv[4]).read()
import ssl
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, fmt, *args):
        sys.stderr.write("served %s\n" % self.path)
        sys.stderr.flush()
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PYEOF
mkfifo "$TMP/go.py"
timeout 110 $PY "$TMP/https.py" "$PPORT" "$TMP/cert.pem" "$TMP/key.pem" "$TMP/go.py" 2>"$TMP/py.log" &
PYPID=$!
PIDS+=($PYPID)

# ---- a shell that maps no libssl yet: once told, it execs openssl s_client (its libssl mapped after the exec,
# found then: an executable mmap wakes the session), which sends its request when the test sees the probes on it
# (a curl exec'd the same way may be done before the collector has attached: that race is said at exit) ----
mkfifo "$TMP/go" "$TMP/sc"
timeout 110 bash -c 'read -r _ <"$1"; exec openssl s_client -quiet -connect "127.0.0.1:$2" 0<>"$3" >/dev/null 2>&1' _ \
	"$TMP/go" "$NPORT" "$TMP/sc" &
SH=$!
PIDS+=($SH)

# ---- GnuTLS: gnutls-cli, connected (handshake done) before the attach, sends what comes down its fifo ----
GN=""
if command -v gnutls-cli >/dev/null; then
	mkfifo "$TMP/gn"
	timeout 110 gnutls-cli --insecure -p "$NPORT" 127.0.0.1 <"$TMP/gn" >"$TMP/gn.out" 2>"$TMP/gn.err" &
	GN=$!
	PIDS+=($GN)
	exec 7>"$TMP/gn"
	wait_for 10 grep -q "Handshake was completed" "$TMP/gn.out" || bad "gnutls-cli did not connect: $(tail -2 "$TMP/gn.err")"
	GNCLI=$(pgrep -P "$GN" gnutls-cli) # GN is timeout's pid: gnutls-cli is its child
fi

"$OBSPROBE" attach --pid "$NMASTER" --pid "$PYPID" --pid "$SH" ${GN:+--pid "$GN"} --service tlsapp --listen "127.0.0.1:$LP" \
	--spans-file "$TMP/spans.jsonl" -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 30 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }
grep -q libssl "/proc/$PYPID/maps" && bad "python mapped libssl before it was told to import ssl"
echo go >"$TMP/go.py"
wait_for 10 curl -skf -o /dev/null "https://127.0.0.1:$PPORT/warmup" || { bad "python https server did not start"; finish; }
before_ng=$(grep -c '"GET /ng ' "$TMP/ngx/logs/access.log")
before_py=$(grep -c '^served /py$' "$TMP/py.log")

# nginx: a keep-alive batch on one connection, and one connection (one handshake) per request
K=40 C=10
urls=()
for i in $(seq 1 $K); do urls+=("https://127.0.0.1:$NPORT/ng"); done
curl -sk --max-time 30 "${urls[@]}" >/dev/null
for i in $(seq 1 $C); do curl -sk --max-time 10 -o /dev/null "https://127.0.0.1:$NPORT/ng"; done
# a known trace context over HTTPS
curl -sk --max-time 10 -o /dev/null -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' \
	"https://127.0.0.1:$NPORT/tp"
# python: HTTP/1.0, one connection each
P=5
for i in $(seq 1 $P); do curl -sk --max-time 10 -o /dev/null "https://127.0.0.1:$PPORT/py"; done
# gnutls-cli: two requests on its one connection, each a client span joined to nginx's server span
if [ -n "$GN" ]; then
	printf 'GET /gnu HTTP/1.1\r\nHost: x\r\n\r\n' >&7
	gnu_served() { test "$(grep -c '"GET /gnu ' "$TMP/ngx/logs/access.log")" -ge "$1"; } # (evaluated each try)
	wait_for 10 gnu_served 1
	printf 'GET /gnu HTTP/1.1\r\nHost: x\r\n\r\n' >&7
	wait_for 10 gnu_served 2
fi
# the traced shell's s_client: a client span, and nginx's server span its child by 4-tuple
SC=$(pgrep -P "$SH") # SH is timeout's pid: the shell (s_client after its exec) is its child
sc_probes() { curl -s "http://127.0.0.1:$LP/api/v1/targets" | $PY -c 'import json,sys; print(" ".join(str(t["probes"]) for t in json.load(sys.stdin)["targets"] if t["pid"] == '"${SC:-0}"'))'; }
echo go >"$TMP/go"
sc_ready() { test "$(sc_probes)" == 13; }
wait_for 10 sc_ready || bad "s_client exec'd by the traced shell: no OpenSSL uprobes ($(sc_probes))"
printf 'GET /joined HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$TMP/sc"
wait "$SH"
sleep 1.5

scrape "$LP" >"$TMP/m"
ng=$(($(grep -c '"GET /ng ' "$TMP/ngx/logs/access.log") - before_ng))
py=$(($(grep -c '^served /py$' "$TMP/py.log") - before_py))
check "nginx served every request (access log)" $((K + C)) "$ng"
check "python served every request (its log)" $P "$py"

route() { metric "$TMP/m" "http_server_request_duration_seconds_count{service=\"tlsapp\",http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"$1\"}"; }
check "nginx: http_server_request_duration_seconds_count = access log" "$ng" "$(route /ng)"
check "python: http_server_request_duration_seconds_count = its log" "$py" "$(route /py)"
check "s_client's request counted by nginx" 1 "$(route /joined)"

# spans: kind, name, trace, span, parent, per line
$PY - "$TMP/spans.jsonl" >"$TMP/spans.txt" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                print(s["kind"], s["name"].replace(" ", "_"), s["traceId"], s["spanId"], s.get("parentSpanId", "-"))
PYEOF
check "nginx server spans = access log" "$ng" "$(grep -c '^2 GET_/ng ' "$TMP/spans.txt")"
check "python (ssl imported after attach) server spans = its log" "$py" "$(grep -c '^2 GET_/py ' "$TMP/spans.txt")"
check "python: the warm-up request too" 1 "$(grep -c '^2 GET_/warmup ' "$TMP/spans.txt")"
check "traceparent over HTTPS: server span trace and parent" "0af7651916cd43dd8448eb211c80319c b7ad6b7169203331" \
	"$(awk '$1 == 2 && $2 == "GET_/tp" { print $3, $5 }' "$TMP/spans.txt")"
# a client span is "GET" (no route): which one is s_client's, which gnutls-cli's, the trace joins tell
server=$(awk '$1 == 2 && $2 == "GET_/joined" { print $3, $5 }' "$TMP/spans.txt")
client=$(awk -v s="$server" '$1 == 3 && $2 == "GET" && $3 " " $4 == s { print $3, $4 }' "$TMP/spans.txt")
check "nginx's span for s_client's (exec'd after attach) request is the child of its client span (4-tuple)" \
	"$server" "$client"
gn=0
if [ -n "$GN" ]; then
	gn=$(grep -c '"GET /gnu ' "$TMP/ngx/logs/access.log")
	check "gnutls-cli: requests nginx served" 2 "$gn"
	joined=$(awk '$1 == 3 && $2 == "GET" { c[$3 " " $4] = 1 } $1 == 2 && $2 == "GET_/gnu" { s[$3 " " $5] = 1 }
		END { n = 0; for (k in s) if (k in c) n++; print n }' "$TMP/spans.txt")
	check "GnuTLS: nginx's spans for gnutls-cli's requests are children of its client spans" 2 "$joined"
fi
check "client spans: s_client's and gnutls-cli's" $((1 + gn)) "$(awk '$1 == 3' "$TMP/spans.txt" | wc -l)"
check "no span from ciphertext" $((ng + py + 4 + 2 * gn)) "$(wc -l <"$TMP/spans.txt")"

check "exchanges counted transport=tls" $((ng + py + 4 + 2 * gn)) \
	"$(metric "$TMP/m" 'obsprobe_exchanges_total{service="tlsapp",protocol="http1",transport="tls"}')"
check "no exchange from the sockets' own bytes" "" \
	"$(grep '^obsprobe_exchanges_total{.*transport="tcp"' "$TMP/m")"
check "no incomplete exchanges or TLS losses" "" \
	"$(grep -E '^obsprobe_events_lost_total\{.*reason="(incomplete|tls_no_socket|http[a-z_]*)"\} [1-9]' "$TMP/m")"
probes=$(curl -s "http://127.0.0.1:$LP/api/v1/targets" | $PY -c 'import json,sys; print(" ".join(str(t["probes"]) for t in json.load(sys.stdin)["targets"] if t["comm"] == "nginx"))')
check "nginx: master and both workers carry OpenSSL uprobes (2 tracepoints + 11)" "13 13 13" "$probes"
if [ -n "$GN" ]; then
	probes=$(curl -s "http://127.0.0.1:$LP/api/v1/targets" | $PY -c 'import json,sys; print(" ".join(str(t["probes"]) for t in json.load(sys.stdin)["targets"] if t["pid"] == '"${GNCLI:-0}"'))')
	check "gnutls-cli carries GnuTLS uprobes (2 tracepoints + 7) and none of OpenSSL's (it maps no libssl)" 9 "$probes"
	exec 7>&-
fi
kill -INT $OBS
wait $OBS

# --no-tls: no uprobes, the plaintext path is as before
"$OBSPROBE" attach --pid "$NMASTER" --no-tls --listen "127.0.0.1:$LP2" -q 2>"$TMP/obs2.err" &
OBS2=$!
PIDS+=($OBS2)
wait_for 30 curl -sf "http://127.0.0.1:$LP2/health/ready" || { bad "obsprobe --no-tls not ready"; cat "$TMP/obs2.err"; finish; }
curl -sk --max-time 10 -o /dev/null "https://127.0.0.1:$NPORT/ng"
sleep 1
scrape "$LP2" >"$TMP/m2"
probes=$(curl -s "http://127.0.0.1:$LP2/api/v1/targets" | $PY -c 'import json,sys; print(" ".join(str(t["probes"]) for t in json.load(sys.stdin)["targets"]))')
check "--no-tls: only the syscall tracepoints" "2 2 2" "$probes"
check "--no-tls: no exchange from ciphertext" "" "$(grep '^obsprobe_exchanges_total{' "$TMP/m2")"
kill -INT $OBS2
wait $OBS2
finish
