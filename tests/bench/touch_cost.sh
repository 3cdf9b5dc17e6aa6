#!/usr/bin/env bash
# touch_cost.sh [ROUNDS]: ns/run of tests/bench/touch.bpf.c's sys_enter programs (kernel.bpf_stats_enabled, restored at
# exit) while an untraced read(/dev/zero,1) loop runs: what a first touch of memory costs a program against the same
# touch by the next program on the same syscall.  Env: N (loop reads, 1000000), CPU (the loop's CPU, 1).
set -uo pipefail
B=$(cd "$(dirname "$0")/../.." && pwd)/build
T=$(mktemp -d /tmp/obsprobe-touch.XXXX)
ORIG=$(sysctl -n kernel.bpf_stats_enabled)
PIDS=()
cleanup() { sysctl -q -w kernel.bpf_stats_enabled=$ORIG; for p in "${PIDS[@]}"; do kill -KILL $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
waitgrep() { local i; for i in $(seq 1 600); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
mkfifo $T/fin; $B/bench/floor sys $B/bench/touch.bpf.o <$T/fin >$T/f.log 2>&1 & F=$!; PIDS+=($F); exec 8>$T/fin
waitgrep attached $T/f.log || { cat $T/f.log; exit 1; }
IDS=$(cat /proc/$F/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -u)
# one bpftool call per program: a listing of all programs breaks when others come and go meanwhile
snap() { local i; for i in $IDS; do bpftool prog show id $i -j | jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'; done | sort; }
for r in $(seq 1 ${1:-3}); do
	mkfifo $T/in$r; taskset -c ${CPU:-1} $B/targets/loop sys ${N:-1000000} <$T/in$r >$T/loop$r & PIDS+=($!); exec 7>$T/in$r
	waitgrep ready $T/loop$r || exit 1
	sysctl -q -w kernel.bpf_stats_enabled=1; snap >$T/s0
	printf g >&7; waitgrep ns_per_op $T/loop$r; exec 7>&-
	snap >$T/s1; sysctl -q -w kernel.bpf_stats_enabled=$ORIG
	join $T/s0 $T/s1 | awk -v r=$r '{ dc = $5 - $3; if (dc > 0) printf "round %d %-15s runs %8d  ns/run %6.1f\n", r, $1, dc, ($4 - $2) / dc }'
done
