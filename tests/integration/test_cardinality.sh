#!/usr/bin/env bash
# test_cardinality.sh -- 100k distinct URLs: routes fold, --max-series caps the rest into __overflow__ (counted),
# every request is still counted exactly once, and the collector's memory stays flat.
source "$(dirname "$0")/lib.sh"
need_root
HP=$(free_port) LP=$(free_port)
N=100000 CAP=100

"$TARGETS/httpd" "$HP" 0 >/dev/null 2>&1 &
H=$!
PIDS+=($H)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start"; finish; }
"$OBSPROBE" attach --pid "$H" --listen "127.0.0.1:$LP" --max-series $CAP --no-logs -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; finish; }

# half the paths carry an id (/api/users/N: one route), half are distinct words (/t/wN: one route each until the cap)
cat >"$TMP/client.py" <<'PY'
import http.client, sys, time
port, start, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
deadline = time.time() + 300
for i in range(start, start + n):
    c.request("GET", "/api/users/%d" % i if i % 2 else "/t/w%d" % i)
    c.getresponse().read()
    if time.time() > deadline:
        sys.exit("too slow: %d requests" % (i - start))
PY
timeout 320 python3 "$TMP/client.py" "$HP" 0 20000 || bad "client (first 20k)"
sleep 1
rss1=$(ps -o rss= -p $OBS)
timeout 320 python3 "$TMP/client.py" "$HP" 20000 $((N - 20000)) || bad "client (last 80k)"
sleep 1
rss2=$(ps -o rss= -p $OBS)
scrape "$LP" >"$TMP/m"

fam=http_server_request_duration_seconds
series=$(grep -c "^${fam}_count{" "$TMP/m")
[ "$series" -le $((CAP + 1)) ] && ok "series within --max-series $CAP (+1 overflow): $series" || bad "series: $series"
total=$(awk -v f="${fam}_count{" 'index($0, f) == 1 { s += $2 } END { print s + 0 }' "$TMP/m")
check "every request counted once across series" $N "$total"
check "/api/users/{id}: one route for 50k ids" $((N / 2)) "$(metric "$TMP/m" "${fam}_count{service=\"httpd\",http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/api/users/{id}\"}")"
ovf=$(metric "$TMP/m" "obsprobe_series_overflow_total{metric=\"$fam\"}")
ovs=$(metric "$TMP/m" "${fam}_count{service=\"httpd\",http_request_method=\"__overflow__\",http_response_status_code=\"__overflow__\",http_route=\"__overflow__\"}")
check "overflow counted: folds = requests in the overflow series" "$ovs" "$ovf"
[ "${ovf:-0}" -gt 49000 ] && ok "most of the 50k distinct words folded ($ovf)" || bad "overflow: $ovf"
growth=$((rss2 - rss1))
[ $growth -lt 8192 ] && ok "collector RSS flat: ${rss1} -> ${rss2} KiB over 80k more distinct URLs" ||
	bad "RSS grew ${growth} KiB (${rss1} -> ${rss2})"
kill -INT $OBS
wait $OBS
finish
