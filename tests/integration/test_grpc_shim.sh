#!/usr/bin/env bash
# test_grpc_shim.sh -- shim path, HTTP/2 and gRPC: a python grpcio server and client under LD_PRELOAD (plaintext
# h2c), counted exactly against the calls made: rpc_server/rpc_client_duration_seconds per method and status, and
# server spans; a python HTTP/1 front (traced, receiving a known traceparent) whose handler makes one gRPC call:
# the shim injects traceparent into that call's HEADERS frame (the gRPC server records it in its metadata), the
# server span's parent is the front's client span, and the front's byte counts stay its own (its calls succeed).
# Ports 7300-7399.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc_lib.sh"
grpc_need
grpc_stubs || { bad "stub generation failed"; finish; }
SHIM=$ROOT/build/libobsshim.so
TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
TRACE=0af7651916cd43dd8448eb211c80319c

# everything in $A, ports 7300-7302
A=$TMP/a
RT=$A/rt LP=7300 PS=7301 PF=7302
mkdir -p "$RT"
chmod 1777 "$RT"
OBSPROBE_RUNTIME_DIR=$RT timeout 150 "$OBSPROBE" serve --listen "127.0.0.1:$LP" --spans-file "$A/spans.jsonl" \
	-q 2>"$A/serve.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/live" || { bad "obsprobe serve did not start"; finish; }
shim() { echo "env OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=$1 LD_PRELOAD=$SHIM"; }
GRPC_WRAP=$(shim gsrv) grpc_server_start srv $PS --record "$A/srv.rec" || { bad "gRPC server did not start"; finish; }
GRPC_WRAP=$(shim front) grpc_front_start front $PF "127.0.0.1:$PS" --record "$A/front.rec" ||
	{ bad "HTTP/1 front did not start"; finish; }
# the client: 4 unary, 2 server streams of 3, 1 failure (UNAVAILABLE), on one connection
env OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=gcli LD_PRELOAD=$SHIM timeout 60 $GRPC_PY "$GRPC_APP" client \
	--target "127.0.0.1:$PS" --unary 4 --stream 2 --stream-count 3 --fail 1 >"$A/cli.json" 2>"$A/cli.err"
CLI_RC=$?
# the front, traced: a first request without context (its gRPC call opens the channel: grpc's poller thread
# writes that call's HEADERS with the connection preface, not the serving thread, so whether it carries
# traceparent is grpc's timing: counted below, not assumed), then two with a known traceparent, one call each
N200=0
code=$(curl -s --max-time 10 -o "$A/front.0" -w '%{http_code}' "http://127.0.0.1:$PF/call")
[ "$code" = 200 ] && N200=$((N200 + 1))
for i in 1 2; do
	code=$(curl -s --max-time 10 -o "$A/front.$i" -w '%{http_code}' -H "traceparent: $TP" \
		"http://127.0.0.1:$PF/call")
	[ "$code" = 200 ] && N200=$((N200 + 1))
done
sleep 1
scrape "$LP" >"$A/m"
grpc_stop front
grpc_stop srv
sleep 1
kill -INT $OBS
wait $OBS
SERVE_RC=$?

# grpc reads a connection on one thread while another writes it, all the time: the shim locks the two directions
# of an HTTP/2 connection apart, so no chunk is skipped as busy (a skipped header block would lose its direction's
# HPACK state, and the streams after it), and the collector's HTTP/2 sessions lost nothing
BUSY=$(metric "$A/m" 'obsprobe_events_lost_total{source="preload",reason="http_connection_busy"}')
check "no chunk skipped under contention (http_connection_busy)" 0 "${BUSY:-0}"
check "client under the shim: exit status (every call as expected)" 0 $CLI_RC
check "client: calls" "4 2 1" "$(grpc_json "$A/cli.json" '"%d %d %d" % (d["calls"]["Unary"], d["calls"]["ServerStream"], d["calls"]["Fail"])')"
check "front: 200 answers (its gRPC calls went through, byte counts intact)" 3 $N200
check "serve exit status" 0 $SERVE_RC

# the programs' own accounts
check "server record: calls per method" "[('/obsdemo.Demo/Fail', 1), ('/obsdemo.Demo/ServerStream', 2), ('/obsdemo.Demo/Unary', 7)]" \
	"$(grpc_json "$A/srv.rec" 'sorted(__import__("collections").Counter(x["method"] for x in L).items())')"
check "server record: the traced front calls carry traceparent with the front's trace" "['front2', 'front3']" \
	"$(grpc_json "$A/srv.rec" "sorted(x['name'] for x in L for k, v in x['metadata'] if k == 'traceparent' and v.startswith('00-$TRACE-'))")"
check "server record: no traceparent on the untraced client's calls" 7 \
	"$(grpc_json "$A/srv.rec" "sum(1 for x in L if not x['name'].startswith('front') and not any(k == 'traceparent' for k, v in x['metadata']))")"
