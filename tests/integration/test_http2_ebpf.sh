#!/usr/bin/env bash
# test_http2_ebpf.sh -- eBPF path, HTTP/2: nginx (master + 2 workers) serving h2c (`listen ... http2`, curl
# --http2-prior-knowledge) and h2 over TLS (`listen ... ssl http2`, ALPN; the TLS uprobes give the plaintext),
# under one `obsprobe attach`.  Exact http_server_request_duration_seconds_count and server spans against
# nginx's access log (which says HTTP/2.0), spans with network.protocol.version "2", exchanges counted
# protocol="http2" over tcp and tls, a known traceparent honoured on a multiplexed connection, no HPACK loss.
source "$(dirname "$0")/lib.sh"
need_root
command -v nginx >/dev/null || { echo "SKIP: nginx missing"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
curl --version | grep -q nghttp2 || { echo "SKIP: curl without HTTP/2"; exit 77; }
PY=/usr/bin/python3

# ports of this test's range (7200-7299)
HPORT=7210 SPORT=7211 LP=7212
mkdir -p "$TMP/ngx/logs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 -subj /CN=localhost \
	2>/dev/null || { bad "openssl could not make a certificate"; finish; }

cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 2;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 128; }
http {
  log_format p '\$server_port \$request \$status';
  access_log $TMP/ngx/logs/access.log p;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f; uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  server {
    listen 127.0.0.1:$HPORT http2;
    listen 127.0.0.1:$SPORT ssl http2;
    ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;
    location / { return 200 "ok\n"; }
    location /missing { return 404; }
  }
}
NGX
nginx -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" || { bad "nginx did not start"; finish; }
wait_for 5 test -s "$TMP/ngx/nginx.pid"
NMASTER=$(cat "$TMP/ngx/nginx.pid")
PIDS+=($NMASTER)

"$OBSPROBE" attach --pid "$NMASTER" --service h2app --listen "127.0.0.1:$LP" --spans-file "$TMP/spans.jsonl" -q \
	2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 30 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }

# h2c: K requests multiplexed on one connection (HPACK's dynamic table reused), C connections of one request,
# N 404s, one with a known traceparent among others on one connection
K=30 C=8 N=4
urls=()
for i in $(seq 1 $K); do urls+=("http://127.0.0.1:$HPORT/h2c"); done
curl -s --http2-prior-knowledge --max-time 30 "${urls[@]}" >/dev/null
for i in $(seq 1 $C); do curl -s --http2-prior-knowledge --max-time 10 -o /dev/null "http://127.0.0.1:$HPORT/h2c/$i"; done
for i in $(seq 1 $N); do curl -s --http2-prior-knowledge --max-time 10 -o /dev/null "http://127.0.0.1:$HPORT/missing"; done
curl -s --http2-prior-knowledge --max-time 10 -o /dev/null "http://127.0.0.1:$HPORT/before" --next \
	--http2-prior-knowledge --max-time 10 -o /dev/null \
	-H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' "http://127.0.0.1:$HPORT/tp"
# h2 over TLS: T requests on one connection, S connections
T=20 S=5
urls=()
for i in $(seq 1 $T); do urls+=("https://127.0.0.1:$SPORT/tls"); done
curl -sk --http2 --max-time 30 "${urls[@]}" >/dev/null
for i in $(seq 1 $S); do curl -sk --http2 --max-time 10 -o /dev/null "https://127.0.0.1:$SPORT/tls"; done
sleep 1.5

scrape "$LP" >"$TMP/m"
log=$TMP/ngx/logs/access.log
h2c=$(grep -c "^$HPORT GET /h2c[/0-9]* HTTP/2.0 200$" "$log")
tls=$(grep -c "^$SPORT GET /tls HTTP/2.0 200$" "$log")
miss=$(grep -c "^$HPORT GET /missing HTTP/2.0 404$" "$log")
check "nginx served the h2c requests over HTTP/2 (access log)" $((K + C)) "$h2c"
check "nginx served the TLS requests over HTTP/2 (access log)" $((T + S)) "$tls"
check "nginx answered 404s (access log)" $N "$miss"
all=$(wc -l <"$log")

route() { metric "$TMP/m" "http_server_request_duration_seconds_count{service=\"h2app\",http_request_method=\"GET\",http_response_status_code=\"$2\",http_route=\"$1\"}"; }
check "h2c: http_server_request_duration_seconds_count /h2c" $K "$(route /h2c 200)"
check "h2c: http_server_request_duration_seconds_count /h2c/{id}" $C "$(route '/h2c/{id}' 200)"
check "h2c: 404s counted" $N "$(route /missing 404)"
check "h2 over TLS: http_server_request_duration_seconds_count /tls" $((T + S)) "$(route /tls 200)"
check "exchanges protocol=http2 over tcp = h2c requests nginx served" $((K + C + N + 2)) \
	"$(metric "$TMP/m" 'obsprobe_exchanges_total{service="h2app",protocol="http2",transport="tcp"}')"
check "exchanges protocol=http2 over tls = TLS requests nginx served" $((T + S)) \
	"$(metric "$TMP/m" 'obsprobe_exchanges_total{service="h2app",protocol="http2",transport="tls"}')"
check "no HTTP/1 exchange made of HTTP/2 bytes" "" "$(grep '^obsprobe_exchanges_total{.*protocol="http1"' "$TMP/m")"
check "no HTTP/2 losses, no incomplete exchanges" "" \
	"$(grep -E '^obsprobe_events_lost_total\{.*reason="(http[a-z0-9_]*|incomplete)"\} [1-9]' "$TMP/m")"

$PY - "$TMP/spans.jsonl" >"$TMP/spans.txt" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                a = {x["key"]: list(x["value"].values())[0] for x in s.get("attributes", [])}
                print(s["kind"], s["name"].replace(" ", "_"), s["traceId"], s["spanId"], s.get("parentSpanId", "-"),
                      a.get("network.protocol.version"), a.get("http.response.status_code"), a.get("url.path"))
PYEOF
check "server spans = requests in the access log" "$all" "$(awk '$1 == 2' "$TMP/spans.txt" | wc -l)"
check "every span says network.protocol.version 2" "$all" "$(awk '$1 == 2 && $6 == 2' "$TMP/spans.txt" | wc -l)"
check "h2 over TLS spans" $((T + S)) "$(grep -c '^2 GET_/tls ' "$TMP/spans.txt")"
check "traceparent on a multiplexed h2c connection: server span trace and parent" \
	"0af7651916cd43dd8448eb211c80319c b7ad6b7169203331" "$(awk '$2 == "GET_/tp" { print $3, $5 }' "$TMP/spans.txt")"
check "the request before it on the same connection is not in that trace" "1" \
	"$(awk '$2 == "GET_/before" && $3 != "0af7651916cd43dd8448eb211c80319c" && $5 == "-"' "$TMP/spans.txt" | wc -l)"
kill -INT $OBS
wait $OBS
check "obsprobe said no HTTP/2 loss at exit" "" "$(grep -i 'HTTP/2' "$TMP/obs.err")"
finish
