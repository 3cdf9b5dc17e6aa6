#!/usr/bin/env bash
# test_fork_storm.sh -- eBPF path: 1,000 short-lived traced processes (fork + exec, one after another). Every child's
# syscalls are counted exactly; afterwards nothing is left of them: per-pid BPF map entries back to the baseline,
# the collector's fd count (uprobe links, perf events included) flat, /api/v1/targets lists only live processes.
source "$(dirname "$0")/lib.sh"
need_root
command -v bpftool >/dev/null || { echo "SKIP: bpftool missing"; exit 77; }
N=1000 K=7 # children, getppid(2) calls each

# map_entries PID NAME: entries in the BPF map NAME among PID's open maps (fdinfo gives the map id)
map_entries() {
	local id
	id=$(bpftool map show -j | python3 -c '
import json, os, sys
pid, name = sys.argv[1], sys.argv[2]
ids = {m["id"] for m in json.load(sys.stdin) if m.get("name") == name}
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        info = open("/proc/%s/fdinfo/%s" % (pid, fd)).read()
    except OSError:
        continue
    for line in info.splitlines():
        if line.startswith("map_id:") and int(line.split()[1]) in ids:
            print(line.split()[1])
            sys.exit(0)
' "$1" "$2")
	[ -n "$id" ] || { echo "no map $2"; return; }
	bpftool map dump id "$id" -j | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
nfds() { ls "/proc/$1/fd" | wc -l; }
# "NAME COUNT" for the kinds of fds PID holds that come and go with probes
fd_kinds() { for fd in /proc/"$1"/fd/*; do readlink "$fd"; done | sed 's/:\[[0-9]*\]$//; s/:[0-9]*$//' | sort | uniq -c |
	awk '{ print $2 "=" $1 }' | tr '\n' ' '; }
live_targets() { # the /api/v1/targets pids, and how many of them are alive
	curl -sf "http://127.0.0.1:$1/api/v1/targets" | python3 -c '
import json, sys
t = json.load(sys.stdin)["targets"]
print(len(t), sum(1 for x in t if x.get("alive", True)))'
}

# storm NAME PORT [obsprobe options...]: PORT "" = the children make no TCP connection
storm() {
	local name=$1 port=$2 lp f obs b_fds b_traced b_conns b_kinds
	shift 2
	"$TARGETS/forker" $N $K $port >"$TMP/$name.out" 2>&1 &
	f=$!
	PIDS+=($f)
	wait_for 5 grep -q ready "$TMP/$name.out" || { bad "$name: forker did not start"; return; }
	lp=$(free_port)
	"$OBSPROBE" attach --pid "$f" --listen "127.0.0.1:$lp" -q "$@" 2>"$TMP/$name.err" &
	obs=$!
	PIDS+=($obs)
	wait_for 30 curl -sf "http://127.0.0.1:$lp/health/ready" || { bad "$name: obsprobe not ready: $(cat "$TMP/$name.err")"; return; }
	b_fds=$(nfds $obs) b_traced=$(map_entries $obs traced) b_conns=$(map_entries $obs conns) b_kinds=$(fd_kinds $obs)
	check "$name: baseline: the traced map holds the parent" 1 "$b_traced"
	kill -USR1 $f
	wait_for 120 grep -q '^done' "$TMP/$name.out" || { bad "$name: the storm did not end"; return; }
	check "$name: every child ran" "done $N failed 0" "$(grep '^done' "$TMP/$name.out")"
	# the exits reach user space through the ring buffer: wait until the table says so (bounded), then exact checks
	_ready() { test "$(live_targets "$lp")" == "1 1"; }
	wait_for 20 _ready
	scrape "$lp" >"$TMP/$name.m"
	check "$name: getppid calls counted exactly (N x K)" $((N * K)) \
		"$(metric "$TMP/$name.m" 'obsprobe_syscall_duration_seconds_count{service="forker",syscall="getppid"}')"
	check "$name: no events lost" 0 "$(awk '/^obsprobe_events_lost_total\{/ { s += $2 } END { print s + 0 }' "$TMP/$name.m")"
	awk '/^obsprobe_events_lost_total\{/ && $2 > 0 { print "      lost: " $0 }' "$TMP/$name.m"
	check "$name: traced map back to the baseline" "$b_traced" "$(map_entries $obs traced)"
	if [ -n "$port" ]; then
		check "$name: one outbound TCP connection per child" $N \
			"$(metric "$TMP/$name.m" 'obsprobe_tcp_connections_total{service="forker",direction="outbound"}')"
		check "$name: no connection left active" 0 \
			"$(metric "$TMP/$name.m" 'obsprobe_tcp_connections_active{service="forker",direction="outbound"}')"
		check "$name: conns map back to the baseline" "$b_conns" "$(map_entries $obs conns)"
	fi
	check "$name: /api/v1/targets: only the live parent (targets, alive)" "1 1" "$(live_targets "$lp")"
	check "$name: collector fds flat (by kind)" "$b_kinds" "$(fd_kinds $obs)"
	# a scrape or /proc read in flight can hold one fd at either sample: a leak is growth, 1,000 children's worth
	local a_fds; a_fds=$(nfds $obs)
	[ "$a_fds" -le "$b_fds" ] && ok "$name: collector fd count did not grow ($b_fds -> $a_fds)" \
		|| bad "$name: collector fd count grew: $b_fds -> $a_fds"
	kill -INT $obs
	wait $obs
	check "$name: obsprobe exits 0" 0 "$?"
	kill $f
}

# a listener that accepts and closes, for the children's connections
TP=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128); s.settimeout(1)
end = time.monotonic() + 300
while time.monotonic() < end:
    try:
        c, _ = s.accept(); c.close()
    except socket.timeout:
        pass' "$TP" &
PIDS+=($!)
wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $TP)).close()"

storm syscalls "$TP"
# with --func: each child is a new image to attach uprobes to; its links must go with it
storm func "" --func child_work
finish