WIRE=$(grpc_json "$A/srv.rec" "sum(1 for x in L for k, v in x['metadata'] if k == 'traceparent')")

# msum FAMILY LABEL=VALUE...: the sum of FAMILY's samples whose labels include every pair given
msum() {
	local fam=$1
	shift
	$GRPC_PY - "$A/m" "$fam" "$@" <<'PYEOF'
import re, sys
path, fam, want = sys.argv[1], sys.argv[2], sys.argv[3:]
tot = 0
for line in open(path):
    m = re.match(r'^([a-z_]+)\{(.*)\} (\S+)$', line.strip())
    if not m or m.group(1) != fam:
        continue
    labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2)))
    if all(labels.get(k) == v for k, v in (w.split("=", 1) for w in want)):
        tot += float(m.group(3))
print(int(tot))
PYEOF
}
L=obsprobe_events_lost_total
check "no HTTP/2 record lost (ring full, session table full, invalid record)" 0 \
	"$(($(msum $L source=preload reason=ring_full) + $(msum $L source=preload reason=h2_sessions_full) + $(msum $L source=preload reason=h2_record_invalid)))"
S=rpc_server_duration_seconds_count C=rpc_client_duration_seconds_count
check "gsrv: Unary OK" 7 "$(msum $S service=gsrv rpc_system=grpc rpc_service=obsdemo.Demo rpc_method=Unary rpc_grpc_status_code=0)"
check "gsrv: ServerStream OK" 2 "$(msum $S service=gsrv rpc_method=ServerStream rpc_grpc_status_code=0)"
check "gsrv: Fail UNAVAILABLE" 1 "$(msum $S service=gsrv rpc_method=Fail rpc_grpc_status_code=14)"
check "gsrv: nothing else" 10 "$(msum $S service=gsrv)"
check "gcli: Unary OK" 4 "$(msum $C service=gcli rpc_method=Unary rpc_grpc_status_code=0)"
check "gcli: ServerStream OK" 2 "$(msum $C service=gcli rpc_method=ServerStream rpc_grpc_status_code=0)"
check "gcli: Fail UNAVAILABLE" 1 "$(msum $C service=gcli rpc_method=Fail rpc_grpc_status_code=14)"
check "gcli: nothing else" 7 "$(msum $C service=gcli)"
check "front: its gRPC client calls" 3 "$(msum $C service=front rpc_method=Unary rpc_grpc_status_code=0)"
check "front: HTTP/1 server requests" 3 "$(msum http_server_request_duration_seconds_count service=front http_response_status_code=200)"
check "front: injections counted = traceparents the server received" "$WIRE" "$(msum obsprobe_context_injections_total service=front outcome=injected)"
check "front: no other injection outcome" "$WIRE" "$(msum obsprobe_context_injections_total service=front)"
check "gcli: nothing injected (not serving)" 0 "$(msum obsprobe_context_injections_total service=gcli)"

python3 "$ROOT/tests/otlp/otlpdump.py" spans "$A/spans.jsonl" >"$A/spans" || bad "spans decode"
check "server spans of the gRPC server (one per call)" 10 "$(grep -c 'SPAN_KIND_SERVER.*rpc.method=' "$A/spans")"
fsrv=$(grep SPAN_KIND_SERVER "$A/spans" | grep "^$TRACE " | grep -v 'rpc.method=' | head -1)
check "front's server span continues the caller's trace" "b7ad6b7169203331" "$(echo "$fsrv" | cut -d' ' -f3)"
n=0
for cspan in $(grep SPAN_KIND_CLIENT "$A/spans" | grep "^$TRACE " | grep 'rpc.method=Unary' | cut -d' ' -f2); do
	gsrv=$(grep SPAN_KIND_SERVER "$A/spans" | grep "^$TRACE " | grep 'rpc.method=Unary' | awk -v p="$cspan" '$3 == p')
	[ -n "$gsrv" ] && n=$((n + 1))
	# the id on the wire is the client span's
	grpc_json "$A/srv.rec" "sum(1 for x in L for k, v in x['metadata'] if k == 'traceparent' and v[36:52] == '$cspan')" |
		grep -qx 1 || bad "traceparent on the wire names client span $cspan"
done
check "gRPC server spans whose parent is the front's client span" 2 $n
check "front's client spans are children of its server spans" 2 "$(awk -v t=$TRACE '
	$1 == t && $4 == "SPAN_KIND_SERVER" && !/rpc.method=/ { srv[$2] = 1 }
	$1 == t && $4 == "SPAN_KIND_CLIENT" && /rpc.method=Unary/ { par[$3]++ }
	END { n = 0; for (p in par) if (p in srv) n += par[p]; print n }' "$A/spans")"
finish
