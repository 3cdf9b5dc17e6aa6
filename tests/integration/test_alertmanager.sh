#!/usr/bin/env bash
# test_alertmanager.sh -- alerts that reach someone: scripts/stack.sh's Prometheus and Alertmanager (Debian's) with
# the real rules (only for: and the evaluation interval shortened), a traced python service made to answer 5xx, and
# a webhook receiver that gets ObsprobeHttpHighErrorRatio firing (service label, runbook URL), then resolved once
# the traffic recovers.
source "$(dirname "$0")/lib.sh"
need_root
command -v prometheus >/dev/null || { bad "prometheus missing (scripts/install-deps.sh)"; finish; }
command -v prometheus-alertmanager >/dev/null || { bad "prometheus-alertmanager missing (scripts/install-deps.sh)"; finish; }
PY=/usr/bin/python3
SVCPORT=7970 PROMPORT=7971 AMPORT=7972 HOOKPORT=7973 LPORT=7974
ALERT=ObsprobeHttpHighErrorRatio
RUNBOOK=$(grep -A8 "alert: $ALERT\$" "$ROOT/alerts/obsprobe.rules.yml" | sed -nE 's/^\s*runbook_url: *//p')

# the test's rules: alerts/obsprobe.rules.yml with every for: at 5s; the expressions stay the real ones
sed -E 's/^(\s*)for: .*/\1for: 5s/' "$ROOT/alerts/obsprobe.rules.yml" >"$TMP/test.rules.yml"
check "test rules: the same expressions as alerts/obsprobe.rules.yml" \
	"$(grep -v -E '^\s*for:' "$ROOT/alerts/obsprobe.rules.yml" | md5sum)" "$(grep -v -E '^\s*for:' "$TMP/test.rules.yml" | md5sum)"
check "test rules: every for: is 5s" "$(grep -c -E '^\s*for:' "$ROOT/alerts/obsprobe.rules.yml")" \
	"$(grep -c -E '^\s*for: 5s$' "$TMP/test.rules.yml")"
promtool check rules "$TMP/test.rules.yml" >"$TMP/check" 2>&1 && ok "promtool check rules (test rules)" || bad "$(cat "$TMP/check")"

# the webhook receiver: each notification one JSON line
cat >"$TMP/hook.py" <<EOF
import http.server
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open("$TMP/hooks", "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", $HOOKPORT), Hook).serve_forever()
EOF
$PY "$TMP/hook.py" 2>"$TMP/hook.err" &
PIDS+=($!)

# the service: /ok answers 200, /fail 500
cat >"$TMP/svc.py" <<EOF
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 500 if self.path == "/fail" else 200
        body = b"failed\n" if code == 500 else b"ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", $SVCPORT), H).serve_forever()
EOF
# the load: GETs of PATH at most RATE a second until STOPFILE exists (at most SECONDS); the answers counted by status
cat >"$TMP/load.py" <<'EOF'
import http.client, json, os, sys, time
path, rate, secs, stop, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
port = int(sys.argv[6])
counts, end = {}, time.time() + secs
while time.time() < end and not os.path.exists(stop):
    t = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    time.sleep(max(0, 1 / rate - (time.time() - t)))
json.dump(counts, open(out, "w"))
EOF
"$OBSPROBE" run --service flaky --listen 127.0.0.1:$LPORT -- $PY "$TMP/svc.py" 2>"$TMP/obs.err" &
PIDS+=($!)
wait_for 30 curl -sf "http://127.0.0.1:$LPORT/health/ready" || { bad "obsprobe: $(cat "$TMP/obs.err")"; finish; }
wait_for 10 $PY -c "import socket; socket.create_connection(('127.0.0.1', $SVCPORT), 1)" || { bad "service did not start"; finish; }
wait_for 10 curl -sf "http://127.0.0.1:$HOOKPORT/" || { bad "webhook receiver did not start: $(cat "$TMP/hook.err")"; finish; }

export OBSPROBE_STACK_DIR=$TMP/stack PROM_PORT=$PROMPORT AM_PORT=$AMPORT SCRAPE_INTERVAL=1s EVAL_INTERVAL=1s \
	RULES_FILE=$TMP/test.rules.yml ALERT_WEBHOOK_URL=http://127.0.0.1:$HOOKPORT/hook AM_GROUP_WAIT=1s \
	AM_GROUP_INTERVAL=1s AM_REPEAT_INTERVAL=1h
