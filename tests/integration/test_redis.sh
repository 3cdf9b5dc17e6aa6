#!/usr/bin/env bash
# test_redis.sh -- Redis spans and db_client_operation_duration_seconds on both capture paths, against the server's
# own counters: Debian's redis-server (requirepass, no persistence) under redis-benchmark, plain and pipelined
# (-P 16); per command, spans and metric counts equal the calls INFO commandstats reports between two reads.
# Also: a WRONGTYPE error, the AUTH password nowhere in any output, a database call made while serving an HTTP
# request is a CLIENT child of that server span, and (eBPF) the traced server's span joins its traced client's
# trace by 4-tuple.
source "$(dirname "$0")/lib.sh"
need_root
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "SKIP: redis-server/redis-tools missing (scripts/install-deps.sh)"; exit 77; }
SHIM=$ROOT/build/libobsshim.so
PASS="Rd5-pa55-$RANDOM$RANDOM"
N=2000 # requests per benchmarked command, per run
DUMP=$ROOT/tests/otlp/otlpdump.py

# the HTTP service: each GET /app opens a connection to Redis, AUTHs and GETs a key, from the serving thread
cat >"$TMP/app.py" <<'PY'
import http.server, socket, sys
port, rport, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def cmd(*a):
    return ("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a)).encode()
def call(s, *a):
    s.sendall(cmd(*a))
    return s.recv(4096)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with socket.create_connection(("127.0.0.1", rport)) as s:
            call(s, "AUTH", pw)
            call(s, "GET", "app:key")
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY

# start_redis DIR PORT [ENV...]: a throw-away server (no RDB, no AOF) with a password; its pid in $RS
start_redis() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\nrequirepass %s\nlogfile %s\n' \
		"$port" "$dir" "$PASS" "$dir/redis.log" >"$dir/redis.conf"
	env "$@" redis-server "$dir/redis.conf" >/dev/null 2>&1 &
	RS=$!
	PIDS+=($RS)
	wait_for 10 env REDISCLI_AUTH="$PASS" redis-cli -p "$port" ping || bad "redis-server did not start"
}

rcli() { REDISCLI_AUTH="$PASS" timeout 10 redis-cli -p "$RPORT" "$@"; }
# "COMMAND calls" per command (subcommands such as config|get summed into CONFIG), from INFO commandstats
stats() { rcli INFO commandstats | tr -d '\r' |
	sed -n 's/^cmdstat_\([a-z_-]*\)[^:]*:calls=\([0-9]*\).*/\1 \2/p' |
	awk '{ n[toupper($1)] += $2 } END { for (k in n) print k, n[k] }' | sort; }
# "OP count" per db_operation_name of service $2's Redis family in scrape file $1
ops() { sed -n "s/^db_client_operation_duration_seconds_count{service=\"$2\",db_system_name=\"redis\",db_operation_name=\"\\([A-Z_]*\\)\".* \\([0-9]*\\)\$/\\1 \\2/p" "$1" |
	awk '{ n[$1] += $2 } END { for (k in n) print k, n[k] }' | sort; }
# the per-command differences of two "NAME count" files, zeros left out
delta() { join -a 2 -e 0 -o 0,1.2,2.2 "$1" "$2" | awk '$3 - $2 != 0 { print $1, $3 - $2 }' | sort; }
bench() { timeout 60 redis-benchmark -h 127.0.0.1 -p "$RPORT" -a "$PASS" -t set,get,incr,lpush -n $N -c 4 -q "$@" \
	>"$TMP/bench.out" 2>&1 || bad "redis-benchmark $*: $(tail -2 "$TMP/bench.out")"; }
empty() { : >"$1"; }

# exact per-command comparison of one run: calls the server counted vs. metric counts
compare_run() { # name stats_before stats_after metrics_before metrics_after service
	delta "$2" "$3" >"$TMP/want"
	delta "$4" "$5" >"$TMP/got"
	check "$1: metric count per command = INFO commandstats calls" "$(tr '\n' ' ' <"$TMP/want")" \
		"$(tr '\n' ' ' <"$TMP/got")"
	grep -q '^SET [1-9]' "$TMP/want" || bad "$1: the benchmark's SETs did not reach the server"
}

# spans of service $2's Redis server side, "NAME count" sorted, from the decoded spans $1
server_spans() { grep ' SPAN_KIND_SERVER ' "$1" | grep 'db.system.name=redis' | awk '{ print $5 }' | sort | uniq -c |
	awk '{ print $2, $1 }' | sort; }

secrets_nowhere() { # label files...
	local f hit=0
	for f in "${@:2}"; do [ -e "$f" ] && grep -q -- "$PASS" "$f" && { bad "$1: the AUTH password is in $f"; hit=1; }; done
	[ $hit -eq 0 ] && ok "$1: the AUTH password is in no output ($(($# - 1)) files)"
}

