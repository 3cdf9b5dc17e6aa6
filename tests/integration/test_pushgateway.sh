#!/usr/bin/env bash
# test_pushgateway.sh -- run --pushgateway: a short traced program's metrics reach Debian's Pushgateway on an
# interval and at exit, and a real Prometheus scraping it (honor_labels) returns the program's exact counts;
# a Pushgateway that is down, or that never answers, is counted and said, and the command's exit status stands.
source "$(dirname "$0")/lib.sh"
need_root
PG=prometheus-pushgateway
command -v $PG >/dev/null || { bad "$PG missing (scripts/install-deps.sh installs it)"; finish; }
command -v prometheus >/dev/null || { bad "prometheus missing (scripts/install-deps.sh)"; finish; }
PY=/usr/bin/python3
PGPORT=7951 PROMPORT=7953 WEBPORT=7954 LPORT=7955 DOWNPORT=7959 HANGPORT=7958
HOST=$(hostname)
JOB=pgtest

# the Pushgateway (in memory only) and a Prometheus that scrapes it every second, keeping its job/instance labels
$PG --web.listen-address=127.0.0.1:$PGPORT --persistence.file= >"$TMP/pg.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/prom.yml" <<EOF
global: { scrape_interval: 1s }
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [ { targets: ['127.0.0.1:$PGPORT'] } ]
EOF
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom" --web.listen-address=127.0.0.1:$PROMPORT \
	>"$TMP/prom.log" 2>&1 &
PIDS+=($!)
mkdir -p "$TMP/www" && echo hello >"$TMP/www/a.txt"
(cd "$TMP/www" && exec $PY -m http.server --bind 127.0.0.1 $WEBPORT) >"$TMP/web.log" 2>&1 &
PIDS+=($!)
wait_for 20 curl -sf "http://127.0.0.1:$PGPORT/-/ready" || { bad "pushgateway did not start: $(tail -3 "$TMP/pg.log")"; finish; }
wait_for 20 curl -sf "http://127.0.0.1:$PROMPORT/-/ready" || { bad "prometheus did not start: $(tail -3 "$TMP/prom.log")"; finish; }
wait_for 20 curl -sf "http://127.0.0.1:$WEBPORT/a.txt" || { bad "http.server did not start"; finish; }

# the traced job: phase 1 (4 GETs answered 200, 5 getppid), then it waits for $TMP/go (at most 30 s), then
# phase 2 (3 more 200s, 3 GETs answered 404, 8 more getppid); a fresh connection per request
cat >"$TMP/job.py" <<EOF
import http.client, os, sys, time
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", $WEBPORT, timeout=10)
    c.request("GET", path)
    c.getresponse().read()
    c.close()
for _ in range(4): get("/a.txt")
for _ in range(5): os.getppid()
end = time.time() + 30
while not os.path.exists("$TMP/go") and time.time() < end: time.sleep(0.05)
for _ in range(3): get("/a.txt")
for _ in range(3): get("/missing")
for _ in range(8): os.getppid()
sys.exit(int(sys.argv[1]))
EOF

# promq EXPR: the value of the one series Prometheus returns ("none" when none, "many" when more)
promq() {
	curl -sf "http://127.0.0.1:$PROMPORT/api/v1/query" --data-urlencode "query=$1" | $PY -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print("none" if not r else "many" if len(r) > 1 else r[0]["value"][1])'
}
# pgval FILE NAME LABEL=VALUE...: a sample's value in a /metrics text, selected by name and labels (any order)
pgval() {
	local f=$1 name=$2 sel
	shift 2
	sel=$(grep -E "^$name\{" "$f")
	for l in "$@"; do sel=$(grep -F "${l%%=*}=\"${l#*=}\"" <<<"$sel"); done
	awk '{ print $2 }' <<<"$sel" | head -1
}
CLIENT='http_client_request_duration_seconds_count'
SYSC='obsprobe_syscall_duration_seconds_count'

# ---- pushes on an interval, and the last one at exit ---------------------------------------------------------
"$OBSPROBE" run --listen 127.0.0.1:$LPORT --pushgateway "http://127.0.0.1:$PGPORT/" --push-job $JOB --push-interval 0.3 \
	-- $PY "$TMP/job.py" 7 >"$TMP/out" 2>"$TMP/err" &
RUN=$!
PIDS+=($RUN)
phase1() {
	curl -sf "http://127.0.0.1:$PGPORT/metrics" >"$TMP/pg1" &&
		[ "$(pgval "$TMP/pg1" $CLIENT job=$JOB http_response_status_code=200)" == 4 ] &&
		[ "$(pgval "$TMP/pg1" $SYSC job=$JOB syscall=getppid)" == 5 ]
}
if wait_for 30 phase1; then
	ok "an interval push reached the Pushgateway while the job waits: 4 GETs, 5 getppid"
	scrape $LPORT >"$TMP/live"
	check "... the same values as obsprobe's /metrics then: GETs" 4 \
		"$(pgval "$TMP/live" $CLIENT http_response_status_code=200)"
	check "... getppid" 5 "$(pgval "$TMP/live" $SYSC syscall=getppid)"
	grep -q "instance=\"$HOST\"" "$TMP/pg1" && ok "grouped by instance = host name ($HOST)" || bad "no instance=\"$HOST\""
