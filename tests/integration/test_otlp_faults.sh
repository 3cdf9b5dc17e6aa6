#!/usr/bin/env bash
# test_otlp_faults.sh -- OTLP receivers that misbehave (answer in 5 s, close mid-body, 400, 413, garbage, partial
# success): capture goes on, every span and log record ends in exactly one outcome, the exit summary says the
# drops, nothing crashes.
source "$(dirname "$0")/lib.sh"
need_root
N=300 # requests per case: each one span and one log line (httpd logs one stderr line per request)

HP=$(free_port)
"$TARGETS/httpd" "$HP" 1 >/dev/null 2>"$TMP/httpd.err" &
H=$!
PIDS+=($H)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start"; finish; }

# run_case NAME RECEIVER-ARGS -- OBSPROBE-ARGS: a receiver with a fault, obsprobe attached to the httpd exporting to
# it, N keep-alive requests; waits until every span and log record has an outcome, then stops obsprobe
run_case() {
	local name=$1 rargs=() oargs=() lp rp urls=() i
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do rargs+=("$1"); shift; done
	shift
	oargs=("$@")
	mkdir -p "$TMP/$name"
	python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/$name" --port-file "$TMP/$name.port" --max-seconds 120 \
		"${rargs[@]}" &
	PIDS+=($!)
	wait_for 5 test -s "$TMP/$name.port" || { bad "$name: receiver did not start"; return; }
	rp=$(cat "$TMP/$name.port")
	lp=$(free_port)
	"$OBSPROBE" attach --pid "$H" --service faults --listen "127.0.0.1:$lp" -v \
		--otlp-endpoint "http://127.0.0.1:$rp" "${oargs[@]}" 2>"$TMP/$name.err" &
	local obs=$!
	PIDS+=($obs)
	wait_for 30 curl -sf "http://127.0.0.1:$lp/health/ready" || { bad "$name: obsprobe not ready"; return; }
	for i in $(seq 1 "$N"); do urls+=("http://127.0.0.1:$HP/api/users/$i"); done
	curl -s "${urls[@]}" >/dev/null
	# bounded wait (retries and backoff of a failing receiver take a while), then exact counts
	local end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		scrape "$lp" >"$TMP/$name.m"
		[ "$(outcomes "$name" spans)" == "$N" ] && [ "$(outcomes "$name" log_records)" == "$N" ] && break
		sleep 0.5
	done
	awk '/^VmRSS/ { print $2 }' "/proc/$obs/status" >"$TMP/$name.rss"
	kill -INT $obs
	wait $obs
	echo $? >"$TMP/$name.rc"
}
# the sum over a family's outcomes
outcomes() { awk -v f="obsprobe_$2_total{" 'index($1, f) == 1 { s += $2 } END { print s + 0 }' "$TMP/$1.m"; }
outcome() { metric "$TMP/$1.m" "obsprobe_$2_total{outcome=\"$3\"}"; }

# check_case NAME EXPECTED-OUTCOME: counts exact, every item in EXPECTED-OUTCOME, the exit says so, bounded memory
check_case() {
	local name=$1 want=$2 line
	check "$name: obsprobe exits 0" 0 "$(cat "$TMP/$name.rc")"
	check "$name: every request counted" "$N" "$(metric "$TMP/$name.m" \
		'http_server_request_duration_seconds_count{service="faults",http_request_method="GET",http_response_status_code="200",http_route="/api/users/{id}"}')"
	check "$name: spans: sum over outcomes = spans produced" "$N" "$(outcomes "$name" spans)"
	check "$name: spans $want" "$N" "$(outcome "$name" spans "$want")"
	check "$name: log records: sum over outcomes = records produced" "$N" "$(outcomes "$name" log_records)"
	check "$name: log records $want" "$N" "$(outcome "$name" log_records "$want")"
	if [ "$want" == export_failed ]; then
		line=$(grep -c "spans not exported: 0 queue full, $N export failed" "$TMP/$name.err")
		check "$name: exit summary says $N spans failed" 1 "$line"
		line=$(grep -c "log records not exported: 0 queue full, $N export failed" "$TMP/$name.err")
		check "$name: exit summary says $N log records failed" 1 "$line"
	else
		check "$name: exit summary says nothing was dropped" 0 "$(grep -c 'not exported' "$TMP/$name.err")"
	fi
	local rss
	rss=$(cat "$TMP/$name.rss")
	[ "${rss:-999999}" -lt 200000 ] && ok "$name: collector RSS bounded (${rss} KiB)" || bad "$name: RSS ${rss} KiB"
	grep -q -i 'sanitizer\|segfault\|core dumped' "$TMP/$name.err" && bad "$name: crash: $(cat "$TMP/$name.err")"
}
attempts() { grep -c "otlp: export of .* (attempt $2)" "$TMP/$1.err"; }

