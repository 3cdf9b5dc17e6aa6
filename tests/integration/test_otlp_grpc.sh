#!/usr/bin/env bash
# test_otlp_grpc.sh -- OTLP/gRPC export (--otlp-protocol grpc) of a traced httpd into a python grpcio receiver
# (tests/otlp/grpc_receiver.py): the spans it decodes are --spans-file's, gzip on and off; UNAVAILABLE three times then
# OK delivers everything; RESOURCE_EXHAUSTED is retried only with RetryInfo; an HTTP/1.1 receiver is said to be one;
# with the receiver down the queue bounds memory and every drop is counted and said at exit.
source "$(dirname "$0")/lib.sh"
need_root
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null || { echo "SKIP: needs python3-grpcio, python3-grpc-tools"; exit 77; }
N=200 # requests per case: each one span and one log line (httpd logs one stderr line per request)
PORT=7410 # this test's ports: 7410..7469

HP=$PORT
"$TARGETS/httpd" "$HP" 1 >/dev/null 2>"$TMP/httpd.err" &
H=$!
PIDS+=($H)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start"; finish; }

# start_obs NAME RECEIVER-PORT N OBSPROBE-ARGS...: obsprobe attached to the httpd exporting over gRPC, then N requests
start_obs() {
	local name=$1 rp=$2 n=$3 lp
	shift 3
	PORT=$((PORT + 1))
	lp=$PORT
	echo "$lp" >"$TMP/$name.lp"
	"$OBSPROBE" attach --pid "$H" --service grpcexp --listen "127.0.0.1:$lp" -v --otlp-protocol grpc \
		--otlp-endpoint "http://127.0.0.1:$rp" --spans-file "$TMP/$name.spans.jsonl" "$@" 2>"$TMP/$name.err" &
	OBS=$!
	PIDS+=($OBS)
	wait_for 30 curl -sf "http://127.0.0.1:$lp/health/ready" || { bad "$name: obsprobe not ready"; return 1; }
	curl -s "http://127.0.0.1:$HP/api/users/[1-$n]" >/dev/null
}
stop_obs() {
	awk '/^VmRSS/ { print $2 }' "/proc/$OBS/status" >"$TMP/$1.rss"
	kill -INT $OBS
	wait $OBS
	echo $? >"$TMP/$1.rc"
}
# the sum over a family's outcomes
outcomes() { awk -v f="obsprobe_$2_total{" 'index($1, f) == 1 { s += $2 } END { print s + 0 }' "$TMP/$1.m"; }
outcome() { metric "$TMP/$1.m" "obsprobe_$2_total{outcome=\"$3\"}"; }
served() {
	metric "$TMP/$1.m" 'http_server_request_duration_seconds_count{service="grpcexp",http_request_method="GET",http_response_status_code="200",http_route="/api/users/{id}"}'
}
# items the receiver took: the sum of ITEMS over its "OK SERVICE ITEMS" lines
took() { awk -v s="$2" '$1 == "OK" && $2 == s { n += $3 } END { print n + 0 }' "$TMP/$1/requests.log"; }
failed_calls() { grep -c "^$2 " "$TMP/$1/requests.log"; }

# run_case NAME RECEIVER-ARGS -- OBSPROBE-ARGS: a receiver, obsprobe, N requests, a bounded wait until every span and
# log record has an outcome, obsprobe stopped
run_case() {
	local name=$1 rargs=() rp
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do rargs+=("$1"); shift; done
	shift
	PORT=$((PORT + 1))
	rp=$PORT
	/usr/bin/python3 "$ROOT/tests/otlp/grpc_receiver.py" --dir "$TMP/$name" --port "$rp" --port-file "$TMP/$name.port" \
		--max-seconds 120 "${rargs[@]}" &
	PIDS+=($!)
	wait_for 10 test -s "$TMP/$name.port" || { bad "$name: receiver did not start"; return; }
	start_obs "$name" "$rp" "$N" "$@" || return
	local end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		scrape "$(cat "$TMP/$name.lp")" >"$TMP/$name.m"
		[ "$(outcomes "$name" spans)" == "$N" ] && [ "$(outcomes "$name" log_records)" == "$N" ] && break
		sleep 0.5
	done
	stop_obs "$name"
}