else
	bad "no interval push with phase 1's counts: $(grep -E "^($CLIENT|$SYSC)\{" "$TMP/pg1" 2>/dev/null | grep -E "getppid|$CLIENT") $(cat "$TMP/err")"
fi
touch "$TMP/go"
wait $RUN
check "run returns the command's exit status" 7 $?
line=$(grep 'obsprobe: pushed ' "$TMP/err")
samples=$(sed -nE 's/.*pushed ([0-9]+) samples.*/\1/p' <<<"$line")
pushes=$(sed -nE 's/.* \(([0-9]+) push(es)?\)$/\1/p' <<<"$line")
grep -q "pushed [0-9]* samples to http://127.0.0.1:$PGPORT/metrics/job/$JOB/instance/$HOST (" <<<"$line" &&
	ok "one line says where and how many samples: $line" || bad "push line: $(cat "$TMP/err")"
[ "${pushes:-0}" -ge 2 ] && ok "$pushes pushes (interval and exit)" || bad "pushes: '$pushes'"
curl -sf "http://127.0.0.1:$PGPORT/metrics" >"$TMP/pg2"
# the group holds what was pushed, plus the Pushgateway's push_time_seconds and push_failure_time_seconds
check "the Pushgateway's group has every pushed sample (+2 of its own)" $((samples + 2)) \
	"$(grep -v '^#' "$TMP/pg2" | grep -c "job=\"$JOB\"")"

