#!/usr/bin/env bash
# run.sh -- make bench: what each tracer adds per traced event, measured in one run, as ratios.
# Workloads: read(/dev/zero, 1 byte) in a loop; a loop calling one traced function.
# Tools: none (baseline), the kernel floor (empty BPF programs on the same hooks), the timing floor (the least a
# syscall latency histogram needs: tests/bench/floor.bpf.c), obsprobe,
# bpftrace doing the equivalent histogram, strace -c (syscalls, shorter run). REPS interleaved rounds (the order of
# the tools rotates each round); the goals of issue 13 (syscall path <= 1.3x the floor's added cost, function timing
# <= 1.05x the empty uprobe pair's) from the medians, with the per-round ratios' median and spread. Reports, never
# fails on a figure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
TMP=$(mktemp -d /tmp/obsprobe-bench.XXXXXX)
REPS=${REPS:-5}
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
	timing) # the least a syscall latency histogram of the target needs (floor.bpf.c time_enter/time_exit)
		mkfifo "$TMP/fin"
		"$B/bench/floor" time "$B/bench/floor.bpf.o" $tpid <"$TMP/fin" >"$lo" 2>&1 &
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
		case $tool in floor | timing) exec 8>&- ;; esac
		kill -INT $tool_pid 2>/dev/null; wait $tool_pid 2>/dev/null
	fi
	awk '/ns_per_op/{print $2}' "$out"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

printf 'obsprobe bench, %s, %s, kernel %s, %d CPUs\n' "$(date -u +%F)" "$(uname -m)" "$(uname -r)" "$(nproc)"
printf '(ns per operation, median of %d interleaved rounds (the order rotates each round); "+ns" is what the tool adds; ratio = added / floor added)\n\n' "$REPS"

# V[MODE,TOOL,REP]: ns per op of that round's run; R[MODE,TOOL]: the median over the rounds
declare -A R V
for mode in ${MODES:-sys func}; do
	n=$NSYS; [ $mode = func ] && n=$NFUNC
	tools=(none floor obsprobe)
	[ $mode = sys ] && tools+=(obsprobe-nonet timing)
	[ -z "${NO_BPFTRACE:-}" ] && tools+=(bpftrace)
	for rep in $(seq 1 "$REPS"); do
		for i in $(seq 0 $((${#tools[@]} - 1))); do
			t=${tools[$(((i + rep - 1) % ${#tools[@]}))]}
			V[$mode,$t,$rep]=$(one_run $t $mode $n)
		done
	done
	for t in "${tools[@]}"; do
		k=$t; [ $t = obsprobe-nonet ] && k=nonet
		R[$mode,$k]=$(for rep in $(seq 1 "$REPS"); do echo "${V[$mode,$t,$rep]}"; done | grep . | median)
	done
done
if [ -z "${NO_STRACE:-}" ]; then
	R[sys,strace]=$(one_run strace sys $NSTRACE)
	R[sysshort,none]=$(for i in $(seq 1 "$REPS"); do one_run none sys $NSTRACE; done | median)
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
[ -n "${R[sys,timing]:-}" ] && printf '\ntiming floor (the least a syscall latency histogram of the target needs: two clock reads, task storage, a bucket) on the read loop: %s ns/op, %s, %s the floor; obsprobe adds %s the timing floor'"'"'s added cost\n' \
	"${R[sys,timing]}" "$(add "${R[sys,timing]}" "${R[sys,none]}")" "$(ratio "${R[sys,timing]}" "${R[sys,floor]}" "${R[sys,none]}")" \
	"$(ratio "${R[sys,obsprobe]}" "${R[sys,timing]}" "${R[sys,none]}")"
[ -n "${R[sys,nonet]:-}" ] && printf '\nobsprobe --no-net (syscalls only, no socket classification) on the read loop: %s ns/op, %s, %s the floor\n' \
	"${R[sys,nonet]}" "$(add "${R[sys,nonet]}" "${R[sys,none]}")" "$(ratio "${R[sys,nonet]}" "${R[sys,floor]}" "${R[sys,none]}")"

# goals (issue 13): the figure from the medians; per round, (obsprobe - untraced) / (floor - untraced) of that round
goal() { # MODE WHAT LIMIT
	local per
	per=$(for rep in $(seq 1 "$REPS"); do
		awk -v t="${V[$1,obsprobe,$rep]:-}" -v f="${V[$1,floor,$rep]:-}" -v b="${V[$1,none,$rep]:-}" \
			'BEGIN { if (t != "" && f != "" && b != "" && f - b > 0) printf "%.3f\n", (t - b) / (f - b) }'
	done | sort -n)
	awk -v fig="$(ratio "${R[$1,obsprobe]:-}" "${R[$1,floor]:-}" "${R[$1,none]:-}")" -v what="$2" -v lim="$3" \
		-v per="$(echo $per)" 'BEGIN { n = split(per, p, " "); f = fig; sub(/x$/, "", f)
		printf "- %s: %s (goal <= %.2fx): %s; per round: ", what, fig, lim, fig == "n/a" ? "n/a" : (f + 0 <= lim ? "met" : "not met")
		if (n) printf "median %.2fx, %.2fx .. %.2fx over %d rounds\n", p[int((n + 1) / 2)], p[1], p[n], n; else print "n/a" }'
}
printf '\nGoals (issue 13):\n'
case " ${MODES:-sys func} " in *" sys "*) goal sys "syscall path (read loop): obsprobe's added cost / the floor's" 1.3 ;; esac
case " ${MODES:-sys func} " in *" func "*) goal func "function timing (--func): obsprobe's added cost / an empty uprobe+uretprobe pair's" 1.05 ;; esac
[ -x "$ROOT/tests/bench/shim_bench.sh" ] && { echo; bash "$ROOT/tests/bench/shim_bench.sh"; }
exit 0
