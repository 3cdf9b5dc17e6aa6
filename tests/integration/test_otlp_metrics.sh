#!/usr/bin/env bash
# test_otlp_metrics.sh -- --otlp-metrics: the final push equals the last /metrics scrape sample for sample (histogram
# buckets, sums, counts, counters, gauges) over OTLP/HTTP protobuf (decoded by protoc), OTLP/JSON and OTLP/gRPC;
# pushes come every --otlp-metrics-interval; exemplars name spans that exist in --spans-file. Shim path (no root).
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
PY=/usr/bin/python3

# compare FINAL_LINES SCRAPE: every sample of the final push against the scrape (le and values as numbers)
cat >"$TMP/compare.py" <<'PY'
import re, sys
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
# families whose value moves between the scrape and the final push by design: the metric pushes count themselves
MOVING = ("obsprobe_metric_points_total",)

def samples(path):
    out = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit("unparsed: " + line)
        name, lab, val = m.groups()
        labels = []
        for k, v in LABEL.findall(lab or ""):
            labels.append((k, float(v) if k == "le" and v != "+Inf" else v))
        out[(name, tuple(sorted(labels, key=lambda kv: kv[0])))] = float(val)
    return out

otlp, prom = samples(sys.argv[1]), samples(sys.argv[2])
prom = {k: v for k, v in prom.items() if not k[0].startswith("process_")}  # the collector's own process_*: not pushed
bad = 0
for k in sorted(set(otlp) | set(prom), key=str):
    if k[0] in MOVING:
        continue
    if otlp.get(k) != prom.get(k):
        print("differs: %s%s otlp=%s scrape=%s" % (k[0], dict(k[1]), otlp.get(k), prom.get(k)))
        bad += 1
print("compared %d samples, %d differ" % (len([k for k in prom if k[0] not in MOVING]), bad))
sys.exit(1 if bad else 0)
PY

