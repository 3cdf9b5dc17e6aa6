#!/usr/bin/env bash
# test_grpc_ebpf.sh -- eBPF path, gRPC: two python grpcio servers (tests/targets/grpc/grpc_app.py; one fails its
# Fail calls with UNAVAILABLE, the other with INTERNAL) and two clients under one `obsprobe attach`: a traced
# client (exec'd by a traced shell, so its connection is seen from the preface) making unary, server-streaming
# and failing calls, and an untraced one passing a known traceparent in its metadata.  Exact
# rpc_{server,client}_duration_seconds_count per method and status against the calls the clients made and the
# servers recorded; span counts, names, status; the traceparent as the server spans' parent; every server span
# of the traced client's calls the child of its client span (4-tuple + stream join).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc_lib.sh"
need_root
grpc_need
grpc_stubs || { bad "stubs could not be generated"; finish; }

# ports of this test's range (7200-7299)
P1=7220 P2=7221 LP=7222
TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
N=12 M=4 K=3 F=5 U2=3 F2=2

grpc_server_start s1 $P1 --record "$TMP/s1.rec" || { bad "server s1 did not start"; finish; }
S1=$GRPC_PID
grpc_server_start s2 $P2 --record "$TMP/s2.rec" --fail-code INTERNAL || { bad "server s2 did not start"; finish; }
S2=$GRPC_PID

# the traced client: a shell that execs it once obsprobe is attached (its connection is seen from the preface)
mkfifo "$TMP/go"
timeout 110 bash -c 'read -r _ <"$1"; shift; exec "$@"' _ "$TMP/go" $GRPC_PY "$GRPC_APP" client \
	--target "127.0.0.1:$P1" --unary $N --stream $M --stream-count $K --fail $F >"$TMP/c1.json" \
	2>"$TMP/c1.err" &
SH=$!
PIDS+=($SH)

"$OBSPROBE" attach --pid "$S1" --pid "$S2" --pid "$SH" --service grpcapp --listen "127.0.0.1:$LP" \
	--spans-file "$TMP/spans.jsonl" -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 30 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }

echo go >"$TMP/go"
wait "$SH"
check "traced client: every call ended as expected" 0 $?
grpc_client --target "127.0.0.1:$P2" --unary $U2 --fail $F2 --fail-code INTERNAL --metadata "traceparent=$TP" \
	>"$TMP/c2.json"
check "untraced client: every call ended as expected" 0 $?
sleep 1.5

calls() { grpc_json "$1" '"%d %d %d" % (d["calls"]["Unary"], d["calls"]["ServerStream"], d["calls"]["Fail"])'; }
check "traced client made the calls" "$N $M $F" "$(calls "$TMP/c1.json")"
check "traced client: codes" "{'OK': $((N + M)), 'UNAVAILABLE': $F}" "$(grpc_json "$TMP/c1.json" 'd["codes"]')"
check "untraced client made the calls" "$U2 0 $F2" "$(calls "$TMP/c2.json")"
rec() { grpc_json "$1" "sum(1 for x in L if x['method'] == '/obsdemo.Demo/$2')"; }
check "s1 recorded the calls" "$N $M $F" "$(rec "$TMP/s1.rec" Unary) $(rec "$TMP/s1.rec" ServerStream) $(rec "$TMP/s1.rec" Fail)"
check "s2 recorded the calls" "$U2 0 $F2" "$(rec "$TMP/s2.rec" Unary) $(rec "$TMP/s2.rec" ServerStream) $(rec "$TMP/s2.rec" Fail)"

