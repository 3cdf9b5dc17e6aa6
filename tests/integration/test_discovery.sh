#!/usr/bin/env bash
# test_discovery.sh -- attach by selectors instead of pids, with real servers (copies of tests/targets/httpd under
# names of the test's own) and exact request counts:
#   --exe: a server running before attach and one started after are traced (spans per serving pid = requests
#          made), a non-matching one is not (its requests absent); --func attaches once per binary (start line,
#          targets) and counts every call exactly; an exiting target is released (gone from /api/v1/targets)
#   --port: a server that starts listening after attach is traced (seen at its exec when it listens at once, at its
#          listen() when that comes later: a python http.server that sleeps first), one on another port is not
#   --cgroup: a server started in a test-made cgroup2 subtree, and one moved into it while running, are traced;
#          one outside is not
source "$(dirname "$0")/lib.sh"
need_root

OP1=8050 OP2=8060 OP3=8070 # obsprobe's own ports
cp "$TARGETS/httpd" "$TMP/obsdisc-a"
cp "$TARGETS/httpd" "$TMP/nodisc-x"
CGROUP_DIR=""

# start_httpd BIN PORT WORKERS [PREFIX...]: sets SRV (the master); waits until it listens (no request made)
start_httpd() {
	local bin=$1 port=$2 workers=$3 log="$TMP/httpd-$2.out"
	shift 3
	"$@" "$bin" "$port" "$workers" >"$log" 2>/dev/null &
	SRV=$!
	PIDS+=($SRV)
	wait_for 5 sh -c "ss -Hltn 'sport = :$port' | grep -q ." || bad "httpd on $port did not start"
	[ "$workers" = 0 ] || wait_for 5 grep -q listening "$log" || bad "httpd on $port did not fork its worker"
}
# the pid serving PORT's requests: the worker of a 1-worker master, or the master itself
server_pid() { if [ "$2" = 0 ]; then echo "$1"; else pgrep -P "$1" | head -1; fi; }
get() { for _ in $(seq 1 "$2"); do curl -sf -o /dev/null "http://127.0.0.1:$1/api/users/$1" || bad "GET :$1"; done; }
targets() { curl -sf "http://127.0.0.1:$1/api/v1/targets"; }
# has_target OPORT PID: the pid has a row in /api/v1/targets
has_target() { targets "$1" | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if any(t["pid"] == int(sys.argv[1]) and t.get("alive") for t in json.load(sys.stdin)["targets"]) else 1)' "$2"; }
no_target() { ! targets "$1" | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if any(t["pid"] == int(sys.argv[1]) for t in json.load(sys.stdin)["targets"]) else 1)' "$2"; }
# target_field OPORT PID FIELD
target_field() { targets "$1" | /usr/bin/python3 -c 'import json,sys; print(next((t.get(sys.argv[2], "") for t in json.load(sys.stdin)["targets"] if t["pid"] == int(sys.argv[1])), "absent"))' "$2" "$3"; }
# SERVER spans in a --spans-file, per process.pid: "PID COUNT" lines
spans_by_pid() {
	/usr/bin/python3 - "$1" <<'EOF'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        pid = next(a["value"]["intValue"] for a in rs["resource"]["attributes"] if a["key"] == "process.pid")
        for ss in rs["scopeSpans"]:
            c[pid] += sum(1 for s in ss["spans"] if s["kind"] == 2)
for pid, n in sorted(c.items()):
    print(pid, n)
EOF
}
spans_of() { spans_by_pid "$1" 2>/dev/null | awk -v p="$2" '$1 == p { print $2; f = 1 } END { if (!f) print 0 }'; }
route_count() { metric "$1" "http_server_request_duration_seconds_count{service=\"$2\",http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/api/users/{id}\"}"; }
start_obsprobe() { # OPORT NAME ARGS...
	local port=$1 name=$2
	shift 2
	"$OBSPROBE" attach "$@" --spans-file "$TMP/$name.spans" --listen 127.0.0.1:$port >"$TMP/$name.out" 2>"$TMP/$name.err" &
	OBS=$!
	PIDS+=($OBS)
	wait_for 30 grep -q "metrics at" "$TMP/$name.err" || { bad "obsprobe $name did not start: $(cat "$TMP/$name.err")"; finish; }
}
# wait until the spans file holds N server spans
wait_spans() { wait_for 10 bash -c "[ \"\$(cat '$1' 2>/dev/null | grep -o '\"kind\":2' | wc -l)\" -ge $2 ]"; }

