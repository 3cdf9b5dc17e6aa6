#!/usr/bin/env bash
# test_budget.sh -- the probes' own CPU from the kernel's statistics, and the --max-overhead budget: a tight read
# loop (tests/targets/loop.c, which says how many calls it made) traced under --max-overhead 5 sheds, in order, and
# says so (metric, log line, exit line); without the flag nothing is shed and the per-syscall counts stay exact;
# with --func, the budget ends by detaching the function's uprobes. By default (neither --probe-stats nor
# --max-overhead) the statistics stay off: no descriptor held, no probe CPU families, said at start.
# PORT_BASE (7710): the test's ports are PORT_BASE .. PORT_BASE+47.
source "$(dirname "$0")/lib.sh"
need_root
PB=${PORT_BASE:-7710}

# start_loop MODE: the loop, held on a fifo until a byte comes; sets LPID and the fifo fd 7
start_loop() {
	rm -f "$TMP/fifo"
	mkfifo "$TMP/fifo"
	"$TARGETS/loop" "$1" 100000000 <"$TMP/fifo" >"$TMP/loop.out" &
	LPID=$!
	PIDS+=($LPID)
	exec 7>"$TMP/fifo"
	wait_for 5 grep -q ready "$TMP/loop.out" || bad "loop did not start"
}

# stop_loop: SIGUSR1 ends it; sets CALLS (its own count)
stop_loop() {
	kill -USR1 $LPID 2>/dev/null # (the func loop may be done already: its probes went)
	wait_for 10 grep -q ns_per_op "$TMP/loop.out" || bad "loop did not finish"
	exec 7>&-
	CALLS=$(awk '/^calls/{print $2}' "$TMP/loop.out")
	[ -n "$CALLS" ] && [ "$CALLS" -gt 0 ] || bad "loop made no calls ($(cat "$TMP/loop.out"))"
}

# start_obs PORT ARGS...: obsprobe attached to the loop; sets OPID
start_obs() {
	local port=$1
	shift
	"$OBSPROBE" attach --pid $LPID --listen 127.0.0.1:$port "$@" >"$TMP/obs.out" 2>"$TMP/obs.err" 7>&- &
	OPID=$!
	PIDS+=($OPID)
	wait_for 20 curl -sf "http://127.0.0.1:$port/health/ready" || bad "obsprobe not ready: $(cat "$TMP/obs.err")"
}

stop_obs() {
	kill -INT $OPID
	wait_for 20 bash -c "! kill -0 $OPID 2>/dev/null" || bad "obsprobe did not exit"
	wait $OPID 2>/dev/null
}

# the session's probe cost over the last window, as /api/v1/targets says (empty before the first window)
targets_field() { # port python-expression-on-row
	curl -sf "http://127.0.0.1:$1/api/v1/targets" |
		/usr/bin/python3 -c "import json,sys; r=[t for t in json.load(sys.stdin)['targets'] if t['pid']==$LPID][0]; print($2)" 2>/dev/null
}
over_5() { local p; p=$(targets_field $1 "r['overhead']['probe_cpu_percent_of_targets']"); [ -n "$p" ] && [ "$p" != None ] && /usr/bin/python3 -c "import sys; sys.exit(0 if float('$p') > 5 else 1)"; }
shed_seen() { grep -q "^obsprobe_shed_total{what=\"$2\"} [1-9]" <(scrape $1); }
read_count() { scrape $1 | awk '/^obsprobe_syscall_duration_seconds_count\{.*syscall="read"/{print $2}'; }
runs_at_least() { local r; r=$(scrape $1 | awk -v k="obsprobe_probe_runs_total{program=\"$2\"}" '$1 == k {print $2}'); [ -n "$r" ] && [ "$r" -ge "$3" ]; }
# a counter's value, as a number awk compares
num() { awk -v v="$1" 'BEGIN { printf "%.0f", v * 1e9 }'; }

