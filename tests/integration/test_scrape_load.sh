#!/usr/bin/env bash
# test_scrape_load.sh -- slow scrapers never stall capture.  A traced server (tests/targets/httpd) with ROUTES
# histogram series is put under a bounded request load while SLOW scrapers read /metrics at 10 KiB/s (their
# scrapes start before the load and are read to the end only after it), on both capture paths.  Asserted: every
# request counted exactly, nothing lost (obsprobe_events_lost_total all 0), a normal scrape and /health answered
# while the slow ones are in flight, and every slow scrape complete and consistent (every series there, each
# histogram's buckets cumulative with +Inf = _count, promtool check metrics).  No timing is asserted.
source "$(dirname "$0")/lib.sh"
need_root
ROUTES=${ROUTES:-2000} WARM=10 REQS=${REQS:-3000} SLOW=3
read -ra SCRAPE_PORTS <<<"${SCRAPE_PORTS:-}" # four ports to use instead of free ones: httpd, collector (x2)

cat >"$TMP/client.py" <<'PY'
import http.client, sys, time
port, path, start, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
deadline = time.time() + 120
for i in range(start, start + n):
    c.request("GET", path % i)
    r = c.getresponse()
    r.read()
    if time.time() > deadline:
        sys.exit("too slow: %d requests" % (i - start))
PY
# slow.py PORT OUT OM FLAG: GET /metrics and read it at ~10 KiB/s (1 KiB per 0.1 s: enough for the server's 10 s idle
# timeout) until FLAG exists, then the rest at once; prints "in_flight" when FLAG came before the end of the body
cat >"$TMP/slow.py" <<'PY'
import http.client, os, sys, time
port, out, om, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("GET", "/metrics", headers={"Accept": "application/openmetrics-text"} if om else {})
r = c.getresponse()
assert r.status == 200, r.status
body, deadline = [], time.time() + 240
open(out + ".started", "w").close()
while not os.path.exists(flag) and time.time() < deadline:
    piece = r.read(1024)
    if not piece:
        break
    body.append(piece)
    time.sleep(0.1)
in_flight = os.path.exists(flag) and not r.isclosed()
body.append(r.read())
open(out, "wb").write(b"".join(body))
print("in_flight" if in_flight else "ended_early")
PY
# check.py FILE ROUTES OM: complete, every /t/wN route once with _count 1, buckets cumulative, +Inf = _count
cat >"$TMP/check.py" <<'PY'
import collections, re, sys
text = open(sys.argv[1]).read()
routes, om = int(sys.argv[2]), sys.argv[3] == "1"
lines = text.split("\n")
assert lines[-1] == "", "not ending with a newline"
last = lines[-2]
if om:
    assert last == "# EOF", "OpenMetrics without # EOF: %r" % last
else:
    assert last.startswith("process_start_time_seconds "), "cut short: %r" % last
b, c, seen = collections.defaultdict(list), {}, set()
for line in lines:
    if line.startswith("#") or not line:
        continue
    key = line.split(" # ")[0].rsplit(" ", 1)[0]
    assert key not in seen, "duplicate " + key
    seen.add(key)
    m = re.match(r'(\w+)_bucket\{(.*),le="([^"]+)"\} (\d+)', line)
    if m:
        b[(m[1], m[2])].append((m[3], int(m[4])))
        continue
    m = re.match(r'(\w+)_count\{(.*)\} (\d+)$', line)
    if m:
        c[(m[1], m[2])] = int(m[3])
assert b and set(b) == set(c), "buckets and counts name different series"
for k, v in b.items():
    counts = [n for _, n in v]
    assert counts == sorted(counts), "buckets not cumulative: %s" % (k,)
    assert v[-1][0] == "+Inf" and v[-1][1] == c[k], "+Inf != _count: %s" % (k,)
words = [k for k in c if k[0] == "http_server_request_duration_seconds" and 'http_route="/t/w' in k[1]]
assert len(words) == routes, "routes: %d of %d" % (len(words), routes)
assert all(c[k] == 1 for k in words), "a /t/wN route not counted once"
print(len(c))
PY

