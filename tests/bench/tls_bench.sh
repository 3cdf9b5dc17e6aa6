#!/usr/bin/env bash
# tls_bench.sh -- what each capture path adds per request on nginx over HTTPS, next to the same nginx over plain
# HTTP: wrk keep-alive against nginx (master + 1 worker, a 700-byte page), untraced, under eBPF (obsprobe attach:
# OpenSSL uprobes for HTTPS) and under the shim (obsprobe run --preload: SSL_* interposed).  Rounds interleave the
# modes; each mode's figure is the median over the rounds, and the cost ratio is against the untraced figure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
DUR=${TLS_DUR:-4}
REPS=${REPS:-3}
CONNS=${TLS_CONNS:-4}
TMP=$(mktemp -d /tmp/obsprobe-tlsbench.XXXXXX)
chmod 755 "$TMP"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { local i; for i in $(seq 1 100); do curl -skf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "(nginx or wrk missing: no TLS bench)"; exit 0; }
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
	>/dev/null 2>&1 || { echo "(openssl could not make a certificate: no TLS bench)"; exit 0; }
head -c 700 /dev/zero | tr '\0' x >"$TMP/page.html"

# one SCHEME MODE -> "req_per_sec avg_latency_us".  nginx and wrk share CPU 1; the collector runs on CPU 0.
one() {
	local scheme=$1 mode=$2 np lp obs="" master="" d=$TMP/ngx.$1.$2 ssl=""
	np=$(port) lp=$(port)
	rm -rf "$d"; mkdir -p "$d/logs"
	[ "$scheme" = https ] && ssl="ssl"
	cat >"$d/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
	access_log off;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$np $ssl;
		ssl_certificate $TMP/cert.pem;
		ssl_certificate_key $TMP/key.pem;
		root $TMP;
		location / { try_files /page.html =404; }
	}
}
NGX
	case $mode in
	none | ebpf) taskset -c 1 nginx -c "$d/nginx.conf" -p "$d" 2>>"$d/err" & master=$! ;;
	shim) taskset -c 0 "$B/obsprobe" run --preload --listen 127.0.0.1:$lp --spans-file /dev/null -q -- \
		taskset -c 1 nginx -c "$d/nginx.conf" -p "$d" 2>>"$d/err" & obs=$! ;;
	esac
	up "$scheme://127.0.0.1:$np/" || { echo "nginx ($scheme, $mode) did not serve" >&2; return 1; }
	if [ "$mode" = ebpf ]; then
		taskset -c 0 "$B/obsprobe" attach --pid $master --listen 127.0.0.1:$lp --spans-file /dev/null -q \
			2>"$d/obs.err" & obs=$!
		up "http://127.0.0.1:$lp/health/ready" || { cat "$d/obs.err" >&2; return 1; }
	fi
	taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "$scheme://127.0.0.1:$np/" >"$TMP/wrk" 2>&1
	if [ "$mode" = shim ]; then master=$(cat "$d/nginx.pid" 2>/dev/null); fi
	[ -n "$master" ] && kill -QUIT "$master" 2>/dev/null
	[ -n "$obs" ] && kill -INT "$obs" 2>/dev/null
	wait 2>/dev/null
	awk '/Requests\/sec/{r=$2} /^ +Latency +[0-9]/{l=$2} END{
		v=l+0; if (l ~ /ms$/) v*=1000; else if (l ~ /us$/) v*=1; else if (l ~ /s$/) v*=1e6; print r, v}' "$TMP/wrk"
}
median() { sort -n -k1 | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'; }

modes="none ebpf shim"
for r in $(seq 1 "$REPS"); do
	for s in http https; do
		for m in $modes; do one $s $m >>"$TMP/res.$s.$m"; done
	done
done
row() { # name "rps lat" base
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{ split(a, x, " "); split(b, y, " ");
		printf "| %s | %.0f | %.1f | %+.1f | %.2fx |\n", n, x[1], 1e6/x[1], 1e6/x[1]-1e6/y[1], y[1]/x[1] }'
}
printf '| nginx, 700-byte page, keep-alive, wrk -t1 -c%s (%ss, median of %s interleaved rounds) | req/s | us/request (1/rate) | added us/request | cost ratio |\n|---|---|---|---|---|\n' \
	"$CONNS" "$DUR" "$REPS"
for s in http https; do
	base=$(median <"$TMP/res.$s.none")
	row "$s untraced" "$base" "$base"
	row "$s eBPF (obsprobe attach, spans built)" "$(median <"$TMP/res.$s.ebpf")" "$base"
	row "$s shim (obsprobe run --preload, spans built)" "$(median <"$TMP/res.$s.shim")" "$base"
done