# holds_stats PID: the process holds a BPF_ENABLE_STATS descriptor. find's status is not the answer: a descriptor
# the collector closes while find walks the directory (a scrape's connection) makes it exit 1, and under pipefail
# that read as "not held" (one clean-clone CI)
holds_stats() {
	local l
	l=$(find /proc/$1/fd -lname 'anon_inode:bpf-stats' 2>/dev/null)
	[ -n "$l" ]
}

# ---- 0. defaults: the statistics stay off (they would cost every BPF program on the host), said at start ----
P0=$((PB + 5))
start_loop sys
start_obs $P0
printf x >&7
holds_stats $OPID && bad "defaults: obsprobe holds the statistics on" || ok "defaults: no BPF_ENABLE_STATS descriptor held"
grep -q "probe CPU (obsprobe_probe_cpu_seconds_total): off; --probe-stats turns the kernel's BPF statistics on" \
	"$TMP/obs.err" && ok "defaults: the start says the probe CPU is off" || bad "defaults: not said: $(cat "$TMP/obs.err")"
# the traced processes' CPU is still measured, window by window
wait_for 10 bash -c "curl -sf http://127.0.0.1:$P0/api/v1/targets | grep -q '\"probe_stats\":false'" &&
	ok "defaults: /api/v1/targets says probe_stats false" || bad "defaults: $(curl -sf http://127.0.0.1:$P0/api/v1/targets)"
[ -n "$(targets_field $P0 "r['cpu_percent']")" ] && ok "defaults: the loop's cpu_percent" || bad "defaults: no cpu_percent"
check "defaults: no probe_cpu_percent_of_targets" False "$(targets_field $P0 "'probe_cpu_percent_of_targets' in r['overhead']")"
stop_loop
scrape $P0 >"$TMP/m0"
grep -qE '^obsprobe_probe_(cpu_seconds|runs)_total' "$TMP/m0" && bad "defaults: probe CPU families: $(grep -E '^obsprobe_probe_(cpu|runs)' "$TMP/m0")" ||
	ok "defaults: no obsprobe_probe_cpu_seconds_total / obsprobe_probe_runs_total series"
stop_obs

# --func without the statistics: the calibrated cost per call at start, the measured call rate after a window
P0F=$((PB + 7))
start_loop func
start_obs $P0F --func bench_target --no-syscalls
holds_stats $OPID && bad "defaults, --func: the statistics held" || ok "defaults, --func: no descriptor held"
grep -q -- "--func: 1 uprobe pair; one call of a traced function costs about" "$TMP/obs.err" &&
	ok "defaults, --func: the calibrated cost said at start" || bad "defaults, --func: $(cat "$TMP/obs.err")"
printf x >&7
wait_for 20 grep -q -- "--func: [0-9]* calls/s measured over the first" "$TMP/obs.err" &&
	ok "defaults, --func: the measured rate said" || bad "defaults, --func: no rate: $(cat "$TMP/obs.err")"
rate=$(targets_field $P0F "r['overhead']['uprobe_calls_per_second']")
[ -n "$rate" ] && [ "$rate" != 0 ] && [ "$rate" != 0.0 ] && ok "defaults, --func: the call rate on /api/v1/targets ($rate/s)" ||
	bad "defaults, --func: rate '$rate'"
stop_loop
stop_obs

# ---- 1. --probe-stats, no budget: the statistics are there, nothing is shed, the per-syscall counts are exact ----
P1=$PB
start_loop sys
start_obs $P1 --probe-stats
holds_stats $OPID && ok "--probe-stats: the statistics descriptor held" || bad "--probe-stats: no descriptor"
printf x >&7
# a verdict over a busy window, above what the budget in part 2 allows: without the flag that sheds nothing
wait_for 30 over_5 $P1 && ok "no budget: a window measured above 5% ($(targets_field $P1 "r['overhead']['probe_cpu_percent_of_targets']")%)" ||
	bad "no budget: no window above 5% ($(curl -sf http://127.0.0.1:$P1/api/v1/targets))"
