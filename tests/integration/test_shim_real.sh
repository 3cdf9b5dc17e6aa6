#!/usr/bin/env bash
# test_shim_real.sh -- the shim on programs nobody here wrote, without root: nginx (master + workers),
# redis-server under redis-benchmark, python's http.server; the collector is SIGKILLed mid-load.
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to become nobody"; exit 77; }
RT=$TMP/rt
mkdir -p "$RT" "$TMP/ngx/logs" "$TMP/www"
chown -R nobody "$RT" "$TMP/ngx" "$TMP/www"
# an array, not a function: "${NB[@]}" cmd & leaves $! the program's own pid
NB=(setpriv --reuid=nobody --regid=nogroup --clear-groups env OBSPROBE_RUNTIME_DIR=$RT)
MPORT=$(free_port)
"${NB[@]}" "$OBSPROBE" serve --listen 127.0.0.1:$MPORT --duration 120 -q 2>"$TMP/serve.err" &
SERVE=$!
PIDS+=($SERVE)
wait_for 10 curl -sf "http://127.0.0.1:$MPORT/health/ready" || { bad "serve did not start: $(cat "$TMP/serve.err")"; finish; }

# nginx, master + 2 workers, as nobody with the shim in its environment
NPORT=$(free_port)
cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f; uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  server { listen 127.0.0.1:$NPORT; location / { return 200 "ok\n"; } }
}
NGX
chown nobody "$TMP/ngx/nginx.conf"
"${NB[@]}" LD_PRELOAD=$SHIM OBSPROBE_SERVICE=nginx nginx -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" 2>"$TMP/ngx.err" &
NGX=$!
PIDS+=($NGX)
wait_for 10 curl -sf "http://127.0.0.1:$NPORT/" || bad "nginx with the shim did not serve: $(cat "$TMP/ngx.err")"
sleep 0.5
scrape $MPORT >"$TMP/mn0"
n0=$(metric "$TMP/mn0" 'obsprobe_syscall_duration_seconds_count{service="nginx",syscall="writev"}')
c0=$(metric "$TMP/mn0" 'obsprobe_tcp_connections_total{service="nginx",direction="inbound"}')
b0=$(metric "$TMP/mn0" 'obsprobe_socket_bytes_total{service="nginx",direction="transmit",protocol="tcp"}')
N=400
urls=(); for i in $(seq 1 $N); do urls+=("http://127.0.0.1:$NPORT/r$i"); done
curl -s --max-time 60 "${urls[@]}" >"$TMP/ngx.out"
check "nginx with the shim answers every request" $N "$(grep -c '^ok$' "$TMP/ngx.out")"

# python http.server
PPORT=$(free_port)
echo hi >"$TMP/www/index.html"
"${NB[@]}" LD_PRELOAD=$SHIM OBSPROBE_SERVICE=pyhttp python3 -m http.server $PPORT --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
PY=$!
PIDS+=($PY)
wait_for 10 curl -sf "http://127.0.0.1:$PPORT/" >/dev/null || bad "http.server with the shim did not start"
sleep 0.5
scrape $MPORT >"$TMP/m0"
a0=$(metric "$TMP/m0" 'obsprobe_syscall_duration_seconds_count{service="pyhttp",syscall="accept4"}')
pc0=$(metric "$TMP/m0" 'obsprobe_tcp_connections_total{service="pyhttp",direction="inbound"}')
for i in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PPORT/"; done

# redis under redis-benchmark; the collector is killed in the middle of it
RPORT=$(free_port)
"${NB[@]}" LD_PRELOAD=$SHIM OBSPROBE_SERVICE=redis redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no >"$TMP/redis.log" 2>&1 &
RS=$!
PIDS+=($RS)
wait_for 10 redis-cli -p $RPORT ping || bad "redis with the shim did not start"
sleep 0.7
scrape $MPORT >"$TMP/m1"
check "nginx: one writev per request (workers counted)" $(( ${n0:-0} + N )) "$(metric "$TMP/m1" 'obsprobe_syscall_duration_seconds_count{service="nginx",syscall="writev"}')"
check "python http.server: one accept per request" $(( ${a0:-0} + 50 )) "$(metric "$TMP/m1" 'obsprobe_syscall_duration_seconds_count{service="pyhttp",syscall="accept4"}')"
check "nginx: one inbound TCP connection for 400 keep-alive requests" $(( ${c0:-0} + 1 )) \
	"$(metric "$TMP/m1" 'obsprobe_tcp_connections_total{service="nginx",direction="inbound"}')"
b1=$(metric "$TMP/m1" 'obsprobe_socket_bytes_total{service="nginx",direction="transmit",protocol="tcp"}')
# each response: a status line and headers (~150 bytes) plus "ok\n"
[ $(( ${b1:-0} - ${b0:-0} )) -ge $((N * 100)) ] && ok "nginx: tcp bytes transmitted counted ($(( ${b1:-0} - ${b0:-0} )) for $N responses)" || bad "nginx bytes: $b0 -> $b1"
check "python http.server: one inbound TCP connection per request" $(( ${pc0:-0} + 50 )) \
	"$(metric "$TMP/m1" 'obsprobe_tcp_connections_total{service="pyhttp",direction="inbound"}')"
check "python http.server: no connection left active" 0 \
	"$(metric "$TMP/m1" 'obsprobe_tcp_connections_active{service="pyhttp",direction="inbound"}')"
curl -sf "http://127.0.0.1:$MPORT/api/v1/targets" | python3 -c "
import json,sys; t=json.load(sys.stdin)['targets']; n=[x for x in t if x['comm']=='nginx' and x['mode']=='preload']; sys.exit(0 if len(n)==3 else 1)" \
	&& ok "targets: nginx master and both workers, mode preload" || bad "targets: $(curl -s http://127.0.0.1:$MPORT/api/v1/targets)"

redis-benchmark -p $RPORT -n 20000 -c 4 -t set -q >"$TMP/rb.out" 2>&1 &
RB=$!
sleep 0.5
kill -9 $SERVE
wait $RB
check "redis-benchmark completes with the collector killed mid-load" 0 $?
redis-cli -p $RPORT dbsize | grep -qx 1 && ok "redis still serves after the collector died" || bad "redis after kill"
curl -sf "http://127.0.0.1:$NPORT/" | grep -q ok && ok "nginx still serves after the collector died" || bad "nginx after kill"

# a new collector picks the counts up where they are
MPORT2=$(free_port)
"${NB[@]}" "$OBSPROBE" serve --listen 127.0.0.1:$MPORT2 --duration 60 -q 2>/dev/null &
PIDS+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$MPORT2/health/ready"
sleep 0.5
scrape $MPORT2 >"$TMP/m2"
w=$(metric "$TMP/m2" 'obsprobe_syscall_duration_seconds_count{service="redis",syscall="write"}')
[ "${w:-0}" -ge 20000 ] && ok "redis: every SET answered with a counted write ($w writes for 20000 commands)" || bad "redis writes: $w"
kill $NGX $PY $RS 2>/dev/null
finish
