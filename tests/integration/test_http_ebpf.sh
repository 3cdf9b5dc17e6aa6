#!/usr/bin/env bash
# test_http_ebpf.sh -- eBPF path: HTTP spans with every propagation format, RED counts, the 4-tuple join of two
# traced servers, trace-tagged logs, OTLP/protobuf decoded by protoc, retries through 503s, and no secret leaks.
source "$(dirname "$0")/lib.sh"
need_root
command -v protoc >/dev/null || { echo "SKIP: protoc missing (scripts/install-deps.sh)"; exit 77; }

PA=$(free_port) PB=$(free_port) LP=$(free_port)
mkdir -p "$TMP/rcv"
# the receiver refuses the first 3 exports with 503: everything must still arrive
python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/rcv" --port-file "$TMP/rcv.port" --fail 3 --status 503 \
	--max-seconds 120 &
PIDS+=($!)
wait_for 5 test -s "$TMP/rcv.port" || { bad "receiver did not start"; finish; }
RPORT=$(cat "$TMP/rcv.port")

"$TARGETS/httpd" "$PA" 2 >/dev/null 2>"$TMP/a.err" &
A=$!
PIDS+=($A)
"$TARGETS/httpd" "$PB" 1 >/dev/null 2>"$TMP/b.err" &
B=$!
PIDS+=($B)
wait_for 5 curl -sf "http://127.0.0.1:$PA/" && wait_for 5 curl -sf "http://127.0.0.1:$PB/" ||
	{ bad "httpd did not start"; finish; }

"$OBSPROBE" attach --pid "$A" --pid "$B" --service shop --listen "127.0.0.1:$LP" \
	--otlp-endpoint "http://127.0.0.1:$RPORT" --spans-file "$TMP/spans.jsonl" --log-file "$TMP/logs.jsonl" \
	--func handle_user -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }

get() { curl -s -o /dev/null "$@"; }
# one request per propagation format, plus a malformed one; routes tell them apart
get -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' -H 'tracestate: congo=t61rcWkgMzE' \
	"http://127.0.0.1:$PA/api/users/1"
get -H 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' "http://127.0.0.1:$PA/api/users/2"
get -H 'X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124' -H 'X-B3-SpanId: a2fb4a1d1a96d312' -H 'X-B3-Sampled: 1' \
	"http://127.0.0.1:$PA/api/users/3"
get -H 'X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' \
	"http://127.0.0.1:$PA/api/users/4"
get -H 'x-datadog-trace-id: 1234567890123' -H 'x-datadog-parent-id: 987654321' -H 'x-datadog-sampling-priority: 1' \
	"http://127.0.0.1:$PA/api/users/5"
get -H 'traceparent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01' "http://127.0.0.1:$PA/api/users/6"
# secrets in the URL and headers; a JSON log line; an error; a call from A to B while serving
get -H 'Authorization: Bearer sk_live_abcdef123456' \
	"http://127.0.0.1:$PA/json?password=hunter2&card=4111111111111111&mail=alice@example.com&order=1234567812345678"
get "http://127.0.0.1:$PA/error"
get -H 'Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l' -H 'Cookie: sid=c00k1e-v4lue; theme=dark' "http://127.0.0.1:$PA/debug"
get -H 'traceparent: 00-11111111111111111111111111111111-2222222222222222-01' "http://127.0.0.1:$PA/chain/$PB"
# plain keep-alive batch: 20 requests on one connection
urls=()
for i in $(seq 1 20); do urls+=("http://127.0.0.1:$PA/"); done
curl -s "${urls[@]}" >/dev/null
# a line written between requests: no trace
for w in $(pgrep -P "$A"); do kill -USR1 "$w"; done
sleep 1
scrape "$LP" >"$TMP/m"
curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' "http://127.0.0.1:$LP/metrics" >"$TMP/om"
# the receiver refused the first exports: give the retries (0.5 s, 1 s, 2 s backoff) time to get through
sleep 4
kill -INT $OBS
wait $OBS
rc=$?
check "obsprobe exit status" 0 "$rc"