[ -n "$(targets_field $P1 "r['cpu_percent']")" ] && ok "/api/v1/targets: the loop's cpu_percent" || bad "no cpu_percent"
stop_loop
# the polls fold the last counts (the statistics are read at most once a second)
wait_for 10 runs_at_least $P1 sys_exit "$CALLS"
wait_for 10 bash -c "[ \"\$(curl -sf http://127.0.0.1:$P1/metrics | awk '/^obsprobe_syscall_duration_seconds_count\\{.*syscall=\"read\"/{print \$2}')\" = $CALLS ]"
scrape $P1 >"$TMP/m1"
for prog in sys_enter sys_exit; do
	cpu=$(metric "$TMP/m1" "obsprobe_probe_cpu_seconds_total{program=\"$prog\"}")
	runs=$(metric "$TMP/m1" "obsprobe_probe_runs_total{program=\"$prog\"}")
	[ -n "$cpu" ] && [ "$(num "$cpu")" -gt 0 ] && ok "$prog used CPU ($cpu s)" || bad "$prog: cpu '$cpu'"
	# the programs run for every task on the host: at least once per syscall of the loop
	[ -n "$runs" ] && [ "$runs" -ge "$CALLS" ] && ok "$prog runs $runs >= the loop's $CALLS reads" ||
		bad "$prog: runs '$runs' < $CALLS"
done
# the loop was blocked in read(0) when obsprobe attached: that read is not timed; then CALLS reads of /dev/zero
check "no budget: read syscalls counted exactly" "$CALLS" \
	"$(awk '/^obsprobe_syscall_duration_seconds_count\{.*syscall="read"/{print $2}' "$TMP/m1")"
grep -q '^obsprobe_shed_total' "$TMP/m1" && bad "no budget: something was shed: $(grep '^obsprobe_shed_total' "$TMP/m1")" ||
	ok "no budget: no obsprobe_shed_total"
stop_obs
grep -q "overhead budget" "$TMP/obs.err" && bad "no budget: said it shed: $(grep 'overhead budget' "$TMP/obs.err")" ||
	ok "no budget: no shedding line, no exit line"

# ---- 2. --max-overhead 5: the first step (payload capture), said three ways ----
P2=$((PB + 1))
start_loop sys
start_obs $P2 --max-overhead 5
holds_stats $OPID && ok "budget: the statistics descriptor held (no --probe-stats needed)" || bad "budget: no descriptor"
printf x >&7
wait_for 30 shed_seen $P2 payload && ok "budget: obsprobe_shed_total{what=\"payload\"} counted" ||
	bad "budget: nothing shed ($(scrape $P2 | grep -E 'shed|probe_cpu'))"
# the next step comes in a later window (logs are off here: the step after payload is syscalls)
wait_for 30 shed_seen $P2 syscalls && ok "budget: then per-syscall detail" || bad "budget: syscalls not shed"
scrape $P2 >"$TMP/m2"
check "budget: payload shed once" 1 "$(metric "$TMP/m2" 'obsprobe_shed_total{what="payload"}')"
check "budget: log capture was off: not a step" "" "$(metric "$TMP/m2" 'obsprobe_shed_total{what="logs"}')"
check "budget: /api/v1/targets lists the steps" "['payload', 'syscalls']" "$(targets_field $P2 "r['overhead']['shed']")"
grep -q "overhead budget: the probes used .* (--max-overhead 5): shedding payload capture of new connections" "$TMP/obs.err" &&
	ok "budget: a line when shedding" || bad "budget: no shedding line: $(cat "$TMP/obs.err")"
# per-syscall counting stopped at the step: the read count is below what the loop made, and stays put
stop_loop
wait_for 10 runs_at_least $P2 sys_exit "$CALLS"
scrape $P2 >"$TMP/m3"
reads=$(awk '/^obsprobe_syscall_duration_seconds_count\{.*syscall="read"/{print $2}' "$TMP/m3")
[ -n "$reads" ] && [ "$reads" -lt "$CALLS" ] && ok "budget: reads counted until the step ($reads of $CALLS)" ||
	bad "budget: reads '$reads' of $CALLS"