# Prometheus, scraping the Pushgateway, returns the job's exact counts
final() { [ "$(promq "$CLIENT{job=\"$JOB\",http_response_status_code=\"404\"}")" == 3 ]; }
wait_for 30 final || bad "Prometheus never returned the final push's 404 count"
check "Prometheus: GETs answered 200" 7 "$(promq "$CLIENT{job=\"$JOB\",instance=\"$HOST\",http_response_status_code=\"200\"}")"
check "Prometheus: GETs answered 404" 3 "$(promq "$CLIENT{job=\"$JOB\",instance=\"$HOST\",http_response_status_code=\"404\"}")"
check "Prometheus: getppid syscalls" 13 "$(promq "$SYSC{job=\"$JOB\",syscall=\"getppid\"}")"
check "Prometheus: exchanges parsed (http1)" 10 "$(promq "obsprobe_exchanges_total{job=\"$JOB\",protocol=\"http1\"}")"
check "Prometheus: pushes before the last one, all taken" $((pushes - 1)) \
	"$(promq "obsprobe_pushgateway_pushes_total{job=\"$JOB\",outcome=\"pushed\"}")"
check "Prometheus: no failed push" 0 "$(promq "obsprobe_pushgateway_pushes_total{job=\"$JOB\",outcome=\"failed\"}")"
grep -q "summary\|syscalls" "$TMP/err" && ok "the exit summary is still printed" || bad "no summary: $(cat "$TMP/err")"

# ---- the same through the shim (--preload): its HTTP counts, pushed at exit only -----------------------------
"$OBSPROBE" run --preload --listen 127.0.0.1:$LPORT --pushgateway "http://127.0.0.1:$PGPORT" --push-job pgshim \
	-- $PY "$TMP/job.py" 0 2>"$TMP/err-shim"
check "--preload: exit status" 0 $?
grep -q "obsprobe: pushed [0-9]* samples to http://127.0.0.1:$PGPORT/metrics/job/pgshim/instance/$HOST (1 push)" "$TMP/err-shim" &&
	ok "--preload: one push, said" || bad "--preload push line: $(cat "$TMP/err-shim")"
shim_final() { [ "$(promq "$CLIENT{job=\"pgshim\",http_response_status_code=\"404\"}")" == 3 ]; }
wait_for 30 shim_final || bad "Prometheus never returned the shim run's 404 count"
check "--preload: Prometheus: GETs answered 200" 7 "$(promq "$CLIENT{job=\"pgshim\",http_response_status_code=\"200\"}")"
check "--preload: Prometheus: the shim's events source" 1 \
	"$(promq "count(obsprobe_events_total{job=\"pgshim\",source=\"preload\"})")"

# ---- the job name by default, and a name that needs the base64 form ---------------------------------------
"$OBSPROBE" run -q --listen 127.0.0.1:$LPORT --pushgateway "http://127.0.0.1:$PGPORT" -- sh -c 'exit 0' 2>"$TMP/err-q"
check "-q: exit status" 0 $?
[ ! -s "$TMP/err-q" ] && ok "-q: a push that went is not said" || bad "-q printed: $(cat "$TMP/err-q")"
"$OBSPROBE" run --listen 127.0.0.1:$LPORT --pushgateway "http://127.0.0.1:$PGPORT" --push-job 'nightly/backup job' \
	-- sh -c 'exit 0' 2>"$TMP/err-b64"
grep -q "metrics/job@base64/bmlnaHRseS9iYWNrdXAgam9i/instance/$HOST" "$TMP/err-b64" &&
	ok "a job name with '/' goes as job@base64" || bad "base64 job: $(grep pushed "$TMP/err-b64")"
curl -sf "http://127.0.0.1:$PGPORT/metrics" >"$TMP/pg3"
grep -q '^obsprobe_build_info{.*job="sh"' "$TMP/pg3" && ok "the default job is the command's name (sh)" ||
	bad "no job=\"sh\" group"
grep -q '^obsprobe_build_info{.*job="nightly/backup job"' "$TMP/pg3" && ok "the Pushgateway decoded job=\"nightly/backup job\"" ||
	bad "no job=\"nightly/backup job\" group"

# ---- a Pushgateway that is down: counted, said, never the command's exit status ---------------------------
cat >"$TMP/wait.py" <<EOF
import os, sys, time
end = time.time() + 30
while not os.path.exists("$TMP/go2") and time.time() < end: time.sleep(0.05)
sys.exit(5)
EOF
"$OBSPROBE" run --listen 127.0.0.1:$LPORT --pushgateway "http://127.0.0.1:$DOWNPORT" --push-interval 0.2 \
	-- $PY "$TMP/wait.py" 2>"$TMP/err-down" &
RUN=$!
PIDS+=($RUN)
failed_live() { scrape $LPORT >"$TMP/live2" && [ "$(metric "$TMP/live2" 'obsprobe_pushgateway_pushes_total{outcome="failed"}')" -ge 2 ]; }
wait_for 30 failed_live && ok "failed pushes counted while it runs: obsprobe_pushgateway_pushes_total{outcome=\"failed\"} $(metric "$TMP/live2" 'obsprobe_pushgateway_pushes_total{outcome="failed"}')" ||
	bad "no failed pushes on /metrics: $(grep pushgateway "$TMP/live2" 2>/dev/null)"
check "... and none pushed" 0 "$(metric "$TMP/live2" 'obsprobe_pushgateway_pushes_total{outcome="pushed"}')"
touch "$TMP/go2"
wait $RUN
check "gateway down: the command's exit status stands" 5 $?
dline=$(grep 'push to' "$TMP/err-down")
nf=$(sed -nE 's/.*\(([0-9]+) of ([0-9]+) pushes failed.*/\1 \2/p' <<<"$dline")
grep -q "obsprobe: WARNING: push to http://127.0.0.1:$DOWNPORT/metrics/job/python3/instance/$HOST failed: Couldn't connect to server" <<<"$dline" &&
	ok "said at exit: $dline" || bad "down line: $(cat "$TMP/err-down")"
[ -n "$nf" ] && [ "${nf% *}" == "${nf#* }" ] && [ "${nf% *}" -ge 3 ] && ok "every push failed, and counted ($nf)" ||
	bad "failed counts: '$nf'"

# ---- a Pushgateway that never answers: the push gives up at its time limit -------------------------------
$PY -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $HANGPORT)); s.listen(8)
held = []
end = time.time() + 60
s.settimeout(1)
while time.time() < end:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
" &
PIDS+=($!)
wait_for 10 $PY -c "import socket; socket.create_connection(('127.0.0.1', $HANGPORT), 1)"
timeout 40 "$OBSPROBE" run -q --listen 127.0.0.1:$LPORT --pushgateway "http://127.0.0.1:$HANGPORT" -- sh -c 'exit 4' \
	2>"$TMP/err-hang"
check "gateway silent: the command's exit status stands (not timeout's 124)" 4 $?
grep -q "obsprobe: WARNING: push to http://127.0.0.1:$HANGPORT/.* failed: Timeout was reached (1 of 1 pushes failed" "$TMP/err-hang" &&
	ok "the push gave up at its time limit, said even with -q" || bad "hang: $(cat "$TMP/err-hang")"

# ---- usage errors ----------------------------------------------------------------------------------------
"$OBSPROBE" run --push-job x -- true 2>"$TMP/err-u1"
check "--push-job without --pushgateway is a usage error" 2 $?
"$OBSPROBE" run --pushgateway 'ftp://x' -- true 2>"$TMP/err-u2"
check "--pushgateway with a non-HTTP URL is a usage error" 2 $?
"$OBSPROBE" run --pushgateway http://127.0.0.1:$PGPORT --push-interval 0 -- true 2>"$TMP/err-u3"
check "--push-interval 0 is a usage error" 2 $?
"$OBSPROBE" attach --pid $$ --pushgateway http://127.0.0.1:$PGPORT 2>"$TMP/err-u4"
check "--pushgateway is for run only" 2 $?
finish