m() { metric "$TMP/m" "$1"; }
check "GET /api/users/{id} 200 count" 6 "$(m 'http_server_request_duration_seconds_count{service="shop",http_request_method="GET",http_response_status_code="200",http_route="/api/users/{id}"}')"
check "GET / 200 count (20 keep-alive + B's 1)" 21 "$(m 'http_server_request_duration_seconds_count{service="shop",http_request_method="GET",http_response_status_code="200",http_route="/"}')"
check "GET /error 500 count" 1 "$(m 'http_server_request_duration_seconds_count{service="shop",http_request_method="GET",http_response_status_code="500",http_route="/error"}')"
check "client GET to B count" 1 "$(m "http_client_request_duration_seconds_count{service=\"shop\",http_request_method=\"GET\",http_response_status_code=\"200\",server_address=\"127.0.0.1\"}")"
check "function handle_user count" 6 "$(m 'obsprobe_function_duration_seconds_count{service="shop",function="handle_user",object="httpd"}')"

python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/spans.jsonl" >"$TMP/file.spans" || bad "spans file decodes"
python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/rcv" >"$TMP/otlp.spans" || bad "OTLP protobuf decodes (protoc)"
check "OTLP spans == --spans-file spans" "$(sort "$TMP/file.spans" | md5sum)" "$(sort "$TMP/otlp.spans" | md5sum)"
check "3 exports refused with 503 first" 3 "$(grep -c '^503 /v1/traces' "$TMP/rcv/requests.log")"

span_of() { grep " url.path=$1 " "$TMP/otlp.spans" | grep SPAN_KIND_SERVER | head -1; }
expect_ctx() { # name route trace parent
	local line
	line=$(grep "url.path=$2 " "$TMP/otlp.spans" | grep SPAN_KIND_SERVER | head -1)
	check "$1 trace id" "$3" "$(echo "$line" | cut -d' ' -f1)"
	check "$1 parent id" "$4" "$(echo "$line" | cut -d' ' -f3)"
}
expect_ctx "W3C" /api/users/1 0af7651916cd43dd8448eb211c80319c b7ad6b7169203331
expect_ctx "B3 single" /api/users/2 80f198ee56343ba864fe8b2a57d3eff7 e457b5a2e4d86bd1
expect_ctx "B3 multi" /api/users/3 463ac35c9f6413ad48485a3953bb6124 a2fb4a1d1a96d312
expect_ctx "X-Ray" /api/users/4 5759e988bd862e3fe1be46a994272793 53995c3f42cd8ad8
expect_ctx "Datadog" /api/users/5 00000000000000000000011f71fb04cb 000000003ade68b1
bad6=$(grep "url.path=/api/users/6 " "$TMP/otlp.spans" | head -1)
if [ -n "$bad6" ] && [ "$(echo "$bad6" | cut -d' ' -f3)" == "-" ] &&
	[ "$(echo "$bad6" | cut -d' ' -f1)" != 0af7651916cd43dd8448eb211c80319c ]; then
	ok "malformed traceparent (uppercase) starts a new root trace"
else
	bad "malformed traceparent: $bad6"
fi
grep -q "url.path=/error .*" "$TMP/otlp.spans" && grep "url.path=/error " "$TMP/otlp.spans" | grep -q STATUS_CODE_ERROR &&
	ok "500 span has status ERROR" || bad "500 span status"