# ---- bad selectors: one line, exit 2 (usage) or 1 ----
bad_sel() { # NAME CODE PATTERN ARGS...
	local name=$1 code=$2 pat=$3 rc
	shift 3
	timeout 20 "$OBSPROBE" attach --listen 127.0.0.1:8099 "$@" >"$TMP/bad.out" 2>"$TMP/bad.err" </dev/null
	rc=$?
	if [ $rc -eq "$code" ] && [ "$(grep -c . "$TMP/bad.err")" -eq 1 ] && grep -qE "^obsprobe: .*$pat" "$TMP/bad.err"; then
		ok "$name: $(cat "$TMP/bad.err")"
	else
		bad "$name: exit $rc: $(head -3 "$TMP/bad.err")"
	fi
}
bad_sel "--port 0" 2 "not a TCP port" --port 0
bad_sel "--port abc" 2 "'abc' is not a TCP port" --port abc
bad_sel "--exe ''" 2 "empty GLOB" --exe ''
bad_sel "--cgroup relative" 2 "not an absolute path" --cgroup foo
bad_sel "--cgroup missing" 1 "no cgroup .*obsdisc-none-$$" --cgroup /obsdisc-none-$$
bad_sel "--exe with --preload" 1 "discovery needs eBPF" --exe nginx --preload
"$OBSPROBE" run --exe nginx -- true >/dev/null 2>"$TMP/bad.err"
check "run --exe: a usage error" "2 obsprobe: run: --exe does not apply (see obsprobe run --help)" "$? $(cat "$TMP/bad.err")"

# ---- --exe ----
start_httpd "$TMP/obsdisc-a" 8051 1
A1=$SRV W1=$(server_pid $SRV 1)
start_obsprobe $OP1 exe --exe 'obsdisc-*' --func handle_user -v
line=$(grep "metrics at" "$TMP/exe.err")
case "$line" in *"tracing 2 processes (2 matching --exe 'obsdisc-*' at start, new ones at exec)"*) ok "start line: what matched" ;; *) bad "start line: $line" ;; esac
case "$line" in *"1 function (uprobes once per binary: 1 binary)"*) ok "start line: --func once per binary" ;; *) bad "start line: $line" ;; esac
check "running master matched by its file name" "exe=obsdisc-*(name)" "$(target_field $OP1 $A1 matched_by)"
check "running worker matched too" "exe=obsdisc-*(name)" "$(target_field $OP1 $W1 matched_by)"
check "its --func probes are the binary's" "per-binary" "$(target_field $OP1 $W1 func_probes)"

start_httpd "$TMP/obsdisc-a" 8052 0 # the same file, after attach
A2=$SRV
start_httpd "$TMP/nodisc-x" 8053 0 # not matching
X=$SRV
wait_for 5 has_target $OP1 $A2 && ok "a matching process started after attach is picked up" || bad "pid $A2 not in targets: $(targets $OP1)"
check "... matched at its exec" "exe=obsdisc-*(name)" "$(target_field $OP1 $A2 matched_by)"
grep -q "discovered pid $A2 (obsdisc-a) at its exec: exe=obsdisc-\*(name)" "$TMP/exe.err" && ok "... and -v says so" || bad "-v: $(grep discovered "$TMP/exe.err")"
check "... sharing the binary's probes" "per-binary" "$(target_field $OP1 $A2 func_probes)"
check "a non-matching process is not a target" "absent" "$(target_field $OP1 $X pid)"
get 8051 3
get 8052 5
get 8053 4
wait_spans "$TMP/exe.spans" 8 || bad "spans: $(spans_by_pid "$TMP/exe.spans" | tr '\n' ' ')"
sleep 0.5
scrape $OP1 >"$TMP/m1" || bad "scrape"
check "requests of the running server, by its pid" 3 "$(spans_of "$TMP/exe.spans" $W1)"
check "requests of the later server, by its pid" 5 "$(spans_of "$TMP/exe.spans" $A2)"
check "requests of the non-matching server absent" 0 "$(spans_of "$TMP/exe.spans" $X)"
check "http requests counted" 8 "$(route_count "$TMP/m1" obsprobe)"
check "handle_user calls through one probe per binary" 8 "$(metric "$TMP/m1" 'obsprobe_function_duration_seconds_count{service="obsprobe",function="handle_user",object="obsdisc-a"}')"
kill $A2
wait_for 5 no_target $OP1 $A2 && ok "an exiting target is released" || bad "pid $A2 still in targets: $(targets $OP1)"
check "the other target keeps the binary's probes" "per-binary" "$(target_field $OP1 $W1 func_probes)"
get 8051 2
wait_spans "$TMP/exe.spans" 10 || bad "spans after the release"
sleep 0.5
scrape $OP1 >"$TMP/m2" || bad "scrape"
check "calls counted after another user of the binary left" 10 "$(metric "$TMP/m2" 'obsprobe_function_duration_seconds_count{service="obsprobe",function="handle_user",object="obsdisc-a"}')"
kill $OBS $A1 $X; wait $OBS $A1 $X 2>/dev/null

