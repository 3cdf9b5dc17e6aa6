#!/usr/bin/env bash
# demo.sh -- make demo: start the bundled demo service, trace it with obsprobe, drive traffic, show what you get.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
TMP=$(mktemp -d /tmp/obsprobe-demo.XXXXXX)
chmod 755 "$TMP"
SVC_PID="" OBS_PID="" RCV_PID=""
cleanup() {
	[ -n "$OBS_PID" ] && kill "$OBS_PID" 2>/dev/null
	[ -n "$RCV_PID" ] && kill "$RCV_PID" 2>/dev/null
	[ -n "$SVC_PID" ] && kill "$SVC_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { local i; for i in $(seq 1 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
hr() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

SVC_PORT=$(port)
MPORT=$(port)
hr "1. the demo service: a prefork HTTP server (master + 2 workers), built from tests/targets/httpd.c"
"$B/targets/httpd" "$SVC_PORT" 2 >"$TMP/svc.out" 2>"$TMP/svc.log" &
SVC_PID=$!
waitfor curl -sf "http://127.0.0.1:$SVC_PORT/" || { echo "demo: the service did not start" >&2; exit 1; }
echo "httpd master pid $SVC_PID, workers: $(pgrep -P $SVC_PID | tr '\n' ' ')"

# a local OTLP receiver (tests/otlp/receiver.py) stands in for a tracing backend
python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/otlp" --port-file "$TMP/otlp.port" --max-seconds 600 &
RCV_PID=$!
waitfor test -s "$TMP/otlp.port" || { echo "demo: the OTLP receiver did not start" >&2; exit 1; }
OTLP="http://127.0.0.1:$(cat "$TMP/otlp.port")"

hr "2. attach obsprobe to the master's pid: its workers are followed"
echo "\$ obsprobe attach --pid $SVC_PID --func 'handle_*' --listen 127.0.0.1:$MPORT --otlp-endpoint $OTLP --spans-file spans.jsonl --log-file logs.jsonl"
"$B/obsprobe" attach --pid "$SVC_PID" --func 'handle_*' --listen "127.0.0.1:$MPORT" --otlp-endpoint "$OTLP" \
	--spans-file "$TMP/spans.jsonl" --log-file "$TMP/logs.jsonl" 2>"$TMP/obs.err" &
OBS_PID=$!
waitfor curl -sf "http://127.0.0.1:$MPORT/health/ready" || { cat "$TMP/obs.err" >&2; echo "demo: obsprobe did not start" >&2; exit 1; }
cat "$TMP/obs.err"

hr "3. traffic: 300 requests with curl (keep-alive)"
urls=()
for i in $(seq 1 200); do urls+=("http://127.0.0.1:$SVC_PORT/api/users/$i"); done
for i in $(seq 1 60); do urls+=("http://127.0.0.1:$SVC_PORT/"); done
for i in $(seq 1 30); do urls+=("http://127.0.0.1:$SVC_PORT/slow"); done
for i in $(seq 1 10); do urls+=("http://127.0.0.1:$SVC_PORT/error"); done
curl -s --max-time 60 "${urls[@]}" >/dev/null
echo "sent ${#urls[@]} requests"
sleep 0.5

hr "3b. one request that carries a trace: its context comes back in the exported span"
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
echo "\$ curl -H 'traceparent: $TP' 'http://127.0.0.1:$SVC_PORT/api/users/7?password=hunter2'"
curl -s -H "traceparent: $TP" "http://127.0.0.1:$SVC_PORT/api/users/7?password=hunter2"; echo
sleep 1.5

hr "4. what Prometheus scrapes: curl http://127.0.0.1:$MPORT/metrics (excerpt)"
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$TMP/metrics"
grep -E '^obsprobe_function_duration_seconds_(count|sum)' "$TMP/metrics"
grep -E '^obsprobe_function_duration_seconds_bucket\{[^}]*function="handle_slow"' "$TMP/metrics" | grep -E 'le="(0.001|0.0025|0.005|0.01|\+Inf)"'
grep -E '^obsprobe_syscall_duration_seconds_count' "$TMP/metrics" | sort -t' ' -k2 -nr | head -6
grep -E '^obsprobe_syscall_errors_total' "$TMP/metrics" | head -4
grep -E '^(http_server_request_duration_seconds_count|obsprobe_socket_bytes_total|obsprobe_tcp_connections_total)' "$TMP/metrics" | head -8
grep -E '^obsprobe_(events_total|probe_overhead_seconds|build_info)' "$TMP/metrics"
echo "($(grep -vc '^#' "$TMP/metrics") samples in all)"

hr "5. the targets endpoint: curl http://127.0.0.1:$MPORT/api/v1/targets"
curl -sf "http://127.0.0.1:$MPORT/api/v1/targets"; echo

hr "6. stop obsprobe (SIGINT): the exit summary"
kill -INT "$OBS_PID"
wait "$OBS_PID"
OBS_PID=""
sed -n '/obsprobe summary/,$p' "$TMP/obs.err"

hr "7. the propagated trace, as the OTLP receiver got it (protobuf decoded with protoc against the OTLP schema)"
python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/otlp" >"$TMP/spans.txt"
echo "trace_id span_id parent_id kind name status attributes"
grep 4bf92f3577b34da6a3ce929d0e0e4736 "$TMP/spans.txt"
echo "(the SERVER span continues trace 4bf92f35... under parent 00f067aa..., the INTERNAL handle_user call is its child;"
echo " $(wc -l <"$TMP/spans.txt") spans exported in all; the password never left: it is [REDACTED] in url.query)"

hr "8. the service's own log line, tagged with the trace that produced it (--log-file)"
grep 4bf92f3577b34da6a3ce929d0e0e4736 "$TMP/logs.jsonl"
echo
echo "demo done: the service ran untouched; nothing was recompiled or restarted."
