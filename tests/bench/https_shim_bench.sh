#!/usr/bin/env bash
# https_shim_bench.sh -- what the shim's TLS capture adds per HTTPS request: wrk over keep-alive HTTPS against nginx
# (ssl, one worker), untraced and under the shim (obsprobe run --preload, spans built), interleaved in one run.
# nginx and wrk share CPU 1 (the request's work, the shim's included, is on that core); the collector runs on CPU 0.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
DUR=${HTTP_DUR:-5}
REPS=${REPS:-3}
TMP=$(mktemp -d /tmp/obsprobe-httpsbench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { local i; for i in $(seq 1 100); do curl -skf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null

# one MODE -> "req_per_sec avg_latency_us"
one() {
	local mode=$1 hp lp obs pid
	hp=$(port) lp=$(port)
	mkdir -p "$TMP/ngx.$hp/logs"
	cat >"$TMP/ngx.$hp/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $TMP/ngx.$hp/nginx.pid;
error_log $TMP/ngx.$hp/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $TMP/b; proxy_temp_path $TMP/p; fastcgi_temp_path $TMP/f; uwsgi_temp_path $TMP/u; scgi_temp_path $TMP/s;
  server { listen 127.0.0.1:$hp ssl; ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;
           location / { return 200 "ok\n"; } }
}
NGX
	case $mode in
	none) taskset -c 1 nginx -c "$TMP/ngx.$hp/nginx.conf" -p "$TMP/ngx.$hp" 2>/dev/null & obs=$! ;;
	shim) taskset -c 0 "$B/obsprobe" run --preload --listen 127.0.0.1:$lp --spans-file /dev/null -q -- \
		taskset -c 1 nginx -c "$TMP/ngx.$hp/nginx.conf" -p "$TMP/ngx.$hp" >/dev/null 2>&1 & obs=$! ;;
	esac
	up "https://127.0.0.1:$hp/" || return 1
	taskset -c 1 wrk -t1 -c1 -d"${DUR}s" --latency "https://127.0.0.1:$hp/api/users/1" >"$TMP/wrk" 2>&1
	pid=$(cat "$TMP/ngx.$hp/nginx.pid")
	kill "$pid" 2>/dev/null
	[ "$mode" = shim ] && kill -INT $obs 2>/dev/null
	wait 2>/dev/null
	awk '/Requests\/sec/{r=$2} /^ +Latency +[0-9]/{l=$2} END{
		v=l+0; if (l ~ /ms$/) v*=1000; else if (l ~ /us$/) v*=1; else if (l ~ /s$/) v*=1e6; print r, v}' "$TMP/wrk"
}
median() { sort -n -k1 | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'; }
for i in $(seq 1 "$REPS"); do
	one none >>"$TMP/none"
	one shim >>"$TMP/shim"
done
base=$(median <"$TMP/none")
shim=$(median <"$TMP/shim")
row() { # name "rps lat" base
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{ split(a, x, " "); split(b, y, " ");
		printf "| %s | %.0f | %.1f | %.1f | %+.1f | %.2fx |\n", n, x[1], x[2], 1e6/x[1], 1e6/x[1]-1e6/y[1], y[1]/x[1] }'
}
printf '| HTTPS keep-alive GET to nginx, wrk -t1 -c1 (%ss, median of %s) | req/s | wrk avg latency us | us/request (1/rate) | added us/request | cost ratio |\n|---|---|---|---|---|---|\n' "$DUR" "$REPS"
row "untraced" "$base" "$base"
row "shim (obsprobe run --preload, TLS plaintext parsed, spans built)" "$shim" "$base"
