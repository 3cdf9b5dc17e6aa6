#!/usr/bin/env bash
# test_dashboards.sh -- a collector traces a target under traffic, a real Prometheus scrapes it, and every
# PromQL expression of every dashboard panel and rule evaluates without error; the panels the traffic
# fills must return data.
source "$(dirname "$0")/lib.sh"
need_root
command -v prometheus >/dev/null || { bad "prometheus missing"; finish; }

SPORT=$(free_port) MPORT=$(free_port) PPORT=$(free_port)
"$TARGETS/httpd" $SPORT 2 >/dev/null 2>&1 &
SPID=$!
PIDS+=($SPID)
wait_for 5 curl -sf "http://127.0.0.1:$SPORT/" || { bad "httpd did not start"; finish; }
"$OBSPROBE" attach --pid $SPID --func 'handle_*' --listen 127.0.0.1:$MPORT -q 2>"$TMP/obs.err" &
PIDS+=($!)
wait_for 30 curl -sf "http://127.0.0.1:$MPORT/health/ready" || { bad "obsprobe: $(cat "$TMP/obs.err")"; finish; }

export OBSPROBE_STACK_DIR=$TMP/stack PROM_PORT=$PPORT SCRAPE_INTERVAL=1s
bash "$ROOT/scripts/stack.sh" up 127.0.0.1:$MPORT >"$TMP/stack.out" 2>&1 || { bad "stack up: $(cat "$TMP/stack.out")"; finish; }
PIDS+=($(cat "$TMP/stack/prometheus.pid"))

# traffic for 8 s (bounded: 8 rounds of 60 requests), so rate() windows have several scrapes
for round in $(seq 1 8); do
	urls=()
	for i in $(seq 1 50); do urls+=("http://127.0.0.1:$SPORT/api/users/$i"); done
	for i in $(seq 1 5); do urls+=("http://127.0.0.1:$SPORT/slow"); done
	for i in $(seq 1 5); do urls+=("http://127.0.0.1:$SPORT/nope"); done
	curl -s --max-time 20 "${urls[@]}" >/dev/null
	sleep 1
done
sleep 2

# the panels this traffic must fill (function, syscall, socket and TCP families are produced today)
cat >"$TMP/expect" <<'X'
variable service
variable function
variable syscall
Syscall time share (seconds in syscalls per second, by syscall)
Syscall rate
Call rate by function
p50 / p99 by function
Mean latency by function
Latency heatmap
Syscall rate (top 10)
p99 latency by syscall (top 10)
Network syscalls (read/write/send/recv)
Socket throughput
Socket I/O latency p99
TCP connections opened
TCP connections active
Events received
Collector CPU
Collector resident memory
Calibrated cost of one probe hit
Collector up
X
python3 "$ROOT/scripts/check-queries.py" --prometheus "http://127.0.0.1:$PPORT" --expect-nonempty "$TMP/expect" \
	--rate-interval 5s >"$TMP/q.out" 2>&1
rc=$?
grep -E '^(ERROR|EMPTY|MISSING)' "$TMP/q.out" | sed 's/^/      /'
[ $rc -eq 0 ] && ok "every dashboard and rule expression evaluates; expected panels have data ($(tail -1 "$TMP/q.out"))" || bad "queries: $(tail -1 "$TMP/q.out")"
# the rules loaded into the real Prometheus
curl -sf "http://127.0.0.1:$PPORT/api/v1/rules" | python3 -c "import json,sys; g=json.load(sys.stdin)['data']['groups']; n=sum(len(x['rules']) for x in g); sys.exit(0 if n==17 else 1)" \
	&& ok "Prometheus loaded all 17 rules" || bad "rules not loaded"
bash "$ROOT/scripts/stack.sh" down >/dev/null
finish
