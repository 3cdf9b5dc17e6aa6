#!/usr/bin/env bash
# test_http_shim.sh -- shim path: spans with every propagation format, traceparent injected into a downstream call
# (the program's byte counts untouched), in-place log tagging, RED counts, OTLP/JSON, no secret leaks.
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
RT=$TMP/rt
mkdir -p "$RT" "$TMP/rcv"
chmod 1777 "$RT"
PA=$(free_port) PB=$(free_port) LP=$(free_port) PE=$(free_port)

python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/rcv" --port-file "$TMP/rcv.port" --max-seconds 120 &
PIDS+=($!)
wait_for 5 test -s "$TMP/rcv.port" || { bad "receiver did not start"; finish; }
RPORT=$(cat "$TMP/rcv.port")

OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$LP" --otlp-endpoint "http://127.0.0.1:$RPORT" \
	--otlp-protocol http/json --spans-file "$TMP/spans.jsonl" --log-file "$TMP/logs.jsonl" -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/live" || { bad "obsprobe serve did not start"; finish; }

# E: untraced, records the headers it gets (what A's shim put on the wire)
cat >"$TMP/echo.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[2], "a") as f:
            for k in ("traceparent", "tracestate", "baggage"):
                f.write("%s: %s\n" % (k, self.headers.get(k)))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$TMP/echo.py" "$PE" "$TMP/echo.hdrs" &
PIDS+=($!)
# A tags its own log lines in place; B is a plain shim process
OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=front OBSPROBE_LOG_TAG=1 LD_PRELOAD=$SHIM \
	"$TARGETS/httpd" "$PA" 0 >/dev/null 2>"$TMP/a.err" &
A=$!
PIDS+=($A)
OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=back LD_PRELOAD=$SHIM "$TARGETS/httpd" "$PB" 0 >/dev/null 2>"$TMP/b.err" &
B=$!
PIDS+=($B)
wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$PB/nowhere" && wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$PA/nowhere"
sleep 0.5

get() { curl -s -o /dev/null "$@"; }
get -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' "http://127.0.0.1:$PA/api/users/1"
get -H 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' "http://127.0.0.1:$PA/api/users/2"
get -H 'X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124' -H 'X-B3-SpanId: a2fb4a1d1a96d312' -H 'X-B3-Sampled: 1' \
	"http://127.0.0.1:$PA/api/users/3"
get -H 'X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' \
	"http://127.0.0.1:$PA/api/users/4"
get -H 'x-datadog-trace-id: 1234567890123' -H 'x-datadog-parent-id: 987654321' "http://127.0.0.1:$PA/api/users/5"
get -H 'traceparent: 00-11111111111111111111111111111111-2222222222222222-01' -H 'tracestate: k=v' \
	-H 'baggage: tenant=acme' "http://127.0.0.1:$PA/chain/$PB"
get -H "traceparent: 00-33333333333333333333333333333331-4444444444444444-01" "http://127.0.0.1:$PA/chain/$PB?via=writev"
get -H "traceparent: 00-33333333333333333333333333333332-4444444444444444-01" "http://127.0.0.1:$PA/chain/$PB?via=sendmsg"
get -H 'traceparent: 00-55555555555555555555555555555555-6666666666666666-01' -H 'tracestate: vendor=opaque' \
	-H 'baggage: tenant=acme,region=eu' "http://127.0.0.1:$PA/chain/$PE"
body=$(curl -s "http://127.0.0.1:$PA/chain/$PB")
check "A still reads B's whole answer (injection kept its byte counts)" "downstream 200" "$body"
get "http://127.0.0.1:$PA/json?api_key=k3y-s3cr3t&email=bob@example.org"
urls=()
for i in $(seq 1 20); do urls+=("http://127.0.0.1:$PA/"); done
curl -s "${urls[@]}" >/dev/null
sleep 1
scrape "$LP" >"$TMP/m"
kill $A $B
wait $A $B 2>/dev/null
sleep 0.5
kill -INT $OBS
wait $OBS
check "serve exit status" 0 $?

m() { metric "$TMP/m" "$1"; }
check "front GET /api/users/{id} 200" 5 "$(m 'http_server_request_duration_seconds_count{service="front",http_request_method="GET",http_response_status_code="200",http_route="/api/users/{id}"}')"
check "front GET / 200 (keep-alive batch)" 20 "$(m 'http_server_request_duration_seconds_count{service="front",http_request_method="GET",http_response_status_code="200",http_route="/"}')"
check "back GET / 200 (four chained calls)" 4 "$(m 'http_server_request_duration_seconds_count{service="back",http_request_method="GET",http_response_status_code="200",http_route="/"}')"
check "front client calls" 5 "$(m "http_client_request_duration_seconds_count{service=\"front\",http_request_method=\"GET\",http_response_status_code=\"200\",server_address=\"127.0.0.1\"}")"
check "front: traceparent injected into each downstream call (5 chained)" 5 "$(m 'obsprobe_context_injections_total{service="front",outcome="injected"}')"
check "front: no request sent without it for lack of room" "" "$(m 'obsprobe_context_injections_total{service="front",outcome="no_room"}')"

