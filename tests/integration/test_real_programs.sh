#!/usr/bin/env bash
# test_real_programs.sh -- obsprobe on programs nobody here wrote: nginx (attached by the master's pid,
# workers serving), redis-server, python's http.server. Counts are checked against the work sent and
# against bpftrace counting the same syscalls in the same run.
source "$(dirname "$0")/lib.sh"
need_root
command -v bpftrace >/dev/null || { echo "SKIP: bpftrace missing"; exit 77; }

# bt_start "PID..." SYSCALL OUTFILE: a bpftrace counter of those processes' calls in the background; its pid in BT
# (by pid, not comm: another nginx on the machine must not count; bpftrace prints "Attaching" before its probes are
# live, and runs BEGIN once they are: "ready" is the sign)
bt_start() {
	local p pred=""
	for p in $1; do pred="${pred:+$pred || }pid == $p"; done
	bpftrace -e "BEGIN { printf(\"ready\\n\"); } tracepoint:syscalls:sys_enter_$2 /$pred/ { @n = count(); }" >"$3" 2>&1 &
	BT=$!
}
bt_wait() { wait_for 120 grep -qx ready "$1" || bad "bpftrace did not attach in 120 s: $(head -c 300 "$1")"; }
bt_stop() { kill -INT "$1"; wait "$1" 2>/dev/null; sleep 0.2; awk '/^@n:/{print $2}' "$2"; }
obs_start() { # PID PORT [args]: attach in the background, wait until ready
	local pid=$1 port=$2
	shift 2
	"$OBSPROBE" attach --pid "$pid" --listen 127.0.0.1:$port -q "$@" 2>"$TMP/obs.$port.err" &
	PIDS+=($!)
	wait_for 30 curl -sf "http://127.0.0.1:$port/health/ready" || bad "obsprobe on pid $pid did not start: $(cat "$TMP/obs.$port.err")"
}