# ---- --port ----
start_obsprobe $OP2 port --port 8055 --port 8054 -v
# a python http.server that exec's, then listens a second later: seen at its listen()
(cd "$TMP" && exec /usr/bin/python3 -c 'import sys, time; time.sleep(1); import http.server as h; h.HTTPServer(("127.0.0.1", 8054), h.SimpleHTTPRequestHandler).serve_forever()' >/dev/null 2>&1) &
PY=$!
PIDS+=($PY)
start_httpd "$TMP/nodisc-x" 8055 1 # listens after attach
P5=$SRV
start_httpd "$TMP/nodisc-x" 8056 1 # another port
P6=$SRV
wait_for 5 has_target $OP2 $P5 && ok "a server that starts listening after attach is picked up" || bad "pid $P5 not in targets: $(targets $OP2)"
check "... by its port" "port=8055" "$(target_field $OP2 $P5 matched_by)"
W5=$(server_pid $P5 1)
wait_for 5 has_target $OP2 $W5 && ok "... with its worker" || bad "worker $W5 not in targets: $(targets $OP2)"
check "a server on another port is not a target" "absent" "$(target_field $OP2 $P6 pid)"
wait_for 5 has_target $OP2 $PY && ok "a server that listens well after its exec is picked up" || bad "pid $PY not in targets: $(targets $OP2)"
grep -q "discovered pid $PY (python3) at its listen: port=8054" "$TMP/port.err" && ok "... at its listen()" || bad "-v: $(grep discovered "$TMP/port.err")"
get 8055 4
get 8056 2
for _ in 1 2 3; do curl -sf -o /dev/null "http://127.0.0.1:8054/" || bad "GET :8054"; done
wait_spans "$TMP/port.spans" 7 || bad "spans: $(spans_by_pid "$TMP/port.spans" | tr '\n' ' ')"
sleep 0.5
scrape $OP2 >"$TMP/m3" || bad "scrape"
check "requests on the selected port, by pid" 4 "$(spans_of "$TMP/port.spans" $W5)"
check "requests of the python server, by pid" 3 "$(spans_of "$TMP/port.spans" $PY)"
check "requests on the other port absent" 0 "$(spans_of "$TMP/port.spans" "$(server_pid $P6 1)")"
check "http requests counted" 4 "$(route_count "$TMP/m3" obsprobe)"
kill $OBS $P5 $P6 $PY; wait $OBS $P5 $P6 $PY 2>/dev/null

# ---- --cgroup ----
MNT=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[ -n "$MNT" ] || { bad "no cgroup2 mount"; finish; }
CGROUP_DIR="$MNT/obsdisc-test-$$"
mkdir "$CGROUP_DIR" || { bad "mkdir $CGROUP_DIR"; finish; }
trap 'cleanup; rmdir "$CGROUP_DIR" 2>/dev/null' EXIT
start_httpd "$TMP/nodisc-x" 8059 1 # running before attach, moved in later
P9=$SRV
start_obsprobe $OP3 cgroup --cgroup "$CGROUP_DIR" -v
case "$(grep "metrics at" "$TMP/cgroup.err")" in *"--cgroup $CGROUP_DIR"*) ok "start line names the cgroup" ;; *) bad "start line: $(cat "$TMP/cgroup.err")" ;; esac
check "not in the cgroup yet: not a target" "absent" "$(target_field $OP3 $P9 pid)"
start_httpd "$TMP/nodisc-x" 8057 0 sh -c "echo \$\$ >$CGROUP_DIR/cgroup.procs && exec \"\$0\" \"\$@\""
P7=$SRV
start_httpd "$TMP/nodisc-x" 8058 0 # outside
P8=$SRV
wait_for 5 has_target $OP3 $P7 && ok "a process started in the cgroup is picked up" || bad "pid $P7 not in targets: $(targets $OP3)"
check "... by its cgroup" "cgroup=/obsdisc-test-$$" "$(target_field $OP3 $P7 matched_by)"
echo $P9 >"$CGROUP_DIR/cgroup.procs"
wait_for 5 has_target $OP3 $P9 && ok "a process moved into the cgroup is picked up" || bad "pid $P9 not in targets: $(targets $OP3)"
grep -q "discovered pid $P9 (nodisc-x) at its cgroup move: cgroup=/obsdisc-test-$$" "$TMP/cgroup.err" && ok "... at the move" || bad "-v: $(grep discovered "$TMP/cgroup.err")"
W9=$(server_pid $P9 1)
wait_for 5 has_target $OP3 $W9 && ok "... with its worker" || bad "worker $W9 not in targets: $(targets $OP3)"
check "a process outside is not a target" "absent" "$(target_field $OP3 $P8 pid)"
get 8057 3
get 8058 2
get 8059 2
wait_spans "$TMP/cgroup.spans" 5 || bad "spans: $(spans_by_pid "$TMP/cgroup.spans" | tr '\n' ' ')"
sleep 0.5
scrape $OP3 >"$TMP/m4" || bad "scrape"
check "requests in the cgroup, by pid" 3 "$(spans_of "$TMP/cgroup.spans" $P7)"
check "requests of the moved process, by pid" 2 "$(spans_of "$TMP/cgroup.spans" $W9)"
check "requests outside absent" 0 "$(spans_of "$TMP/cgroup.spans" $P8)"
check "http requests counted" 5 "$(route_count "$TMP/m4" obsprobe)"
kill $OBS $P7 $P8 $P9; wait $OBS $P7 $P8 $P9 2>/dev/null
finish