bash "$ROOT/scripts/stack.sh" up 127.0.0.1:$LPORT >"$TMP/stack.out" 2>&1 || { bad "stack up: $(cat "$TMP/stack.out")"; finish; }
for c in prometheus alertmanager; do PIDS+=($(cat "$TMP/stack/$c.pid")); done
grep -q "stack: alertmanager at http://127.0.0.1:$AMPORT, notifying http://127.0.0.1:$HOOKPORT/hook" "$TMP/stack.out" &&
	ok "stack.sh started Alertmanager with the webhook receiver" || bad "stack: $(cat "$TMP/stack.out")"
amready() { curl -sf "http://127.0.0.1:$PROMPORT/api/v1/alertmanagers" | grep -q "127.0.0.1:$AMPORT"; }
wait_for 20 amready && ok "Prometheus sends to that Alertmanager" || bad "no Alertmanager in Prometheus"

# hook STATUS: the service's $ALERT notifications with that status, as "service|severity|runbook" lines
hook() {
	[ -f "$TMP/hooks" ] || return 0
	$PY - "$TMP/hooks" "$1" "$ALERT" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    for a in n["alerts"]:
        if a["labels"].get("alertname") == sys.argv[3] and a["status"] == sys.argv[2]:
            print("%s|%s|%s" % (a["labels"].get("service"), a["labels"].get("severity"), a["annotations"].get("runbook_url")))
EOF
}

# ---- the service answers 500: 2 failing requests a second until the alert reaches the webhook (at most 90 s) --
$PY "$TMP/load.py" /fail 2 90 "$TMP/stop1" "$TMP/load1" $SVCPORT &
LOAD=$!
PIDS+=($LOAD)
fired() { hook firing | grep -q '^flaky|'; }
wait_for 90 fired && ok "the webhook got $ALERT firing" || bad "no firing notification: $(cat "$TMP/hooks" 2>/dev/null | head -3)"
touch "$TMP/stop1"
wait $LOAD
check "firing: service label, severity, runbook URL" "flaky|warning|$RUNBOOK" "$(hook firing | grep '^flaky|' | head -1)"
[ -z "$(hook resolved)" ] && ok "nothing resolved yet" || bad "resolved too early: $(hook resolved)"
fails=$($PY -c "import json; print(json.load(open('$TMP/load1')).get('500', 0))")
scrape $LPORT >"$TMP/m1"
check "obsprobe counted every 500 the service answered ($fails)" "$fails" \
	"$(metric "$TMP/m1" 'http_server_request_duration_seconds_count{service="flaky",http_request_method="GET",http_response_status_code="500",http_route="/fail"}')"

# ---- traffic recovers: 200s (at most 200 a second) until the resolved notification arrives (at most 120 s) ---
$PY "$TMP/load.py" /ok 200 120 "$TMP/stop2" "$TMP/load2" $SVCPORT &
LOAD=$!
PIDS+=($LOAD)
resolved() { hook resolved | grep -q '^flaky|'; }
wait_for 120 resolved && ok "the webhook got $ALERT resolved after the traffic recovered" ||
	bad "no resolved notification: $(tail -3 "$TMP/hooks" 2>/dev/null)"
touch "$TMP/stop2"
wait $LOAD
check "resolved: service label, severity, runbook URL" "flaky|warning|$RUNBOOK" "$(hook resolved | grep '^flaky|' | head -1)"
oks=$($PY -c "import json; print(json.load(open('$TMP/load2')).get('200', 0))")
scrape $LPORT >"$TMP/m2"
check "obsprobe counted every 200 the service answered ($oks)" "$oks" \
	"$(metric "$TMP/m2" 'http_server_request_duration_seconds_count{service="flaky",http_request_method="GET",http_response_status_code="200",http_route="/ok"}')"
bash "$ROOT/scripts/stack.sh" down >/dev/null
bash "$ROOT/scripts/stack.sh" status >/dev/null && bad "stack still running after down" || ok "stack.sh down stopped it"
finish