http_parent() { # label decoded-spans: the app's Redis calls are CLIENT children of its HTTP server span
	local srv sid kids cli
	srv=$(grep ' SPAN_KIND_SERVER ' "$2" | grep 'url.path=/app ' | tail -1)
	sid=$(echo "$srv" | cut -d' ' -f2)
	[ -n "$sid" ] || { bad "$1: no HTTP server span for /app"; return; }
	kids=$(grep ' SPAN_KIND_CLIENT ' "$2" | grep 'db.system.name=redis' | awk -v p="$sid" '$3 == p')
	check "$1: the Redis calls made while serving /app are CLIENT children of its server span" "AUTH GET" \
		"$(echo "$kids" | awk '{ print $5 }' | sort | tr '\n' ' ' | sed 's/ $//')"
	check "$1: in its trace" "$(echo "$srv" | cut -d' ' -f1)" "$(echo "$kids" | cut -d' ' -f1 | sort -u)"
	cli=$(echo "$kids" | grep 'db.operation.name=GET')
	check "$1: CLIENT span attributes" "db.query.text=GET_? server.address=127.0.0.1 server.port=$RPORT" \
		"$(echo "$cli" | grep -o 'db.query.text=[^ ]*\|server.address=[^ ]*\|server.port=[^ ]*' | tr '\n' ' ' | sed 's/ $//')"
	CLIENT_SPAN=$(echo "$cli" | cut -d' ' -f2)
	CLIENT_TRACE=$(echo "$cli" | cut -d' ' -f1)
}

error_checks() { # label scrape decoded-spans service
	check "$1: WRONGTYPE counted with error_type" 1 \
		"$(metric "$2" "db_client_operation_duration_seconds_count{service=\"$4\",db_system_name=\"redis\",db_operation_name=\"LPUSH\",server_address=\"127.0.0.1\",error_type=\"WRONGTYPE\"}")"
	grep ' LPUSH STATUS_CODE_ERROR ' "$3" | grep -q 'db.response.status_code=WRONGTYPE' &&
		ok "$1: WRONGTYPE span has status ERROR and db.response.status_code" || bad "$1: no ERROR span for WRONGTYPE"
}

# ================= eBPF: obsprobe attach to redis-server and the HTTP app =================
RPORT=$(free_port) HPORT=$(free_port) LP=$(free_port)
start_redis "$TMP/r1" "$RPORT"
python3 "$TMP/app.py" "$HPORT" "$RPORT" "$PASS" &
APP=$!
PIDS+=($APP)
wait_for 10 curl -sf "http://127.0.0.1:$HPORT/app" || bad "app did not start"
stats >"$TMP/s0"
"$OBSPROBE" attach --pid "$RS" --pid "$APP" --listen "127.0.0.1:$LP" --spans-file "$TMP/e.spans.jsonl" \
	--log-file "$TMP/e.logs.jsonl" --duration 110 -q 2>"$TMP/e.err" &
OBS=$!
PIDS+=($OBS)
wait_for 15 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe attach not ready: $(cat "$TMP/e.err")"; finish; }
sleep 1
scrape "$LP" >"$TMP/e.m0"
ops "$TMP/e.m0" redis-server >"$TMP/e.o0"
bench
stats >"$TMP/s1"
sleep 1.5
scrape "$LP" >"$TMP/e.m1"
ops "$TMP/e.m1" redis-server >"$TMP/e.o1"
compare_run "eBPF plain" "$TMP/s0" "$TMP/s1" "$TMP/e.o0" "$TMP/e.o1"
bench -P 16
stats >"$TMP/s2"
sleep 1.5
scrape "$LP" >"$TMP/e.m2"
ops "$TMP/e.m2" redis-server >"$TMP/e.o2"
compare_run "eBPF -P 16" "$TMP/s1" "$TMP/s2" "$TMP/e.o1" "$TMP/e.o2"
rcli SET plain:str v >/dev/null
rcli LPUSH plain:str x >/dev/null
curl -sf -o /dev/null "http://127.0.0.1:$HPORT/app" || bad "eBPF: GET /app"
stats >"$TMP/s3"
sleep 1.5
scrape "$LP" >"$TMP/e.m3"
kill -INT $OBS
wait $OBS
check "eBPF: obsprobe exit status" 0 "$?"
python3 "$DUMP" spans "$TMP/e.spans.jsonl" >"$TMP/e.spans" || bad "eBPF: spans file decodes"
delta "$TMP/s0" "$TMP/s3" >"$TMP/want"
server_spans "$TMP/e.spans" >"$TMP/got"
check "eBPF: redis-server spans per command = INFO commandstats calls (whole session)" \
	"$(tr '\n' ' ' <"$TMP/want")" "$(tr '\n' ' ' <"$TMP/got")"