# check_case NAME EXPECTED-OUTCOME: exact counts, all in EXPECTED-OUTCOME, the exit says so, what the receiver took
check_case() {
	local name=$1 want=$2
	check "$name: obsprobe exits 0" 0 "$(cat "$TMP/$name.rc")"
	check "$name: every request counted" "$N" "$(served "$name")"
	check "$name: spans $want" "$N" "$(outcome "$name" spans "$want")"
	check "$name: log records $want" "$N" "$(outcome "$name" log_records "$want")"
	if [ "$want" == exported ]; then
		check "$name: the receiver took every span once" "$N" "$(took "$name" traces)"
		check "$name: the receiver took every log record once" "$N" "$(took "$name" logs)"
		check "$name: exit summary says nothing was dropped" 0 "$(grep -c 'not exported' "$TMP/$name.err")"
	else
		check "$name: the receiver took no span" 0 "$(took "$name" traces)"
		check "$name: exit summary says $N spans failed" 1 \
			"$(grep -c "spans not exported: 0 queue full, $N export failed" "$TMP/$name.err")"
	fi
	grep -q -i 'sanitizer\|segfault\|core dumped' "$TMP/$name.err" && bad "$name: crash: $(cat "$TMP/$name.err")"
}
# the spans the receiver decoded (protoc against tests/otlp's schema) are --spans-file's: ids, count, attributes
same_spans() {
	local name=$1
	python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/$name" | sort >"$TMP/$name.otlp" || bad "$name: OTLP decodes"
	python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/$name.spans.jsonl" | sort >"$TMP/$name.file"
	check "$name: decoded spans" "$N" "$(wc -l <"$TMP/$name.otlp")"
	check "$name: gRPC spans == --spans-file spans" "$(md5sum <"$TMP/$name.file")" "$(md5sum <"$TMP/$name.otlp")"
	check "$name: distinct span ids" "$N" "$(awk '{ print $2 }' "$TMP/$name.otlp" | sort -u | wc -l)"
}
attempts_failed() { grep -c "otlp: export of .*: $2.* (attempt [0-9]*)" "$TMP/$1.err"; }

# 0. an http:// endpoint without a port: 4317 for grpc (4318 for http/*); gRPC ignores a path prefix
for proto in grpc:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export http/protobuf:4318/pre/v1/traces; do
	PORT=$((PORT + 1))
	line=$(timeout 20 "$OBSPROBE" serve --listen "127.0.0.1:$PORT" --otlp-protocol "${proto%%:*}" \
		--otlp-endpoint http://127.0.0.1/pre -v --duration 1 2>&1 | grep 'otlp: exporting to')
	case "$line" in
	*"exporting to http://127.0.0.1:${proto#*:} and"*) ok "${proto%%:*}: default port ${proto#*:}" ;;
	*) bad "${proto%%:*}: default port: $line" ;;
	esac
done

# 1. gzip (the default) and without: everything delivered, decoded equal to --spans-file
run_case gzip --
check_case gzip exported
same_spans gzip
grep -q '(grpc, gzip)' "$TMP/gzip.err" && ok "gzip: says grpc, gzip" || bad "gzip: $(grep 'exporting to' "$TMP/gzip.err")"
grep -q "exporting to http://127.0.0.1:[0-9]*/opentelemetry.proto.collector.trace.v1.TraceService/Export and" \
	"$TMP/gzip.err" && ok "gzip: the TraceService/Export method" || bad "gzip: $(grep 'exporting to' "$TMP/gzip.err")"
run_case plain -- --otlp-compression none
check_case plain exported
same_spans plain
grep -q '(grpc)' "$TMP/plain.err" && ok "plain: says grpc without gzip" || bad "plain: $(grep 'exporting to' "$TMP/plain.err")"

# 2. UNAVAILABLE three times, then OK: retried, everything delivered once
run_case unavailable --fail 3 --code UNAVAILABLE --
check_case unavailable exported
check "unavailable: the receiver failed 3 calls" 3 "$(failed_calls unavailable UNAVAILABLE)"
check "unavailable: 3 failed attempts said (-v)" 3 "$(attempts_failed unavailable 'gRPC UNAVAILABLE: failing on purpose')"
same_spans unavailable

# 3. RESOURCE_EXHAUSTED with RetryInfo (0.3 s): retried after it; without RetryInfo: never retried, dropped, counted
run_case exhausted_retry --fail 2 --code RESOURCE_EXHAUSTED --retry-delay 0.3 --
check_case exhausted_retry exported
check "exhausted_retry: 2 failed attempts said" 2 "$(attempts_failed exhausted_retry 'gRPC RESOURCE_EXHAUSTED')"
run_case exhausted --fail 1000000 --code RESOURCE_EXHAUSTED --
check_case exhausted export_failed
check "exhausted: not retried" 0 "$(grep -c '(attempt 2)' "$TMP/exhausted.err")"
check "exhausted: one call per batch" "$(grep -c '(attempt 1)' "$TMP/exhausted.err")" \
	"$(failed_calls exhausted RESOURCE_EXHAUSTED)"