scrape "$LP" >"$TMP/m"
rpc() { # server|client method code
	metric "$TMP/m" "rpc_$1_duration_seconds_count{service=\"grpcapp\",rpc_system=\"grpc\",rpc_service=\"obsdemo.Demo\",rpc_method=\"$2\",rpc_grpc_status_code=\"$3\"}"
}
check "rpc_server_duration_seconds_count Unary OK (both servers)" $((N + U2)) "$(rpc server Unary 0)"
check "rpc_server_duration_seconds_count ServerStream OK" $M "$(rpc server ServerStream 0)"
check "rpc_server_duration_seconds_count Fail UNAVAILABLE (s1)" $F "$(rpc server Fail 14)"
check "rpc_server_duration_seconds_count Fail INTERNAL (s2)" $F2 "$(rpc server Fail 13)"
check "rpc_client_duration_seconds_count Unary OK (traced client)" $N "$(rpc client Unary 0)"
check "rpc_client_duration_seconds_count ServerStream OK" $M "$(rpc client ServerStream 0)"
check "rpc_client_duration_seconds_count Fail UNAVAILABLE" $F "$(rpc client Fail 14)"
check "no other rpc series" 7 "$(grep -c '^rpc_[a-z]*_duration_seconds_count{' "$TMP/m")"
check "exchanges protocol=grpc: both ends of s1's calls, s2's" $((2 * (N + M + F) + U2 + F2)) \
	"$(metric "$TMP/m" 'obsprobe_exchanges_total{service="grpcapp",protocol="grpc",transport="tcp"}')"
check "no HTTP/2 losses, no unanswered calls" "" \
	"$(grep -E '^obsprobe_events_lost_total\{.*reason="(http2_[a-z_]*|grpc_[a-z_]*|incomplete)"\} [1-9]' "$TMP/m")"

$GRPC_PY - "$TMP/spans.jsonl" >"$TMP/spans.txt" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        pid = {a["key"]: list(a["value"].values())[0] for a in rs["resource"]["attributes"]}.get("process.pid")
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                a = {x["key"]: list(x["value"].values())[0] for x in s.get("attributes", [])}
                print(s["kind"], s["name"], s["traceId"], s["spanId"], s.get("parentSpanId", "-"),
                      s.get("status", {}).get("code", 0), a.get("rpc.grpc.status_code"), a.get("rpc.system"),
                      a.get("network.protocol.version"), pid)
PYEOF
count() { awk "$1" "$TMP/spans.txt" | wc -l; }
check "server spans" $((N + M + F + U2 + F2)) "$(count '$1 == 2')"
check "client spans (the traced client's)" $((N + M + F)) "$(count '$1 == 3')"
check "server spans obsdemo.Demo/Unary" $((N + U2)) "$(count '$1 == 2 && $2 == "obsdemo.Demo/Unary"')"
check "server spans obsdemo.Demo/ServerStream" $M "$(count '$1 == 2 && $2 == "obsdemo.Demo/ServerStream"')"
check "spans say rpc.system grpc and version 2" "$(wc -l <"$TMP/spans.txt")" "$(count '$8 == "grpc" && $9 == "2"')"
check "failed calls: status ERROR with their code (server and client)" "$((2 * F + F2))" \
	"$(count '$2 == "obsdemo.Demo/Fail" && $6 == 2 && ($7 == 14 || $7 == 13)')"
check "OK calls: no ERROR status" 0 "$(count '$2 != "obsdemo.Demo/Fail" && $6 == 2')"
check "traceparent in the untraced client's metadata: parent of s2's server spans" "$((U2 + F2))" \
	"$(count '$1 == 2 && $10 == '"$S2"' && $3 == "0af7651916cd43dd8448eb211c80319c" && $5 == "b7ad6b7169203331"')"
joined=$(awk '$1 == 3 { c[$3 " " $4] = $2 } $1 == 2 && $10 == '"$S1"' { s[$3 " " $5] = $2 }
	END { n = 0; for (k in s) if ((k in c) && c[k] == s[k]) n++; print n }' "$TMP/spans.txt")
check "every s1 server span is the child of the traced client's span for the same call (4-tuple + stream)" \
	$((N + M + F)) "$joined"
kill -INT $OBS
wait $OBS
check "obsprobe said no HTTP/2 loss at exit" "" "$(grep -i 'HTTP/2' "$TMP/obs.err")"
finish