# 1. answers after 5 s, within the default 10 s timeout: slow but delivered
run_case slow_ok --fault slow --delay 5 --
check_case slow_ok exported
check "slow_ok: no retry" 0 "$(attempts slow_ok 2)"

# 2. answers after 5 s, with a 1 s export timeout: each try times out, retried, then dropped and counted
run_case slow_timeout --fault slow --delay 5 -- --otlp-timeout 1000
check_case slow_timeout export_failed
[ "$(attempts slow_timeout 2)" -ge 1 ] && ok "slow_timeout: a timed-out request is retried" ||
	bad "slow_timeout: no retry: $(cat "$TMP/slow_timeout.err")"
grep -q 'Timeout was reached' "$TMP/slow_timeout.err" && ok "slow_timeout: says it timed out" ||
	bad "slow_timeout: $(grep 'export to' "$TMP/slow_timeout.err" | head -2)"

# 3. the connection is closed after half of the request body: retried (OTLP: a disconnect SHOULD be), then counted
run_case close --fault close --
check_case close export_failed
[ "$(attempts close 2)" -ge 1 ] && ok "close: retried" || bad "close: no retry: $(cat "$TMP/close.err")"

# 4. 400 Bad Request and 413 Content Too Large: never retried (OTLP: all 4xx but 429), dropped and counted
for st in 400 413; do
	run_case "status$st" --fail 1000000 --status $st --
	check_case "status$st" export_failed
	check "status$st: not retried" 0 "$(attempts "status$st" 2)"
	check "status$st: one request per batch (requests = first attempts)" "$(attempts "status$st" 1)" \
		"$(grep -c "^$st " "$TMP/status$st/requests.log")"
	grep -q "failed: HTTP $st" "$TMP/status$st.err" && ok "status$st: says HTTP $st" ||
		bad "status$st: $(grep 'export to' "$TMP/status$st.err" | head -2)"
done

# 5. bytes that are not HTTP: a failed export with a message that says so
run_case garbage --fault garbage --
check_case garbage export_failed
grep -q 'failed: the receiver did not answer HTTP' "$TMP/garbage.err" && ok "garbage: says the answer was not HTTP" ||
	bad "garbage: $(grep 'export to' "$TMP/garbage.err" | head -2)"

# 6. 200 and a body that never ends: the status is taken, the body cut (not read until the timeout, retried)
run_case endless --fault endless --delay 60 --
check_case endless exported
check "endless: no retry" 0 "$(attempts endless 2)"

# 7. 200 with partial_success rejecting 3 items per request: those are lost, counted, never retried
run_case partial --partial 3 --
check "partial: obsprobe exits 0" 0 "$(cat "$TMP/partial.rc")"
for sig in spans:traces log_records:logs; do
	fam=${sig%:*} reqs=$(grep -c "^200 /v1/${sig#*:} " "$TMP/partial/requests.log")
	check "partial: $fam: sum over outcomes = items produced" "$N" "$(outcomes partial "$fam")"
	check "partial: $fam: export_failed = 3 per request ($reqs requests)" $((3 * reqs)) \
		"$(outcome partial "$fam" export_failed)"
	check "partial: $fam: exported = the rest" $((N - 3 * reqs)) "$(outcome partial "$fam" exported)"
done
check "partial: exit summary says the rejected spans" 1 \
	"$(grep -c "spans not exported: 0 queue full, $(outcome partial spans export_failed) export failed" "$TMP/partial.err")"
check "partial: not retried" 0 "$(grep -c 'attempt 2' "$TMP/partial.err")"
grep -q 'rejected 3 of .*too old' "$TMP/partial.err" && ok "partial: the receiver's reason is said" ||
	bad "partial: $(grep otlp "$TMP/partial.err")"

kill -0 $H 2>/dev/null && ok "httpd still runs" || bad "httpd died"
finish
