#!/usr/bin/env bash
# stack.sh -- a local Prometheus and Alertmanager (Debian's packages) on loopback: Prometheus scrapes obsprobe
# collectors and evaluates the rules, Alertmanager sends what fires to a webhook (by default a small receiver this
# script starts, which writes each notification as one JSON line to $DIR/notifications.log).
# usage: scripts/stack.sh up [HOST:PORT...] | down | status
# env:   OBSPROBE_STACK_DIR (state, default /tmp/obsprobe-stack), PROM_PORT (default 9090),
#        SCRAPE_INTERVAL (default 5s), EVAL_INTERVAL (rule evaluation, default SCRAPE_INTERVAL),
#        RULES_FILE (default alerts/obsprobe.rules.yml),
#        AM_PORT (Alertmanager, default PROM_PORT+3: 9093), ALERT_WEBHOOK_URL (where Alertmanager posts; default
#        the receiver started here on WEBHOOK_PORT, default PROM_PORT+5: 9095), ALERTMANAGER=0 (no Alertmanager),
#        AM_GROUP_WAIT (default 30s), AM_GROUP_INTERVAL (default 5m), AM_REPEAT_INTERVAL (default 4h)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${OBSPROBE_STACK_DIR:-/tmp/obsprobe-stack}
PORT=${PROM_PORT:-9090}
INTERVAL=${SCRAPE_INTERVAL:-5s}
EVAL=${EVAL_INTERVAL:-$INTERVAL}
RULES=${RULES_FILE:-$ROOT/alerts/obsprobe.rules.yml}
AM=${ALERTMANAGER:-1}
AMPORT=${AM_PORT:-$((PORT + 3))}
SINKPORT=${WEBHOOK_PORT:-$((PORT + 5))}
HOOK=${ALERT_WEBHOOK_URL:-}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

pidfile() { echo "$DIR/$1.pid"; }
running() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }
# ready NAME URL: wait (at most 10 s) for URL to answer while NAME runs
ready() {
	for _ in $(seq 1 100); do
		curl -sf "$2" >/dev/null && return 0
		running "$1" || break
		sleep 0.1
	done
	curl -sf "$2" >/dev/null
}
stop() {
	local f
	f=$(pidfile "$1")
	if running "$1"; then
		kill "$(cat "$f")"
		echo "stack: stopped $1 (pid $(cat "$f"))"
	fi
	rm -f "$f"
}
stop_all() { for c in prometheus alertmanager webhook; do stop $c; done; }
fail() { echo "stack: $1 did not start:" >&2; tail -5 "$DIR/$1.log" >&2; stop_all >/dev/null; exit 1; }

# the default receiver: every POST body (one Alertmanager notification) as one line of notifications.log
write_sink() {
	cat >"$DIR/webhook.py" <<'EOF'
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            n = json.loads(body)
            line = json.dumps(n, separators=(",", ":"))
            names = ",".join(a["labels"].get("alertname", "?") + "/" + a["status"] for a in n.get("alerts", []))
            print("notification: %s %s" % (n.get("status"), names), flush=True)
        except ValueError:
            line = json.dumps({"unparsed": body.decode("utf-8", "replace")})
        with open(out, "a") as f:
            f.write(line + "\n")
        self.send_response(200)
        self.end_headers()
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"obsprobe stack webhook receiver\n")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
EOF
}

case "${1:-}" in
up)
	shift
	command -v prometheus >/dev/null || { echo "stack: prometheus is not installed (scripts/install-deps.sh)" >&2; exit 1; }
	if [ "$AM" != 0 ] && ! command -v prometheus-alertmanager >/dev/null; then
		echo "stack: prometheus-alertmanager is not installed (scripts/install-deps.sh), or run with ALERTMANAGER=0" >&2
		exit 1
	fi
	if running prometheus; then echo "stack: already running (pid $(cat "$(pidfile prometheus)")): http://127.0.0.1:$PORT"; exit 0; fi
	targets=("$@")
	[ ${#targets[@]} -gt 0 ] || targets=(127.0.0.1:9464)
	mkdir -p "$DIR/data" "$DIR/am-data"
	cp "$RULES" "$DIR/obsprobe.rules.yml"
	if [ "$AM" != 0 ]; then
		if [ -z "$HOOK" ]; then
			HOOK=http://127.0.0.1:$SINKPORT/alerts
			write_sink
			$PY "$DIR/webhook.py" "$SINKPORT" "$DIR/notifications.log" >"$DIR/webhook.log" 2>&1 &
			echo $! >"$(pidfile webhook)"
		fi
		cat >"$DIR/alertmanager.yml" <<EOF
route:
  receiver: webhook
  group_by: [alertname, service]
  group_wait: ${AM_GROUP_WAIT:-30s}
  group_interval: ${AM_GROUP_INTERVAL:-5m}
  repeat_interval: ${AM_REPEAT_INTERVAL:-4h}
receivers:
  - name: webhook
    webhook_configs:
      - url: '$HOOK'
        send_resolved: true
EOF
		# --cluster.listen-address= : a single Alertmanager, no gossip port
		prometheus-alertmanager --config.file="$DIR/alertmanager.yml" --storage.path="$DIR/am-data" \
			--web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= >"$DIR/alertmanager.log" 2>&1 &
		echo $! >"$(pidfile alertmanager)"
		ready alertmanager "http://127.0.0.1:$AMPORT/-/ready" || fail alertmanager
	fi
	{
		echo "global: { scrape_interval: $INTERVAL, evaluation_interval: $EVAL }"
		echo "rule_files: [ obsprobe.rules.yml ]"
		if [ "$AM" != 0 ]; then
			echo "alerting:"
			echo "  alertmanagers: [ { static_configs: [ { targets: ['127.0.0.1:$AMPORT'] } ] } ]"
		fi
		echo "scrape_configs:"
		echo "  - job_name: obsprobe"
		echo "    static_configs:"
		printf "      - targets: [%s]\n" "$(printf "'%s'," "${targets[@]}" | sed 's/,$//')"
	} >"$DIR/prometheus.yml"
	prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
		--web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle >"$DIR/prometheus.log" 2>&1 &
	echo $! >"$(pidfile prometheus)"
	ready prometheus "http://127.0.0.1:$PORT/-/ready" || fail prometheus
	if running webhook; then
		ready webhook "http://127.0.0.1:$SINKPORT/" || fail webhook
	fi
	echo "stack: prometheus at http://127.0.0.1:$PORT (graph: /graph, alerts: /alerts, targets: /targets)"
	echo "stack: scraping ${targets[*]} every $INTERVAL; state in $DIR"
	if [ "$AM" != 0 ]; then
		echo "stack: alertmanager at http://127.0.0.1:$AMPORT, notifying $HOOK$(running webhook && echo " (written to $DIR/notifications.log)")"
	fi
	;;
down)
	if running prometheus || running alertmanager || running webhook; then stop_all; else echo "stack: not running"; fi
	;;
status)
	rc=1
	for c in prometheus alertmanager webhook; do
		if running $c; then echo "stack: $c running (pid $(cat "$(pidfile $c)"))"; rc=0; fi
	done
	[ $rc = 0 ] || echo "stack: not running"
	exit $rc
	;;
*)
	echo "usage: $0 up [HOST:PORT...] | down | status" >&2
	exit 2
	;;
esac