# A serves /chain: its client span is a child of its server span; B's server span is a child of the client span
chain=$(grep "url.path=/chain/$PB " "$TMP/otlp.spans" | grep SPAN_KIND_SERVER)
client=$(grep SPAN_KIND_CLIENT "$TMP/otlp.spans" | head -1)
bsrv=$(grep SPAN_KIND_SERVER "$TMP/otlp.spans" | grep "server.port=$PB " | head -1)
check "client span trace" 11111111111111111111111111111111 "$(echo "$client" | cut -d' ' -f1)"
check "client span parent = A's server span" "$(echo "$chain" | cut -d' ' -f2)" "$(echo "$client" | cut -d' ' -f3)"
check "B joins by 4-tuple: trace" 11111111111111111111111111111111 "$(echo "$bsrv" | cut -d' ' -f1)"
check "B joins by 4-tuple: parent = client span" "$(echo "$client" | cut -d' ' -f2)" "$(echo "$bsrv" | cut -d' ' -f3)"
# --func calls during a request are INTERNAL children
u1=$(span_of /api/users/1)
internal=$(grep SPAN_KIND_INTERNAL "$TMP/otlp.spans" | awk -v p="$(echo "$u1" | cut -d' ' -f2)" '$3 == p')
check "handle_user INTERNAL span under /api/users/1" handle_user "$(echo "$internal" | cut -d' ' -f5)"
check "INTERNAL spans in all" 6 "$(grep -c SPAN_KIND_INTERNAL "$TMP/otlp.spans")"

# logs: every request line carries its server span's ids; the start-up line (stdout) is not stderr's
python3 "$ROOT/tests/otlp/otlpdump.py" logs "$TMP/rcv" >"$TMP/otlp.logs" || bad "OTLP logs decode"
python3 "$ROOT/tests/otlp/otlpdump.py" logs "$TMP/logs.jsonl" >"$TMP/file.logs" || bad "log file decodes"
check "OTLP log records == --log-file records" "$(sort "$TMP/file.logs" | md5sum)" "$(sort "$TMP/otlp.logs" | md5sum)"
l1=$(grep "GET /api/users/1 200" "$TMP/file.logs")
check "log line of /api/users/1: trace" 0af7651916cd43dd8448eb211c80319c "$(echo "$l1" | cut -d' ' -f1)"
check "log line of /api/users/1: span = server span" "$(echo "$u1" | cut -d' ' -f2)" "$(echo "$l1" | cut -d' ' -f2)"
jl=$(grep '"level":"warn"' "$TMP/file.logs")
check "JSON log line severity" WARN "$(echo "$jl" | cut -d' ' -f3)"
check "log records: one per request served" 31 "$(grep -c ' 200$\| 500$\| 502$\|json route\|DEBUG headers' "$TMP/file.logs")"
check "no request log line without a trace" 0 "$(grep -v NOTICE "$TMP/file.logs" | awk '$1 == "-"' | wc -l)"
check "lines between requests carry no trace (one per worker)" "- - INFO NOTICE reopening logs
- - INFO NOTICE reopening logs" "$(grep NOTICE "$TMP/file.logs")"
# OpenMetrics: latency buckets carry exemplars of exported spans
ex=$(grep '^http_server_request_duration_seconds_bucket{.*http_route="/api/users/{id}".* # {trace_id="' "$TMP/om" | head -1 |
	sed -n 's/.*trace_id="\([0-9a-f]*\)",span_id="\([0-9a-f]*\)".*/\1 \2/p')
[ -n "$ex" ] && grep -q "^$ex " "$TMP/otlp.spans" && ok "exemplar $ex is an exported span" || bad "exemplar: '$ex'"
tail -1 "$TMP/om" | grep -qx '# EOF' && ok "OpenMetrics exposition ends with # EOF" || bad "OpenMetrics: no # EOF"

# secrets: nothing leaves, in any output, as raw bytes (the receiver stores bodies decompressed)
for s in hunter2 4111111111111111 alice@example.com sk_live_abcdef123456 YWxhZGRpbjpvcGVuc2VzYW1l c00k1e-v4lue; do
	if grep -rqaF "$s" "$TMP/spans.jsonl" "$TMP/logs.jsonl" "$TMP/rcv"; then bad "secret '$s' leaked"; else ok "secret '$s' redacted everywhere"; fi
done
grep -qaF 1234567812345678 "$TMP/logs.jsonl" && ok "non-Luhn digits kept" || bad "non-Luhn digit run was altered"
grep -qaF '****-****-****-1111' "$TMP/logs.jsonl" && ok "card masked to last 4" || bad "card mask"
finish
