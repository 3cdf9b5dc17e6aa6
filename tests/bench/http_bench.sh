#!/usr/bin/env bash
# http_bench.sh -- what each capture path adds per HTTP request: wrk against a keep-alive server (tests/targets/httpd,
# one process), untraced, under eBPF (obsprobe attach, spans built), and under the shim (obsprobe run --preload).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
DUR=${HTTP_DUR:-5}
REPS=${REPS:-3}
TMP=$(mktemp -d /tmp/obsprobe-httpbench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { local i; for i in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

# one MODE -> "req_per_sec avg_latency_us".  The server and wrk share CPU 1 (each request's work, the probes' and
# the shim's included, is on that core); the collector runs on CPU 0.
one() {
	local mode=$1 hp lp pid="" obs=""
	hp=$(port) lp=$(port)
	case $mode in
	none) taskset -c 1 "$B/targets/httpd" "$hp" 0 >/dev/null 2>&1 & pid=$! ;;
	ebpf) taskset -c 1 "$B/targets/httpd" "$hp" 0 >/dev/null 2>&1 & pid=$!
		up "http://127.0.0.1:$hp/" || return 1
		taskset -c 0 "$B/obsprobe" attach --pid $pid --listen 127.0.0.1:$lp --spans-file /dev/null -q 2>/dev/null & obs=$!
		up "http://127.0.0.1:$lp/health/ready" ;;
	shim) taskset -c 0 "$B/obsprobe" run --preload --listen 127.0.0.1:$lp --spans-file /dev/null -q -- \
		taskset -c 1 "$B/targets/httpd" "$hp" 0 >/dev/null 2>&1 & obs=$! ;;
	esac
	up "http://127.0.0.1:$hp/" || return 1
	taskset -c 1 wrk -t1 -c1 -d"${DUR}s" --latency "http://127.0.0.1:$hp/api/users/1" >"$TMP/wrk" 2>&1
	[ "$mode" = shim ] && pid=$(pgrep -P $obs)
	[ -n "$pid" ] && kill $pid 2>/dev/null
	[ -n "$obs" ] && kill -INT $obs 2>/dev/null
	wait 2>/dev/null
	awk '/Requests\/sec/{r=$2} /^ +Latency +[0-9]/{l=$2} END{
		v=l+0; if (l ~ /ms$/) v*=1000; else if (l ~ /us$/) v*=1; else if (l ~ /s$/) v*=1e6; print r, v}' "$TMP/wrk"
}
median() { sort -n -k1 | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'; }
m() { local i; for i in $(seq 1 "$REPS"); do one "$1"; done | median; }

base=$(m none)
ebpf=$(m ebpf)
shim=$(m shim)
row() { # name "rps lat" base
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{ split(a, x, " "); split(b, y, " ");
		printf "| %s | %.0f | %.1f | %.1f | %+.1f | %.2fx |\n", n, x[1], x[2], 1e6/x[1], 1e6/x[1]-1e6/y[1], y[1]/x[1] }'
}
printf '| keep-alive GET, wrk -t1 -c1 (%ss, median of %s) | req/s | wrk avg latency us | us/request (1/rate) | added us/request | cost ratio |\n|---|---|---|---|---|---|\n' "$DUR" "$REPS"
row "untraced" "$base" "$base"
row "eBPF (obsprobe attach, spans built)" "$ebpf" "$base"
row "shim (obsprobe run --preload, spans built)" "$shim" "$base"
