#!/usr/bin/env bash
# stack.sh -- a local Prometheus (Debian's package) on loopback that scrapes obsprobe collectors and loads the rules.
# usage: scripts/stack.sh up [HOST:PORT...] | down | status
# env:   OBSPROBE_STACK_DIR (state, default /tmp/obsprobe-stack), PROM_PORT (default 9090),
#        SCRAPE_INTERVAL (default 5s)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${OBSPROBE_STACK_DIR:-/tmp/obsprobe-stack}
PORT=${PROM_PORT:-9090}
INTERVAL=${SCRAPE_INTERVAL:-5s}
PIDFILE=$DIR/prometheus.pid

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
up)
	shift
	command -v prometheus >/dev/null || { echo "stack: prometheus is not installed (scripts/install-deps.sh)" >&2; exit 1; }
	if running; then echo "stack: already running (pid $(cat "$PIDFILE")): http://127.0.0.1:$PORT"; exit 0; fi
	targets=("$@")
	[ ${#targets[@]} -gt 0 ] || targets=(127.0.0.1:9464)
	mkdir -p "$DIR/data"
	cp "$ROOT/alerts/obsprobe.rules.yml" "$DIR/obsprobe.rules.yml"
	{
		echo "global: { scrape_interval: $INTERVAL, evaluation_interval: $INTERVAL }"
		echo "rule_files: [ obsprobe.rules.yml ]"
		echo "scrape_configs:"
		echo "  - job_name: obsprobe"
		echo "    static_configs:"
		printf "      - targets: [%s]\n" "$(printf "'%s'," "${targets[@]}" | sed 's/,$//')"
	} >"$DIR/prometheus.yml"
	prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
		--web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle >"$DIR/prometheus.log" 2>&1 &
	echo $! >"$PIDFILE"
	for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.1; done
	running && curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null || { echo "stack: prometheus did not start:" >&2; tail -5 "$DIR/prometheus.log" >&2; exit 1; }
	echo "stack: prometheus at http://127.0.0.1:$PORT (graph: /graph, alerts: /alerts, targets: /targets)"
	echo "stack: scraping ${targets[*]} every $INTERVAL; state in $DIR"
	;;
down)
	if running; then kill "$(cat "$PIDFILE")"; echo "stack: stopped prometheus (pid $(cat "$PIDFILE"))"; else echo "stack: not running"; fi
	rm -f "$PIDFILE"
	;;
status)
	if running; then echo "stack: prometheus running (pid $(cat "$PIDFILE")) at http://127.0.0.1:$PORT"; else echo "stack: not running"; exit 1; fi
	;;
*)
	echo "usage: $0 up [HOST:PORT...] | down | status" >&2
	exit 2
	;;
esac
