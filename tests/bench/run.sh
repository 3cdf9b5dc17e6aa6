#!/usr/bin/env bash
# run.sh -- make bench: what each tracer adds per traced event, measured in one run, as ratios.
# Workloads: read(/dev/zero, 1 byte) in a loop; a loop calling one traced function.
# Tools: none (baseline), the kernel floor (empty BPF programs on the same hooks), obsprobe,
# bpftrace doing the equivalent histogram, strace -c (syscalls, shorter run).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
TMP=$(mktemp -d /tmp/obsprobe-bench.XXXXXX)
REPS=${REPS:-3}
NSYS=${NSYS:-2000000}
NSTRACE=${NSTRACE:-20000}
NFUNC=${NFUNC:-200000}
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitgrep() { local i; for i in $(seq 1 300); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# one_run TOOL MODE N -> ns per op of the target
one_run() {
	local tool=$1 mode=$2 n=$3 tpid tool_pid="" in=$TMP/in.$$ out=$TMP/out lo=$TMP/tool
	rm -f "$in" "$out" "$lo"; mkfifo "$in"
	"$B/targets/loop" "$mode" "$n" <"$in" >"$out" &
	tpid=$!
	exec 7>"$in"
	waitgrep ready "$out" || { echo "target did not start" >&2; exec 7>&-; kill $tpid 2>/dev/null; return 1; }
	local off
	off=$(nm "$B/targets/loop" | awk '$3=="bench_target"{print $1}')
	case $tool in
	none) ;;
	floor)
		mkfifo "$TMP/fin"; 
		if [ "$mode" = sys ]; then "$B/bench/floor" sys "$B/bench/floor.bpf.o" <"$TMP/fin" >"$lo" 2>&1 &
		else "$B/bench/floor" func "$B/bench/floor.bpf.o" "$B/targets/loop" 0x$(printf '%x' $((0x$off - 0x400000))) $tpid <"$TMP/fin" >"$lo" 2>&1 &
		fi
		tool_pid=$!; exec 8>"$TMP/fin"; rm -f "$TMP/fin"
		waitgrep attached "$lo" || { cat "$lo" >&2; return 1; } ;;
	obsprobe|obsprobe-nonet)
		local p nonet=""; p=$(port)
		[ $tool = obsprobe-nonet ] && nonet=--no-net
		if [ "$mode" = sys ]; then "$B/obsprobe" attach --pid $tpid --listen 127.0.0.1:$p -q $nonet >"$lo" 2>&1 &
		else "$B/obsprobe" attach --pid $tpid --func bench_target --no-syscalls --listen 127.0.0.1:$p -q >"$lo" 2>&1 &
		fi
		tool_pid=$!
		for i in $(seq 1 300); do curl -sf "http://127.0.0.1:$p/health/ready" >/dev/null && break; sleep 0.1; done ;;
	bpftrace)
		if [ "$mode" = sys ]; then
			bpftrace -e "tracepoint:raw_syscalls:sys_enter /pid == $tpid/ { @s[tid] = nsecs; }
				tracepoint:raw_syscalls:sys_exit /@s[tid]/ { @h[args->id] = hist(nsecs - @s[tid]); delete(@s[tid]); }" >"$lo" 2>&1 &
		else
			bpftrace -p $tpid -e "uprobe:$B/targets/loop:bench_target { @s[tid] = nsecs; }
				uretprobe:$B/targets/loop:bench_target /@s[tid]/ { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }" >"$lo" 2>&1 &
		fi
		tool_pid=$!
		waitgrep Attaching "$lo" || { cat "$lo" >&2; return 1; }
		sleep 0.5 ;;
	strace)
		strace -c -f -p $tpid -o "$TMP/strace.out" 2>"$lo" &
		tool_pid=$!
		waitgrep attached "$lo" || { cat "$lo" >&2; return 1; } ;;
	esac
	printf g >&7
	waitgrep ns_per_op "$out" || { echo "target did not finish" >&2; return 1; }
	exec 7>&-
	wait $tpid 2>/dev/null
	if [ -n "$tool_pid" ]; then
		[ "$tool" = floor ] && exec 8>&-
		kill -INT $tool_pid 2>/dev/null; wait $tool_pid 2>/dev/null
	fi
	awk '/ns_per_op/{print $2}' "$out"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
measure() { # TOOL MODE N
	local i
	for i in $(seq 1 "$REPS"); do one_run "$@"; done | median
}

printf 'obsprobe bench, %s, %s, kernel %s, %d CPUs\n' "$(date -u +%F)" "$(uname -m)" "$(uname -r)" "$(nproc)"
printf '(ns per operation, median of %d runs; "+ns" is what the tool adds; ratio = added / floor added)\n\n' "$REPS"

declare -A R
for mode in ${MODES:-sys func}; do
	n=$NSYS; [ $mode = func ] && n=$NFUNC
	R[$mode,none]=$(measure none $mode $n)
	R[$mode,floor]=$(measure floor $mode $n)
	R[$mode,obsprobe]=$(measure obsprobe $mode $n)
	[ $mode = sys ] && R[$mode,nonet]=$(measure obsprobe-nonet $mode $n)
	[ -z "${NO_BPFTRACE:-}" ] && R[$mode,bpftrace]=$(measure bpftrace $mode $n)
done
if [ -z "${NO_STRACE:-}" ]; then
	R[sys,strace]=$(REPS=1 measure strace sys $NSTRACE)
	R[sysshort,none]=$(measure none sys $NSTRACE)
fi

add() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="" || b=="") print "n/a"; else printf "%+.0f", a-b }'; }
ratio() { awk -v t="$1" -v f="$2" -v b="$3" 'BEGIN{ if (t=="" || f=="" || f-b<=0) print "n/a"; else printf "%.2fx", (t-b)/(f-b) }'; }

printf '| workload | baseline ns/op | floor: empty BPF (+ns) | obsprobe (+ns) | obsprobe / floor | bpftrace (+ns) | bpftrace / floor | strace -c (+ns) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for mode in ${MODES:-sys func}; do
	label="read(/dev/zero, 1) loop"; [ $mode = func ] && label="traced function loop"
	st="n/a"; [ $mode = sys ] && st=$(add "${R[sys,strace]:-}" "${R[sysshort,none]:-}")
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "${R[$mode,none]}" \
		"$(add "${R[$mode,floor]}" "${R[$mode,none]}")" "$(add "${R[$mode,obsprobe]}" "${R[$mode,none]}")" \
		"$(ratio "${R[$mode,obsprobe]}" "${R[$mode,floor]}" "${R[$mode,none]}")" \
		"$(add "${R[$mode,bpftrace]:-}" "${R[$mode,none]}")" \
		"$(ratio "${R[$mode,bpftrace]:-}" "${R[$mode,floor]}" "${R[$mode,none]}")" "$st"
done
[ -n "${R[sys,nonet]:-}" ] && printf '\nobsprobe --no-net (syscalls only, no socket classification) on the read loop: %s ns/op, %s, %s the floor\n' \
	"${R[sys,nonet]}" "$(add "${R[sys,nonet]}" "${R[sys,none]}")" "$(ratio "${R[sys,nonet]}" "${R[sys,floor]}" "${R[sys,none]}")"
[ -x "$ROOT/tests/bench/shim_bench.sh" ] && { echo; bash "$ROOT/tests/bench/shim_bench.sh"; }
exit 0