runs=$(metric "$TMP/m3" 'obsprobe_probe_runs_total{program="sys_exit"}')
[ "$runs" -ge "$CALLS" ] && ok "budget: sys_exit still ran for every read ($runs)" || bad "budget: sys_exit runs $runs"
stop_obs
grep -q "the overhead budget shed (--max-overhead, obsprobe_shed_total): payload capture.*; per-syscall detail" \
	"$TMP/obs.err" && ok "budget: the exit line lists what was shed" || bad "budget: exit line: $(tail -5 "$TMP/obs.err")"

# ---- 3. --func: uprobes cost more than the function; the last step detaches it ----
P3=$((PB + 2))
start_loop func
start_obs $P3 --max-overhead 5 --func bench_target
grep -q -- "--func: 1 uprobe pair; one call of a traced function costs about" "$TMP/obs.err" &&
	ok "func: the calibrated cost said at start" || bad "func: no cost at start: $(cat "$TMP/obs.err")"
check "func: probes before (sys_enter, sys_exit, one uprobe pair)" 3 "$(targets_field $P3 "r['probes']")"
printf x >&7
wait_for 40 shed_seen $P3 functions && ok "func: obsprobe_shed_total{what=\"functions\"}" ||
	bad "func: not shed ($(scrape $P3 | grep shed))"
check "func: probes after (sys_enter, sys_exit)" 2 "$(targets_field $P3 "r['probes']")"
rate=$(targets_field $P3 "r['overhead']['uprobe_calls_per_second']")
[ -n "$rate" ] && ok "func: measured call rate on /api/v1/targets ($rate/s)" || bad "func: no call rate"
grep -q -- "--func: [0-9]* calls/s measured" "$TMP/obs.err" && ok "func: the measured rate said" || bad "func: rate not said"
stop_loop
wait_for 5 bash -c "curl -sf http://127.0.0.1:$P3/metrics | grep -q 'obsprobe_function_duration_seconds_count.*bench_target'"
scrape $P3 >"$TMP/m4"
fcount=$(awk '/^obsprobe_function_duration_seconds_count\{.*function="bench_target"/{print $2}' "$TMP/m4")
[ -n "$fcount" ] && [ "$fcount" -gt 0 ] && [ "$fcount" -lt "$CALLS" ] &&
	ok "func: calls timed until the detach ($fcount of $CALLS)" || bad "func: count '$fcount' of $CALLS"
stop_obs
grep -q "shedding --func bench_target (loop)" "$TMP/obs.err" && ok "func: a line when detaching" || bad "func: no detach line"
grep -q "the overhead budget shed (--max-overhead, obsprobe_shed_total): .*--func bench_target" "$TMP/obs.err" &&
	ok "func: the exit line names the function" || bad "func: exit line: $(tail -3 "$TMP/obs.err")"

# ---- 4. payload capture sampled per connection: what stays is exact ----
# An HTTP server and the read loop (for CPU) traced together. One keep-alive connection is captured before the
# step; after it, that connection stays captured and of new connections (from known client ports) exactly those
# whose ports pass the kernel's sampling hash (SC_SHED_KEEPS in abi/syscalls.h) are parsed.
P4=$((PB + 3))
HP=$((PB + 6))
CP0=$((PB + 8)) # the client's 40 ports: CP0 .. CP0+39
"$TARGETS/httpd" $HP 1 >/dev/null 2>"$TMP/httpd.err" &
HPID=$!
PIDS+=($HPID)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || bad "httpd did not start"
start_loop sys
"$OBSPROBE" attach --pid $LPID --pid $HPID --listen 127.0.0.1:$P4 --max-overhead 1 --log-file "$TMP/logs.jsonl" \
	>"$TMP/obs.out" 2>"$TMP/obs.err" 7>&- &
OPID=$!
PIDS+=($OPID)
wait_for 20 curl -sf "http://127.0.0.1:$P4/health/ready" || bad "obsprobe not ready: $(cat "$TMP/obs.err")"
cat >"$TMP/client.py" <<'PY'
import socket, sys, os, time
port, go, cp0 = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def get(s, close):
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"Connection: close\r\n" if close else b"") + b"\r\n")
    data = b""
    while b"hello" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    assert b" 200 " in data, data