python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/rcv" >"$TMP/otlp.spans" || bad "OTLP/JSON decodes"
python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/spans.jsonl" >"$TMP/file.spans"
check "OTLP spans == --spans-file spans" "$(sort "$TMP/file.spans" | md5sum)" "$(sort "$TMP/otlp.spans" | md5sum)"
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

# the chained call: A server -> A client -> (traceparent on the wire) -> B server
chain=$(grep "url.path=/chain/$PB " "$TMP/otlp.spans" | grep 11111111111111111111111111111111 | head -1)
client=$(grep SPAN_KIND_CLIENT "$TMP/otlp.spans" | grep 11111111111111111111111111111111 | head -1)
bsrv=$(grep SPAN_KIND_SERVER "$TMP/otlp.spans" | grep "server.port=$PB " | grep 11111111111111111111111111111111 | head -1)
check "A's client span is a child of A's server span" "$(echo "$chain" | cut -d' ' -f2)" "$(echo "$client" | cut -d' ' -f3)"
check "B's server span continues the trace (injected traceparent)" 11111111111111111111111111111111 "$(echo "$bsrv" | cut -d' ' -f1)"
check "B's parent is A's client span" "$(echo "$client" | cut -d' ' -f2)" "$(echo "$bsrv" | cut -d' ' -f3)"
for via in writev:1 sendmsg:2; do
	tr=3333333333333333333333333333333${via#*:}
	via=${via%:*}
	c=$(grep SPAN_KIND_CLIENT "$TMP/otlp.spans" | grep "^$tr " | head -1)
	bs=$(grep SPAN_KIND_SERVER "$TMP/otlp.spans" | grep "server.port=$PB " | grep "^$tr " | head -1)
	check "injection through $via: B continues the trace under A's client span" "$(echo "$c" | cut -d' ' -f2)" \
		"$(echo "$bs" | cut -d' ' -f3)"
done
new=$(grep "url.path=/chain/$PB " "$TMP/otlp.spans" | grep -v 11111111111111111111111111111111 | grep -v '^3333' | head -1)
bnew=$(grep SPAN_KIND_SERVER "$TMP/otlp.spans" | grep "server.port=$PB " | grep -E " url.path=/( |$)" | grep -v 11111111111111111111111111111111 | grep -v "^3333" | head -1)
check "a new trace also crosses to B" "$(echo "$new" | cut -d' ' -f1)" "$(echo "$bnew" | cut -d' ' -f1)"

ecl=$(grep SPAN_KIND_CLIENT "$TMP/otlp.spans" | grep '^55555555555555555555555555555555 ' | head -1)
check "on the wire: traceparent = the client span" "traceparent: 00-55555555555555555555555555555555-$(echo "$ecl" | cut -d' ' -f2)-01" \
	"$(grep traceparent "$TMP/echo.hdrs")"
check "on the wire: tracestate and baggage passed on" "tracestate: vendor=opaque
baggage: tenant=acme,region=eu" "$(grep -e tracestate -e baggage "$TMP/echo.hdrs")"

# in-place tagging: A's own stderr line carries the ids of its server span
u1=$(grep "url.path=/api/users/1 " "$TMP/otlp.spans" | head -1)
check "A's own log line tagged in place" \
	"INFO GET /api/users/1 200 trace_id=0af7651916cd43dd8448eb211c80319c span_id=$(echo "$u1" | cut -d' ' -f2)" \
	"$(grep '/api/users/1 ' "$TMP/a.err")"
grep -q trace_id= "$TMP/b.err" && bad "B's lines were tagged without OBSPROBE_LOG_TAG" || ok "B's lines untouched"
python3 "$ROOT/tests/otlp/otlpdump.py" logs "$TMP/logs.jsonl" >"$TMP/file.logs"
l1=$(grep "GET /api/users/1 200" "$TMP/file.logs")
check "log record of /api/users/1: trace" 0af7651916cd43dd8448eb211c80319c "$(echo "$l1" | cut -d' ' -f1)"
check "log record of /api/users/1: span" "$(echo "$u1" | cut -d' ' -f2)" "$(echo "$l1" | cut -d' ' -f2)"
check "log record body without the tag" "INFO GET /api/users/1 200" "$(echo "$l1" | cut -d' ' -f4-)"

for s in k3y-s3cr3t bob@example.org; do
	if grep -rqaF "$s" "$TMP/spans.jsonl" "$TMP/logs.jsonl" "$TMP/rcv"; then bad "secret '$s' leaked"; else ok "secret '$s' redacted everywhere"; fi
done
finish