error_checks "eBPF" "$TMP/e.m3" "$TMP/e.spans" redis-server
http_parent "eBPF" "$TMP/e.spans"
# the traced server's GET of that call joins the client's trace by 4-tuple
join=$(grep ' SPAN_KIND_SERVER ' "$TMP/e.spans" | grep 'db.system.name=redis' | awk -v p="${CLIENT_SPAN:-x}" '$3 == p')
check "eBPF: redis-server's span joins the app's CLIENT span by 4-tuple" "${CLIENT_TRACE:-none} GET" \
	"$(echo "$join" | awk '{ print $1, $5 }')"
check "eBPF: nothing lost as unanswered" "" \
	"$(grep '^obsprobe_events_lost_total{.*reason="redis_' "$TMP/e.m3" | grep -v ' 0$')"
secrets_nowhere "eBPF" "$TMP/e.spans.jsonl" "$TMP/e.m3" "$TMP/e.logs.jsonl" "$TMP/e.err"
kill "$RS" "$APP" 2>/dev/null
wait "$RS" "$APP" 2>/dev/null

# ================= shim: obsprobe serve; redis-server and the app run with libobsshim.so =================
RT=$TMP/rt
mkdir -p "$RT"
chmod 1777 "$RT"
RPORT=$(free_port) HPORT=$(free_port) LP=$(free_port)
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$LP" --spans-file "$TMP/s.spans.jsonl" \
	--log-file "$TMP/s.logs.jsonl" --duration 110 -q 2>"$TMP/s.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/live" || { bad "obsprobe serve did not start"; finish; }
start_redis "$TMP/r2" "$RPORT" OBSPROBE_RUNTIME_DIR="$RT" OBSPROBE_SERVICE=redis LD_PRELOAD="$SHIM"
OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=app LD_PRELOAD=$SHIM python3 "$TMP/app.py" "$HPORT" "$RPORT" "$PASS" &
APP=$!
PIDS+=($APP)
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HPORT/nowhere" || bad "shim: app did not start"
stats >"$TMP/t0"
sleep 1.5
scrape "$LP" >"$TMP/s.m0"
ops "$TMP/s.m0" redis >"$TMP/s.o0"
bench
stats >"$TMP/t1"
sleep 1.5
scrape "$LP" >"$TMP/s.m1"
ops "$TMP/s.m1" redis >"$TMP/s.o1"
compare_run "shim plain" "$TMP/t0" "$TMP/t1" "$TMP/s.o0" "$TMP/s.o1"
bench -P 16
stats >"$TMP/t2"
sleep 1.5
scrape "$LP" >"$TMP/s.m2"
ops "$TMP/s.m2" redis >"$TMP/s.o2"
compare_run "shim -P 16" "$TMP/t1" "$TMP/t2" "$TMP/s.o1" "$TMP/s.o2"
rcli SET plain:str v >/dev/null
rcli LPUSH plain:str x >/dev/null
curl -sf -o /dev/null "http://127.0.0.1:$HPORT/app" || bad "shim: GET /app"
stats >"$TMP/t3"
sleep 1.5
scrape "$LP" >"$TMP/s.m3"
kill -INT $OBS
wait $OBS
check "shim: obsprobe exit status" 0 "$?"
python3 "$DUMP" spans "$TMP/s.spans.jsonl" >"$TMP/s.spans" || bad "shim: spans file decodes"
# the shim saw the server from its first command: every call INFO counted, and the INFO that read the last count
# (its own call is counted after it answers)
empty "$TMP/none"
{ delta "$TMP/none" "$TMP/t3"; echo "INFO 1"; } | awk '{ n[$1] += $2 } END { for (k in n) print k, n[k] }' |
	sort >"$TMP/want"
server_spans "$TMP/s.spans" >"$TMP/got"
check "shim: redis-server spans per command = INFO commandstats calls (since start)" \
	"$(tr '\n' ' ' <"$TMP/want")" "$(tr '\n' ' ' <"$TMP/got")"
error_checks "shim" "$TMP/s.m3" "$TMP/s.spans" redis
http_parent "shim" "$TMP/s.spans"
check "shim: nothing lost as unanswered" "" \
	"$(grep '^obsprobe_events_lost_total{.*reason="redis_' "$TMP/s.m3" | grep -v ' 0$')"
secrets_nowhere "shim" "$TMP/s.spans.jsonl" "$TMP/s.m3" "$TMP/s.logs.jsonl" "$TMP/s.err" "$TMP/r2/redis.log"
finish