a = socket.create_connection(("127.0.0.1", port))
get(a, False)                      # captured: before the step
print("first", flush=True)
for _ in range(300):               # until the test says the step was taken (bounded: 30 s)
    if os.path.exists(go):
        break
    time.sleep(0.1)
get(a, False); get(a, False)       # the same connection, after the step
a.close()
for lp in range(cp0, cp0 + 40):    # new connections from known ports
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", lp))
    s.connect(("127.0.0.1", port))
    get(s, True)
    s.close()
print("done", flush=True)
PY
/usr/bin/python3 "$TMP/client.py" $HP "$TMP/go" $CP0 >"$TMP/client.out" 2>&1 &
CPID=$!
PIDS+=($CPID)
wait_for 10 grep -q first "$TMP/client.out" || bad "client: $(cat "$TMP/client.out")"
printf x >&7 # the loop's CPU puts the probes over 1%
wait_for 30 shed_seen $P4 payload && ok "sampling: payload shed" || bad "sampling: not shed"
touch "$TMP/go"
wait_for 30 grep -q done "$TMP/client.out" || bad "client did not finish: $(cat "$TMP/client.out")"
kept=$(/usr/bin/python3 -c "
print(sum(1 for p in range($CP0, $CP0 + 40)
          if ((((($HP << 16) | ((p & 0xff) << 8) | (p >> 8)) * 0x9E3779B97F4A7C15) % 2**64) >> 61) == 0))")
want=$((3 + kept))
key='http_server_request_duration_seconds_count{service="loop",http_request_method="GET",http_response_status_code="200",http_route="/"}'
wait_for 10 bash -c "curl -sf http://127.0.0.1:$P4/metrics | grep -qF '$key $want'"
scrape $P4 >"$TMP/m5"
check "sampling: 3 on the captured connection + the $kept of 40 new ones the hash keeps" "$want" "$(metric "$TMP/m5" "$key")"
wait_for 30 shed_seen $P4 logs && ok "sampling: then logs (--log-file on)" || bad "logs not shed"
stop_loop
stop_obs
grep -q "shedding log capture" "$TMP/obs.err" && ok "logs: a line when shedding" || bad "logs: no line"

# ---- 5. the shim's own work: 1 in 64 calls of a thread timed, counted 64 times ----
SHIM=$ROOT/build/libobsshim.so
RT=$TMP/rt
mkdir -p "$RT" && chmod 1777 "$RT"
printf x | OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM "$TARGETS/loop" write 10000 >"$TMP/sloop.out"
check "shim: the loop made its writes" 10000 "$(awk '/^calls/{print $2}' "$TMP/sloop.out")"
P5=$((PB + 4))
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen 127.0.0.1:$P5 -q 2>"$TMP/serve.err" &
SPID=$!
PIDS+=($SPID)
wait_for 10 bash -c "curl -sf http://127.0.0.1:$P5/metrics | grep -q 'program=\"shim\"'"
scrape $P5 >"$TMP/m6"
shim_s=$(metric "$TMP/m6" 'obsprobe_probe_cpu_seconds_total{program="shim"}')
shim_ns=$(num "$shim_s")
[ -n "$shim_s" ] && [ "$shim_ns" -gt 0 ] && ok "shim: its own work counted ($shim_s s)" || bad "shim: '$shim_s'"
check "shim: a whole number of 64-fold samples" 0 $((shim_ns % 64))
kill $SPID
wait $SPID 2>/dev/null

# ---- usage ----
"$OBSPROBE" attach --pid $$ --max-overhead 0 >/dev/null 2>"$TMP/u.err"
check "usage: --max-overhead 0 exits 2" 2 $?
grep -q "is not a percentage above 0 and at most 100" "$TMP/u.err" && ok "usage: says why" || bad "usage: $(cat "$TMP/u.err")"
finish