# run_case NAME HTTPD_PORT COLLECTOR_PORT: the traced httpd and the collector already started
run_case() {
	local name=$1 hp=$2 lp=$3 i pids=() users n
	wait_for 20 curl -sf "http://127.0.0.1:$lp/health/ready" || { bad "$name: obsprobe not ready"; return; }
	# ROUTES distinct routes, one request each, all counted before the scrapers start
	timeout 150 python3 "$TMP/client.py" "$hp" "/t/w%d" 0 "$ROUTES" || { bad "$name: client (routes)"; return; }
	_ready() { test "$(scrape "$lp" | grep -c '^http_server_request_duration_seconds_count{.*http_route="/t/w')" -eq "$ROUTES"; }
	wait_for 20 _ready
	users="http_server_request_duration_seconds_count{service=\"httpd\",http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/api/users/{id}\"}"
	timeout 30 python3 "$TMP/client.py" "$hp" "/api/users/%d" 0 $WARM || bad "$name: client (warm-up)"
	_ready() { test "$(scrape "$lp" | awk -v k="$users" '$1 == k { print $2 }')" == "$WARM"; }
	wait_for 20 _ready
	rm -f "$TMP/$name.flag"
	for i in $(seq 1 $SLOW); do
		python3 "$TMP/slow.py" "$lp" "$TMP/$name.slow$i" $([ $i -eq $SLOW ] && echo 1 || echo 0) "$TMP/$name.flag" \
			>"$TMP/$name.slow$i.said" 2>&1 &
		pids+=($!)
	done
	# the load begins once every slow scrape has begun arriving, and ends before they are read to the end
	for i in $(seq 1 $SLOW); do wait_for 10 test -e "$TMP/$name.slow$i.started"; done
	timeout 150 python3 "$TMP/client.py" "$hp" "/api/users/%d" $WARM "$REQS" || bad "$name: client (load)"
	# with the slow scrapes in flight: capture kept up (a normal scrape shows every request), nothing lost
	_ready() { test "$(scrape "$lp" | awk -v k="$users" '$1 == k { print $2 }')" == $((WARM + REQS)); }
	wait_for 20 _ready
	scrape "$lp" >"$TMP/$name.fast" && ok "$name: a normal scrape answered meanwhile" || bad "$name: normal scrape"
	check "$name: every request counted exactly, with slow scrapes in flight" $((WARM + REQS)) "$(metric "$TMP/$name.fast" "$users")"
	check "$name: no events lost" 0 "$(awk '/^obsprobe_events_lost_total\{/ { s += $2 } END { print s + 0 }' "$TMP/$name.fast")"
	check "$name: no series folded" "" "$(grep '^obsprobe_series_overflow_total' "$TMP/$name.fast")"
	curl -sf "http://127.0.0.1:$lp/health" | grep -q '"status":"ok"' && ok "$name: /health answered" || bad "$name: /health"
	touch "$TMP/$name.flag"
	for i in $(seq 1 $SLOW); do
		wait "${pids[$((i - 1))]}" && ok "$name: slow scrape $i read to its end" || bad "$name: slow scrape $i: $(cat "$TMP/$name.slow$i.said")"
		check "$name: slow scrape $i was in flight for the whole load" in_flight "$(cat "$TMP/$name.slow$i.said")"
		n=$(python3 "$TMP/check.py" "$TMP/$name.slow$i" "$ROUTES" $([ $i -eq $SLOW ] && echo 1 || echo 0) 2>&1) &&
			ok "$name: slow scrape $i complete and consistent ($n histograms, $(wc -c <"$TMP/$name.slow$i") bytes)" ||
			bad "$name: slow scrape $i: $n"
	done
	promtool check metrics <"$TMP/$name.slow1" >"$TMP/$name.promtool" 2>&1 && ok "$name: promtool check metrics" ||
		bad "$name: promtool: $(head -3 "$TMP/$name.promtool")"
	n=$(metric "$TMP/$name.slow1" "$users")
	[ "${n:-0}" -ge $WARM ] && [ "${n:-0}" -le $((WARM + REQS)) ] &&
		ok "$name: the slow scrape's count is one the load passed through ($n)" || bad "$name: slow scrape count ${n:-none}"
}

command -v promtool >/dev/null || { bad "promtool missing (scripts/install-deps.sh installs prometheus)"; finish; }

# eBPF
HP=${SCRAPE_PORTS[0]:-$(free_port)} LP=${SCRAPE_PORTS[1]:-$(free_port)}
"$TARGETS/httpd" "$HP" 0 >/dev/null 2>&1 &
PIDS+=($!)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start"; finish; }
"$OBSPROBE" attach --pid "${PIDS[-1]}" --listen "127.0.0.1:$LP" --max-series $((ROUTES * 2)) --no-logs -q \
	2>"$TMP/ebpf.err" &
PIDS+=($!)
run_case ebpf "$HP" "$LP"
kill -INT "${PIDS[-1]}"
wait "${PIDS[-1]}"
check "ebpf: exit code" 0 $?

# the shim
HP=${SCRAPE_PORTS[2]:-$(free_port)} LP=${SCRAPE_PORTS[3]:-$(free_port)}
"$OBSPROBE" run --preload --listen "127.0.0.1:$LP" --max-series $((ROUTES * 2)) --no-logs -q -- \
	"$TARGETS/httpd" "$HP" 0 >/dev/null 2>"$TMP/shim.err" &
PIDS+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$HP/" || { bad "shim: httpd did not start: $(cat "$TMP/shim.err")"; finish; }
run_case shim "$HP" "$LP"
kill $(pgrep -P "${PIDS[-1]}") 2>/dev/null # the program ends, then obsprobe run
wait "${PIDS[-1]}"
finish
