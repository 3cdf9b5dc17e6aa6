#!/usr/bin/env bash
# test_http_outcomes.sh -- what happens to spans: sampled out (metrics still count every request), over the rate
# cap, and with no OTLP receiver at all (capture goes on, memory stays bounded, every span is counted somewhere).
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
RT=$TMP/rt
mkdir -p "$RT"
chmod 1777 "$RT"

# run_case NAME N [obsprobe options...]: an httpd under the shim, N keep-alive requests, obsprobe serve collecting
run_case() {
	local name=$1 n=$2 hp lp urls=()
	shift 2
	hp=$(free_port) lp=$(free_port)
	OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$lp" "$@" 2>"$TMP/$name.err" &
	local obs=$!
	PIDS+=($obs)
	wait_for 10 curl -sf "http://127.0.0.1:$lp/health/live" || { bad "$name: serve did not start"; return; }
	OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=$name LD_PRELOAD=$SHIM "$TARGETS/httpd" "$hp" 0 >/dev/null 2>&1 &
	local h=$!
	PIDS+=($h)
	wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$hp/warmup"
	for i in $(seq 1 "$n"); do urls+=("http://127.0.0.1:$hp/api/users/$i"); done
	curl -s "${urls[@]}" >/dev/null
	sleep 1.5
	scrape "$lp" >"$TMP/$name.m"
	ps -o rss= -p $obs >"$TMP/$name.rss"
	kill $h
	wait $h 2>/dev/null
	kill -INT $obs
	wait $obs
	echo $? >"$TMP/$name.rc"
}
reqs() { metric "$TMP/$1.m" "http_server_request_duration_seconds_count{service=\"$1\",http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/api/users/{id}\"}"; }
spans() { metric "$TMP/$1.m" "obsprobe_spans_total{outcome=\"$2\"}"; }

# 1. --sample-ratio 0: no span leaves, every request is still counted
run_case sampled 200 --sample-ratio 0 --spans-file "$TMP/sampled.spans"
check "ratio 0: requests counted" 200 "$(reqs sampled)"
check "ratio 0: spans sampled out (+1 warm-up)" 201 "$(spans sampled sampled_out)"
check "ratio 0: spans written" 0 "$(wc -l <"$TMP/sampled.spans")"

# 2. --max-spans-per-second 20: a burst of 300 gives 20 spans (the bucket's burst), the rest counted
run_case limited 300 --max-spans-per-second 20 --spans-file "$TMP/limited.spans"
check "rate cap: requests counted" 300 "$(reqs limited)"
w=$(wc -l <"$TMP/limited.spans")
r=$(spans limited rate_limited)
check "rate cap: written + rate_limited = spans (301)" 301 "$((w + r))"
[ "$w" -ge 20 ] && [ "$w" -le 25 ] && ok "rate cap: $w spans written (cap 20/s, ~1.5 s)" || bad "rate cap: $w spans written"

# 3. no receiver: a port nobody listens on; capture goes on, nothing is lost silently
dead=$(free_port)
run_case noreceiver 2000 --otlp-endpoint "http://127.0.0.1:$dead"
check "no receiver: serve exits cleanly" 0 "$(cat "$TMP/noreceiver.rc")"
check "no receiver: requests counted" 2000 "$(reqs noreceiver)"
line=$(grep 'spans not exported' "$TMP/noreceiver.err")
q=$(echo "$line" | sed -n 's/.*: \([0-9]*\) queue full, \([0-9]*\) export failed.*/\1/p')
f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) queue full, \([0-9]*\) export failed.*/\2/p')
check "no receiver: every span reported at exit as dropped" 2001 "$((q + f))"
rss=$(cat "$TMP/noreceiver.rss")
[ "$rss" -lt 200000 ] && ok "no receiver: collector RSS bounded (${rss} KiB)" || bad "no receiver: RSS ${rss} KiB"
finish
