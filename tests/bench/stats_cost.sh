#!/usr/bin/env bash
# stats_cost.sh -- what the kernel's BPF run-time statistics (BPF_ENABLE_STATS: obsprobe --probe-stats and
# --max-overhead) cost a syscall of a process obsprobe does not trace: obsprobe's sys_enter/sys_exit run for every
# task on the host, and with the statistics on each run of every BPF program on the host pays two clock reads and a
# per-CPU update. build/bench/stats_cost (stats_cost.c) times read(/dev/zero, 1) in this thread's CPU time in pairs
# of halves, statistics off and on (its own descriptor), the order alternating; pinned to CPU $CPU. Setups: obsprobe
# attached to a sleeper; the floor's empty sys_enter/sys_exit instead; neither (only what else the host runs).
# While another process holds the statistics on, an "off" half is not off: those pairs are left out and counted
# (the machine is shared). Reports, never fails on a figure.
# Env: PAIRS (300), CHUNK (reads per half, 20000), CPU (1), PORT (7801).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
PAIRS=${PAIRS:-300}
CHUNK=${CHUNK:-20000}
CPU=${CPU:-1}
PORT=${PORT:-7801}
for f in "$B/obsprobe" "$B/bench/floor" "$B/bench/floor.bpf.o" "$B/bench/stats_cost"; do
	[ -e "$f" ] || { echo "stats_cost: $f missing (make bench builds it)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/obsprobe-statscost.XXXXXX)
OURS=()
cleanup() { local p; for p in "${OURS[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
waitgrep() { local i; for i in $(seq 1 200); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
up() { local i; for i in $(seq 1 200); do curl -sf -o /dev/null -m 1 "$1" && return 0; sleep 0.1; done; return 1; }
measure() { taskset -c "$CPU" "$B/bench/stats_cost" "$PAIRS" "$CHUNK"; }
holders() { find /proc/[0-9]*/fd -lname 'anon_inode:bpf-stats' 2>/dev/null | cut -d/ -f3 | sort -u | tr '\n' ' '; }

printf 'BPF run-time statistics cost, %s, kernel %s, %s CPUs (%s); a shared machine (other work running)\n' \
	"$(date -u '+%F %H:%M UTC')" "$(uname -r)" "$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
printf 'read(/dev/zero, 1), %s pairs of %s reads per setup, CPU time of the reading thread (pinned to CPU %s)\n' \
	"$PAIRS" "$CHUNK" "$CPU"
[ -n "$(holders)" ] && printf '(statistics held on by other processes at the start: pids %s; kernel.bpf_stats_enabled=%s)\n' \
	"$(holders)" "$(sysctl -n kernel.bpf_stats_enabled)"
echo
sleep 600 &
SL=$!
OURS+=($SL)
"$B/obsprobe" attach --pid $SL --listen 127.0.0.1:$PORT -q 2>"$T/obs.err" &
OP=$!
OURS+=($OP)
up "http://127.0.0.1:$PORT/health/ready" || { echo "stats_cost: obsprobe not ready: $(cat "$T/obs.err")" >&2; exit 1; }
find /proc/$OP/fd -lname 'anon_inode:bpf-stats' | grep -q . &&
	echo "stats_cost: this obsprobe holds the statistics on by default (an old build?): 'off' is on" >&2
echo "obsprobe $(measure)" >"$T/res"
kill -INT $OP
wait $OP
mkfifo "$T/ffin"
"$B/bench/floor" sys "$B/bench/floor.bpf.o" <"$T/ffin" >"$T/floor.log" 2>&1 &
FL=$!
OURS+=($FL)
exec 8>"$T/ffin"
waitgrep attached "$T/floor.log" || { cat "$T/floor.log" >&2; exit 1; }
fstat() { # the floor's programs: "run_time_ns run_cnt" summed
	local ids
	ids=$(cat /proc/$FL/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -un | jq -sc .)
	bpftool prog show -j | jq -r --argjson ids "$ids" '[.[] | select(.id as $i | any($ids[]; . == $i))] |
		"\(map(.run_time_ns // 0) | add) \(map(.run_cnt // 0) | add)"'
}
F0=$(fstat)
echo "floor $(measure)" >>"$T/res"
F1=$(fstat)
exec 8>&-
wait $FL
echo "none $(measure)" >>"$T/res"
# the clock read itself, measured in the kernel: a sys_enter program that reads the clock twice next to the floor's
# empty one, the statistics on (held by the floor): the difference of their ns/run is two clock reads
pstat() { # PID -> "name run_time_ns run_cnt" of its programs
	local ids
	ids=$(cat /proc/$1/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -un | jq -sc .)
	bpftool prog show -j | jq -r --argjson ids "$ids" '.[] | select(.id as $i | any($ids[]; . == $i)) |
		"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}
mkfifo "$T/kfin" "$T/cfin"
"$B/bench/floor" sys "$B/bench/floor.bpf.o" stats <"$T/kfin" >"$T/kfloor.log" 2>&1 &
FL=$!
OURS+=($FL)
exec 8>"$T/kfin"
"$B/bench/floor" clock "$B/bench/floor.bpf.o" <"$T/cfin" >"$T/clock.log" 2>&1 &
CL=$!
OURS+=($CL)
exec 5>"$T/cfin"
if waitgrep attached "$T/kfloor.log" && waitgrep attached "$T/clock.log"; then
	{ pstat $FL; pstat $CL; } >"$T/k0"
	taskset -c "$CPU" "$B/bench/stats_cost" 3 "$CHUNK" >/dev/null # reads (its own descriptor changes nothing here)
	{ pstat $FL; pstat $CL; } >"$T/k1"
	join <(sort "$T/k0") <(sort "$T/k1") | awk '{ if ($5 > $3) printf "%s %.1f %d\n", $1, ($4 - $2) / ($5 - $3), $5 - $3 }' >"$T/kns"
else
	echo "stats_cost: the clock programs did not attach: $(cat "$T/kfloor.log" "$T/clock.log")" >&2
fi
exec 8>&- 5>&-
wait $FL $CL
touch "$T/kns"
/usr/bin/python3 - "$T/res" "$F0" "$F1" "$T/kns" <<'PY'
import sys
label = {"obsprobe": "obsprobe attach (a sleeper traced)", "floor": "floor: empty sys_enter/sys_exit",
         "none": "neither (the host's other programs only)"}
print("| programs of ours on every task | stats off ns/read | stats on ns/read | added ns/read (median of pairs, q1..q3) |"
      " on / off | BPF program runs per read (all on the host) | added ns per program run | pairs kept (left out) |")
print("|---|---|---|---|---|---|---|---|")
on_all = {}
vdso = None
for line in open(sys.argv[1]):
    s, rest = line.split(None, 1)
    kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
    on_all[s] = float(kv.get("on_all", "nan"))
    vdso = kv.get("vdso_clock", vdso)
    if kv.get("pairs") == "0" or "off" not in kv:
        print("| %s | n/a | %s (all halves) | n/a | n/a | %s | n/a | 0 (%s: the statistics were on elsewhere) |" % (
            label[s], kv.get("on_all", "?"), kv.get("runs_per_read", "?"), kv.get("dropped", "?")))
        continue
    print("| %s | %s | %s | %+.1f (%+.1f .. %+.1f) | %s | %s | %s | %s (%s) |" % (label[s], kv["off"], kv["on"],
          float(kv["added"]), float(kv["q1"]), float(kv["q3"]), kv["ratio"], kv["runs_per_read"], kv["per_run"],
          kv["pairs"], kv["dropped"]))
if "floor" in on_all and "none" in on_all:
    print("\nWith the statistics on, the floor's empty pair adds %.1f ns per read (on halves, floor - neither): %.1f per"
          " program run, the statistics' share included" % (on_all["floor"] - on_all["none"],
                                                          (on_all["floor"] - on_all["none"]) / 2))
if vdso:
    print("\nOne clock_gettime(CLOCK_MONOTONIC) from user space (the vDSO reads the clock source the kernel's sched_clock"
          " reads, %s): %s ns" % (open("/sys/devices/system/clocksource/clocksource0/current_clocksource").read().strip(),
                                  vdso))
(t0, c0), (t1, c1) = (map(int, a.split()) for a in sys.argv[2:4])
if c1 > c0:
    print("\nThe floor's empty programs, by the statistics themselves (their on halves): %.1f ns per run over %d runs:"
          " the time between the two clock reads the statistics take around each run, about one read's cost"
          % ((t1 - t0) / (c1 - c0), c1 - c0))
kns = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[4]) if l.strip()}
if "clock_enter" in kns and "floor_enter" in kns:
    d = kns["clock_enter"][0] - kns["floor_enter"][0]
    print("\nTwo clock reads in the kernel (a sys_enter program calling bpf_ktime_get_ns twice, %.1f ns/run, against the"
          " empty one's %.1f, over %d runs): %.1f ns; the statistics take two reads around every BPF program run on the"
          " host (their sched_clock skips the timekeeper bpf_ktime_get_ns goes through: this is an upper bound)" % (kns["clock_enter"][0], kns["floor_enter"][0], kns["clock_enter"][1], d))
PY
exit 0