# ---- nginx: master + 2 workers; attach to the master ----
if command -v nginx >/dev/null; then
	NPORT=$(free_port) MPORT=$(free_port) UPORT=$(free_port)
	mkdir -p "$TMP/ngx/logs"
	cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 2;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f; uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  server { listen 127.0.0.1:$NPORT; location / { return 200 "ok\n"; } location /up/ { proxy_pass http://127.0.0.1:$UPORT/; } }
  server { listen 127.0.0.1:$UPORT; location / { return 200 "upstream\n"; } }
}
NGX
	nginx -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" || bad "nginx did not start"
	wait_for 5 test -s "$TMP/ngx/nginx.pid"
	NMASTER=$(cat "$TMP/ngx/nginx.pid")
	PIDS+=($NMASTER)
	obs_start $NMASTER $MPORT --func 'ngx_http_process_request' --spans-file "$TMP/ngx.spans"
	bt_start "$NMASTER $(pgrep -P "$NMASTER" | tr '\n' ' ')" writev "$TMP/bt.ngx"
	bt_wait "$TMP/bt.ngx"
	N=300
	urls=(); for i in $(seq 1 $N); do urls+=("http://127.0.0.1:$NPORT/r$i"); done
	curl -s --max-time 60 "${urls[@]}" >/dev/null
	sleep 0.5
	btn=$(bt_stop $BT "$TMP/bt.ngx")
	scrape $MPORT >"$TMP/m.ngx"
	check "nginx: ngx_http_process_request calls = requests sent" $N \
		"$(metric "$TMP/m.ngx" 'obsprobe_function_duration_seconds_count{service="nginx",function="ngx_http_process_request",object="nginx"}')"
	check "nginx: writev count equals bpftrace's" "$btn" \
		"$(metric "$TMP/m.ngx" 'obsprobe_syscall_duration_seconds_count{service="nginx",syscall="writev"}')"
	check "nginx: one inbound TCP connection for the keep-alive batch" 1 \
		"$(metric "$TMP/m.ngx" 'obsprobe_tcp_connections_total{service="nginx",direction="inbound"}')"
	check "nginx: tcp responses = requests" $N \
		"$(metric "$TMP/m.ngx" 'obsprobe_socket_io_duration_seconds_count{service="nginx",direction="transmit",protocol="tcp"}')"
	check "nginx: http_server_request_duration_seconds_count = requests" $N \
		"$(awk '/^http_server_request_duration_seconds_count\{service="nginx",http_request_method="GET",http_response_status_code="200",http_route="\/r[0-9]*"/' "$TMP/m.ngx" | wc -l)"
	curl -sf "http://127.0.0.1:$MPORT/api/v1/targets" | python3 -c "import json,sys; t=json.load(sys.stdin)['targets']; sys.exit(0 if len(t)==3 else 1)" \
		&& ok "nginx: master and both workers are targets" || bad "nginx targets: $(curl -s http://127.0.0.1:$MPORT/api/v1/targets)"
	# propagation through nginx: each format, and a proxied request joined by 4-tuple to the upstream server span
	curl -s -o /dev/null -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' "http://127.0.0.1:$NPORT/w3c"
	curl -s -o /dev/null -H 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' "http://127.0.0.1:$NPORT/b3"
	curl -s -o /dev/null -H 'X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' \
		"http://127.0.0.1:$NPORT/up/xray"
	sleep 1
	kill -INT "${PIDS[-1]}"
	wait "${PIDS[-1]}"
	python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/ngx.spans" >"$TMP/ngx.dump"
	sp() { grep "url.path=$1 " "$TMP/ngx.dump" | grep "$2" | head -1; }
	check "nginx: W3C server span trace/parent" "0af7651916cd43dd8448eb211c80319c b7ad6b7169203331" \
		"$(sp /w3c SPAN_KIND_SERVER | cut -d' ' -f1,3)"
	check "nginx: B3 server span trace/parent" "80f198ee56343ba864fe8b2a57d3eff7 e457b5a2e4d86bd1" \
		"$(sp /b3 SPAN_KIND_SERVER | cut -d' ' -f1,3)"
	front=$(sp /up/xray SPAN_KIND_SERVER)
	client=$(grep SPAN_KIND_CLIENT "$TMP/ngx.dump" | grep 5759e988bd862e3fe1be46a994272793 | head -1)
	upstream=$(sp /xray SPAN_KIND_SERVER)
	check "nginx: X-Ray front span parent" 53995c3f42cd8ad8 "$(echo "$front" | cut -d' ' -f3)"
	check "nginx: proxy client span is a child of the front span" "$(echo "$front" | cut -d' ' -f2)" "$(echo "$client" | cut -d' ' -f3)"
	check "nginx: upstream span joins the proxy's client span (4-tuple)" \
		"5759e988bd862e3fe1be46a994272793 $(echo "$client" | cut -d' ' -f2)" "$(echo "$upstream" | cut -d' ' -f1,3)"
	kill $NMASTER
else
	echo "SKIP nginx: not installed"
fi

# ---- redis-server under redis-benchmark ----
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
	RPORT=$(free_port) MPORT=$(free_port)
	redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$TMP/redis.log" 2>&1 &
	RPID=$!
	PIDS+=($RPID)
	wait_for 10 redis-cli -p $RPORT ping || bad "redis did not start"
	obs_start $RPID $MPORT
	bt_start "$RPID" write "$TMP/bt.redis"
	bt_wait "$TMP/bt.redis"
	redis-benchmark -p $RPORT -n 2000 -c 4 -t set,get -q >/dev/null
	sleep 0.5
	btn=$(bt_stop $BT "$TMP/bt.redis")
	scrape $MPORT >"$TMP/m.redis"
	check "redis: write count equals bpftrace's" "$btn" \
		"$(metric "$TMP/m.redis" 'obsprobe_syscall_duration_seconds_count{service="redis-server",syscall="write"}')"
	w=$(metric "$TMP/m.redis" 'obsprobe_syscall_duration_seconds_count{service="redis-server",syscall="write"}')
	[ "${w:-0}" -ge 4000 ] && ok "redis: at least one write per command (4000 commands: $w)" || bad "redis writes: $w"
	kill $RPID
else
	echo "SKIP redis: not installed"
fi

# ---- python3 -m http.server: one accept per request (HTTP/1.0, no keep-alive) ----
PPORT=$(free_port) MPORT=$(free_port)
mkdir -p "$TMP/www" && echo hi >"$TMP/www/index.html"
python3 -m http.server $PPORT --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
PYPID=$!
PIDS+=($PYPID)
wait_for 10 curl -sf "http://127.0.0.1:$PPORT/" || bad "http.server did not start"
PYCOMM=$(cat /proc/$PYPID/comm)
obs_start $PYPID $MPORT --log-file "$TMP/py.logs" --spans-file "$TMP/py.spans"
N=50
for i in $(seq 1 $N); do curl -s -o /dev/null "http://127.0.0.1:$PPORT/"; done
sleep 0.5
scrape $MPORT >"$TMP/m.py"
check "python http.server: accept4 count = requests" $N \
	"$(metric "$TMP/m.py" "obsprobe_syscall_duration_seconds_count{service=\"$PYCOMM\",syscall=\"accept4\"}")"
check "python http.server: inbound TCP connections = requests" $N \
	"$(metric "$TMP/m.py" "obsprobe_tcp_connections_total{service=\"$PYCOMM\",direction=\"inbound\"}")"
check "python http.server: none left active" 0 \
	"$(metric "$TMP/m.py" "obsprobe_tcp_connections_active{service=\"$PYCOMM\",direction=\"inbound\"}")"
b=$(metric "$TMP/m.py" "obsprobe_socket_bytes_total{service=\"$PYCOMM\",direction=\"transmit\",protocol=\"tcp\"}")
[ "${b:-0}" -ge $((N * 100)) ] && ok "python http.server: tcp bytes transmitted ($b for $N responses)" || bad "python bytes: $b"
promtool check metrics <"$TMP/m.py" >/dev/null 2>&1 && ok "promtool accepts the python scrape" || bad "promtool on python scrape"
# its own access log (stderr, written while the request is served) carries the trace we sent, minus the secret
curl -s -o /dev/null -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
	"http://127.0.0.1:$PPORT/?password=hunter2&card=4111111111111111"
sleep 1
kill -INT "${PIDS[-1]}"
wait "${PIDS[-1]}"
python3 "$ROOT/tests/otlp/otlpdump.py" logs "$TMP/py.logs" >"$TMP/py.dump"
line=$(grep 4bf92f3577b34da6a3ce929d0e0e4736 "$TMP/py.dump")
span=$(python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/py.spans" | grep 4bf92f3577b34da6a3ce929d0e0e4736)
check "python: the access log line carries the trace and server span" \
	"4bf92f3577b34da6a3ce929d0e0e4736 $(echo "$span" | cut -d' ' -f2)" "$(echo "$line" | cut -d' ' -f1,2)"
check "python: access log records = requests (one line each)" $((N + 1)) "$(grep -c '"GET /' "$TMP/py.dump")"
grep -qaF -e hunter2 -e 4111111111111111 "$TMP/py.logs" "$TMP/py.spans" && bad "python: a secret leaked" || ok "python: secrets redacted"
finish