grep -q 'failed: gRPC RESOURCE_EXHAUSTED: failing on purpose' "$TMP/exhausted.err" && ok "exhausted: says why" ||
	bad "exhausted: $(grep 'export to' "$TMP/exhausted.err" | head -2)"

# 3b. OK with partial_success rejecting 3 items per call: those are export_failed, never retried, the reason said
run_case partial --partial 3 --
check "partial: obsprobe exits 0" 0 "$(cat "$TMP/partial.rc")"
for sig in spans:traces log_records:logs; do
	fam=${sig%:*} calls=$(grep -c "^OK ${sig#*:} " "$TMP/partial/requests.log")
	check "partial: $fam: sum over outcomes = items produced" "$N" "$(outcomes partial "$fam")"
	check "partial: $fam: export_failed = 3 per call ($calls calls)" $((3 * calls)) \
		"$(outcome partial "$fam" export_failed)"
	check "partial: $fam: exported = the rest" $((N - 3 * calls)) "$(outcome partial "$fam" exported)"
done
check "partial: not retried" 0 "$(grep -c 'attempt 2' "$TMP/partial.err")"
grep -q 'rejected 3 of .*too old' "$TMP/partial.err" && ok "partial: the receiver's reason is said" ||
	bad "partial: $(grep otlp "$TMP/partial.err")"

# 4. a receiver that answers HTTP/1.1 to the HTTP/2 preface (an OTLP/HTTP one without h2c): libcurl sees nothing;
# retried (a gRPC client's UNAVAILABLE) with a hint
PORT=$((PORT + 1))
/usr/bin/python3 - "$PORT" "$TMP/http.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
open(sys.argv[2], "w").write(sys.argv[1] + "\n")
s.settimeout(1)
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.settimeout(2)
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        while c.recv(65536):  # until the client gives up: no reset racing its send
            pass
    except OSError:
        pass
    c.close()
PY
PIDS+=($!)
wait_for 5 test -s "$TMP/http.port" || bad "http: the HTTP/1.1 server did not start"
start_obs http "$PORT" 20 && sleep 2 && scrape "$(cat "$TMP/http.lp")" >"$TMP/http.m" && stop_obs http
grep -q 'Server returned nothing (no headers, no data) (is it an HTTP/2 server? OTLP/gRPC listens on 4317) (attempt 1)' \
	"$TMP/http.err" && ok "http: says it may not be HTTP/2" || bad "http: $(grep 'otlp' "$TMP/http.err" | head -3)"
ex=$(outcome http log_records exported)
check "http: nothing exported" 0 "${ex:-0}"

# 5. the receiver is down (nothing listens): more spans than the queue holds (8192); memory bounded, every span and
# log record dropped as queue_full or export_failed, counted, the same numbers said at exit
ND=10000
PORT=$((PORT + 1))
start_obs down "$PORT" "$ND"
lp=$(cat "$TMP/down.lp")
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do # every request turned into its span (pushed or dropped at push)
	scrape "$lp" >"$TMP/down.m"
	[ "$(served down)" == "$ND" ] && [ "$(outcome down log_records queue_full)" != "" ] && break
	sleep 0.5
done
check "down: every request counted" "$ND" "$(served down)"
qf=$(outcome down spans queue_full)
lqf=$(outcome down log_records queue_full)
[ "${qf:-0}" -gt 0 ] && ok "down: the full queue drops spans ($qf)" || bad "down: no queue_full: $(grep spans_total "$TMP/down.m")"
ex=$(outcome down spans exported)
check "down: nothing exported" 0 "${ex:-0}"
stop_obs down
check "down: obsprobe exits 0" 0 "$(cat "$TMP/down.rc")"
check "down: exit summary: spans queue_full + export_failed = $ND" 1 \
	"$(grep -c "spans not exported: $qf queue full, $((ND - qf)) export failed" "$TMP/down.err")"
check "down: exit summary: log records queue_full + export_failed = $ND" 1 \
	"$(grep -c "log records not exported: $lqf queue full, $((ND - lqf)) export failed" "$TMP/down.err")"
rss=$(cat "$TMP/down.rss")
[ "${rss:-999999}" -lt 200000 ] && ok "down: collector RSS bounded (${rss} KiB)" || bad "down: RSS ${rss} KiB"
grep -q 'Could not connect\|Couldn.t connect' "$TMP/down.err" && ok "down: says it cannot connect" ||
	bad "down: $(grep 'export to' "$TMP/down.err" | head -2)"

kill -0 $H 2>/dev/null && ok "httpd still runs" || bad "httpd died"
finish