# one run: obsprobe serve with --otlp-metrics in protocol $1, a shim-traced httpd, known requests
run() {
	local proto=$1 dir=$TMP/$1 port lp=$2 hp=$3 rp=$4 obs h i
	mkdir -p "$dir/rt" "$dir/rcv"
	chmod 1777 "$dir/rt"
	if [ "$proto" = grpc ]; then
		$PY "$ROOT/tests/otlp/grpc_receiver.py" --dir "$dir/rcv" --port "$rp" --port-file "$dir/rport" \
			--max-seconds 120 &
		PIDS+=($!)
		wait_for 20 test -s "$dir/rport" || { bad "$proto: receiver did not start"; return; }
	else
		$PY "$ROOT/tests/otlp/receiver.py" --dir "$dir/rcv" --port "$rp" --max-seconds 120 &
		PIDS+=($!)
		wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$rp/" || { bad "$proto: receiver did not start"; return; }
	fi
	OBSPROBE_RUNTIME_DIR=$dir/rt "$OBSPROBE" serve --listen "127.0.0.1:$lp" --otlp-endpoint "http://127.0.0.1:$rp" \
		--otlp-protocol "$proto" --otlp-metrics --otlp-metrics-interval 1000 --spans-file "$dir/spans.jsonl" \
		--buckets 0.0001,0.001,0.01,0.1,1 -q 2>"$dir/obs.err" &
	obs=$!
	PIDS+=($obs)
	wait_for 10 curl -sf "http://127.0.0.1:$lp/health/live" || { bad "$proto: obsprobe serve did not start"; return; }
	OBSPROBE_RUNTIME_DIR=$dir/rt OBSPROBE_SERVICE=mshop LD_PRELOAD=$SHIM "$TARGETS/httpd" "$hp" 0 \
		>/dev/null 2>"$dir/h.err" &
	h=$!
	PIDS+=($h)
	wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$hp/nowhere"
	for i in 1 2 3 4 5 6 7; do curl -s -o /dev/null "http://127.0.0.1:$hp/api/users/$i"; done
	for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$hp/"; done
	curl -s -o /dev/null "http://127.0.0.1:$hp/nowhere"
	# quiet: two scrapes 1.5 s apart agree on the traced service's families (spans flushed, counters still)
	for i in $(seq 1 10); do
		scrape "$lp" | grep 'service="mshop"' >"$dir/m1"
		sleep 1.5
		scrape "$lp" >"$dir/m"
		grep 'service="mshop"' "$dir/m" | cmp -s - "$dir/m1" && break
	done
	kill -INT $obs
	wait $obs
	check "$proto: serve exit status" 0 $?
	kill $h
	wait $h 2>/dev/null

	m() { metric "$dir/m" "$1"; }
	check "$proto: scrape: 7 GET /api/users/{id} 200" 7 "$(m 'http_server_request_duration_seconds_count{service="mshop",http_request_method="GET",http_response_status_code="200",http_route="/api/users/{id}"}')"
	check "$proto: scrape: 2 GET 404 (one before the count)" 2 "$(m 'http_server_request_duration_seconds_count{service="mshop",http_request_method="GET",http_response_status_code="404",http_route="/nowhere"}')"

	local final pushes ext=bin ok_re='^200 /v1/metrics ' any_re=' /v1/metrics '
	[ "$proto" = http/json ] && ext=json
	[ "$proto" = grpc ] && ok_re='^OK metrics ' any_re=' metrics '
	final=$(ls "$dir/rcv" | grep -E "^[0-9]+-metrics\.$ext$" | sort -n | tail -1)
	pushes=$(grep -c "$ok_re" "$dir/rcv/requests.log")
	[ "$pushes" -ge 2 ] && ok "$proto: $pushes metric pushes, every one taken (periodic and final)" ||
		bad "$proto: $pushes metric pushes (want periodic ones and the final one)"
	check "$proto: no push refused" 0 "$(grep "$any_re" "$dir/rcv/requests.log" | grep -vc "$ok_re")"
	[ "$proto" = http/protobuf ] && check "$proto: pushed gzip'd protobuf" "$pushes" \
		"$(grep -c '^200 /v1/metrics application/x-protobuf gzip ' "$dir/rcv/requests.log")"
	$PY "$ROOT/tests/otlp/otlpdump.py" metrics "$dir/rcv/$final" >"$dir/final" || bad "$proto: final push decodes"
	if $PY "$TMP/compare.py" "$dir/final" "$dir/m" >"$dir/cmp"; then
		ok "$proto: final push == last scrape ($(tail -1 "$dir/cmp"))"
	else
		bad "$proto: final push != last scrape"
		cat "$dir/cmp"
	fi
	check "$proto: the traced histogram is in the push" 7 "$(metric "$dir/final" 'http_server_request_duration_seconds_count{service="mshop",http_request_method="GET",http_response_status_code="200",http_route="/api/users/{id}"}')"
	[ "$(metric "$dir/final" 'obsprobe_metric_points_total{outcome="exported"}')" -gt 0 ] 2>/dev/null &&
		ok "$proto: obsprobe_metric_points_total{outcome=\"exported\"} counts earlier pushes" ||
		bad "$proto: obsprobe_metric_points_total{outcome=\"exported\"} missing from the final push"
	check "$proto: no data point failed" 0 "$(metric "$dir/final" 'obsprobe_metric_points_total{outcome="export_failed"}')"

	# exemplars (the bucket each sits in: tests/unit/test_otlp_metrics.c): spans that --spans-file has
	$PY "$ROOT/tests/otlp/otlpdump.py" spans "$dir/spans.jsonl" | awk '{ print $1, $2 }' | sort -u >"$dir/spanids"
	grep '^# exemplar http_server_request_duration_seconds' "$dir/final" >"$dir/ex"
	local nex nfound
	nex=$(wc -l <"$dir/ex")
	nfound=$(awk '{ print $4, $5 }' "$dir/ex" | sort -u | comm -12 - "$dir/spanids" | wc -l)
	[ "$nex" -ge 2 ] && ok "$proto: $nex exemplars on the HTTP histograms" || bad "$proto: $nex exemplars (want >= 2)"
	check "$proto: every exemplar is a span of --spans-file" "$nex" "$nfound"
	check "$proto: spans in --spans-file (12 requests)" 12 "$(wc -l <"$dir/spans.jsonl")"
}

run http/protobuf 7501 7502 7503
run http/json 7511 7512 7513
run grpc 7521 7522 7523
finish
