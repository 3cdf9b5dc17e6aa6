#!/usr/bin/env bash
# scrape_bench.sh -- /metrics with SERIES (default 10,000) distinct HTTP routes, each a histogram series: the
# median time of one scrape seen by curl (text 0.0.4 and OpenMetrics), and the collector's RSS and peak RSS after
# them; then the render alone (build/bench/scrape_bench: same label sets, a writer observing meanwhile).
# The goal (issue 13): <= 50 ms per scrape.  OBSPROBE=path and SCRAPE_BENCH=path run another build's collector and
# render bench; HP/LP pick the ports.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
OBS=${OBSPROBE:-$B/obsprobe}
SERIES=${SERIES:-10000}
SCRAPES=${SCRAPES:-11}
TMP=$(mktemp -d /tmp/obsprobe-scrapebench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { local i; for i in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
HP=${HP:-$(port)} LP=${LP:-$(port)}

"$B/targets/httpd" "$HP" 0 >/dev/null 2>&1 &
H=$!
up "http://127.0.0.1:$HP/" || { echo "httpd did not start" >&2; exit 1; }
"$OBS" attach --pid "$H" --listen "127.0.0.1:$LP" --max-series $((SERIES * 2)) --no-logs -q 2>"$TMP/obs.err" &
O=$!
up "http://127.0.0.1:$LP/health/ready" || { cat "$TMP/obs.err" >&2; exit 1; }
/usr/bin/python3 - "$HP" "$SERIES" <<'PY' || exit 1
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
deadline = time.time() + 300
for i in range(int(sys.argv[2])):
    c.request("GET", "/t/w%d" % i)
    c.getresponse().read()
    if time.time() > deadline:
        sys.exit("too slow: %d requests" % i)
PY
# every route seen before timing
for i in $(seq 1 100); do
	n=$(curl -sf "http://127.0.0.1:$LP/metrics" | grep -c '^http_server_request_duration_seconds_count{.*http_route="/t/w')
	[ "$n" -ge "$SERIES" ] && break
	sleep 0.2
done
[ "$n" -ge "$SERIES" ] || { echo "only $n series" >&2; exit 1; }
curl -sf "http://127.0.0.1:$LP/metrics" >"$TMP/m"
lines=$(wc -l <"$TMP/m") bytes=$(wc -c <"$TMP/m")
one() { curl -sf -o /dev/null -w '%{time_total}\n' "$@" "http://127.0.0.1:$LP/metrics"; }
cpu() { awk '{ print $14 + $15 }' /proc/$O/stat; } # the collector's user + system time, in clock ticks
c0=$(cpu)
text=$(for i in $(seq 1 "$SCRAPES"); do one; done | median)
c1=$(cpu)
om=$(for i in $(seq 1 "$SCRAPES"); do one -H 'Accept: application/openmetrics-text'; done | median)
c2=$(cpu)
rss=$(awk '/^VmRSS/{print $2}' /proc/$O/status) hwm=$(awk '/^VmHWM/{print $2}' /proc/$O/status)
kill -INT $O
wait $O 2>/dev/null
printf '| /metrics, %d histogram series (%d lines, %d bytes), median of %d | ms per scrape |\n|---|---|\n' \
	"$SERIES" "$lines" "$bytes" "$SCRAPES"
awk -v t="$text" -v o="$om" 'BEGIN { printf "| text 0.0.4 (curl time_total) | %.1f |\n| OpenMetrics (curl time_total) | %.1f |\n", t * 1000, o * 1000 }'
awk -v a=$((c1 - c0)) -v b=$((c2 - c1)) -v n="$SCRAPES" -v hz="$(getconf CLK_TCK)" 'BEGIN {
	printf "| the collector'"'"'s CPU per scrape (user + system, sending included), text / OpenMetrics | %.1f / %.1f |\n",
		a * 1000 / hz / n, b * 1000 / hz / n }'
printf '| collector RSS after the scrapes / peak | %d / %d KiB |\n' "$rss" "$hwm"
# the floor under the curl figures: the same bytes from a file, served by nginx (when installed) to the same curl
if command -v nginx >/dev/null; then
	NP=${NP:-$(port)}
	mkdir -p "$TMP/www" && cp "$TMP/m" "$TMP/www/metrics" && chmod -R a+rX "$TMP" # nginx's workers: nobody
	printf 'worker_processes 1; pid %s/nginx.pid; error_log %s/nginx.err; events { worker_connections 16; }
http { access_log off; server { listen 127.0.0.1:%s; root %s/www; } }\n' "$TMP" "$TMP" "$NP" "$TMP" >"$TMP/nginx.conf"
	if nginx -c "$TMP/nginx.conf" -p "$TMP" 2>/dev/null && up "http://127.0.0.1:$NP/metrics"; then
		floor=$(for i in $(seq 1 "$SCRAPES"); do
			curl -sf -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$NP/metrics"
		done | median)
		awk -v t="$floor" 'BEGIN { printf "| the same bytes from a file served by nginx (the transfer to curl alone) | %.1f |\n", t * 1000 }'
	fi
	[ -s "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null
fi
SB=${SCRAPE_BENCH:-$B/bench/scrape_bench}
if [ -x "$SB" ]; then
	"$SB" "$SERIES" "$SCRAPES" | awk '{
		printf "| render alone, text / OpenMetrics (scrape_bench, a writer observing meanwhile) | %s / %s |\n", $8, $10
		if ($21 == "text_cpu_ms") printf "| render alone, CPU time, text / OpenMetrics | %s / %s |\n", $22, $24
		printf "| the writer'"'"'s longest observation while scrapes ran / while none ran | %s / %s us |\n", $12,
			$13 == "without_scrapes_us" ? $14 : "n/a"
		if ($25 == "max_lock_wait_us") printf "| ... of which the longest spent asleep on the registry lock | %s us |\n", $26 }'
fi
