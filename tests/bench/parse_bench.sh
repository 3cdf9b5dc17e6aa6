#!/usr/bin/env bash
# parse_bench.sh -- issue 13's repeatable measure: instructions per HTTP exchange under callgrind, which count the
# same on a loaded VM as on a quiet one (wall-clock here drifts by 20% between rounds).
#   1. the parsing both capture paths share (build/bench/parse_bench: lib/proto/conn.c over HTTP/1, fed one
#      read and one write per exchange): instructions per exchange for each kind of traffic;
#   2. the shim per request (build/bench/http_pair: nginx's calls per keep-alive request, server side through
#      libobsshim.so, client side in raw syscalls): instructions and syscalls per request without and with the shim.
# Each figure is (count at N2 - count at N1) / (N2 - N1): start-up, the segment's creation and the first
# connection's detection drop out.  Syscalls come from strace -c (callgrind counts user space only).
# Prints markdown and writes it to build/bench/parse.md.  Reports, never fails on a figure (a wrong count is a
# failure: each program checks its exchanges).  Environment: N1 (2000), N2 (6000; at most 8000: the segment's ring
# holds 8192 exchanges and nobody drains it here), PORT (7702).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
N1=${N1:-2000}
N2=${N2:-6000}
PORT=${PORT:-7702}
MD=$B/bench/parse.md

command -v valgrind >/dev/null || { echo "(parse bench: valgrind missing, skipped)"; exit 0; }
for f in "$B/bench/parse_bench" "$B/bench/http_pair" "$B/libobsshim.so"; do
	[ -e "$f" ] || { echo "parse_bench: $f missing (make bench builds it)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/obsprobe-parsebench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ir CMD...: the instructions callgrind counted for CMD (its "Collected" line); "" when it failed
ir() {
	local log=$TMP/cg.log
	if ! valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null "$@" >"$TMP/out" 2>"$log"; then
		echo "parse_bench: $* failed: $(tail -3 "$TMP/out" "$log" | tr '\n' ' ')" >&2
		return 0
	fi
	awk '/Collected :/ { s += $NF } END { if (NR) print s }' "$log"
}
# per N1 N2 CMD-PREFIX...: instructions per unit between N1 and N2 (CMD-PREFIX takes the count last)
per() {
	local a b
	a=$(ir "${@:3}" "$1")
	b=$(ir "${@:3}" "$2")
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v n="$(($2 - $1))" 'BEGIN { printf "%.0f", (b - a) / n }'
}
# sys N1 N2 CMD-PREFIX...: syscalls per unit between N1 and N2 (strace -f -c)
sys() {
	local a b
	command -v strace >/dev/null || return 0
	strace -f -c -o "$TMP/sa" "${@:3}" "$1" >/dev/null 2>&1 || return 0
	strace -f -c -o "$TMP/sb" "${@:3}" "$2" >/dev/null 2>&1 || return 0
	a=$(awk '$1 == "total" || $NF == "total" { print $(NF-2) }' "$TMP/sa")
	b=$(awk '$1 == "total" || $NF == "total" { print $(NF-2) }' "$TMP/sb")
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v n="$(($2 - $1))" 'BEGIN { printf "%.2f", (b - a) / n }'
}

{
	echo "### Instructions per HTTP exchange (callgrind, ($N2 - $N1) exchanges)"
	echo
	echo "| parsing alone (lib/proto, both paths) | instructions / exchange |"
	echo "|---|---|"
	for k in wrk browser traced chunked body; do
		echo "| $k | $(per "$N1" "$N2" "$B/bench/parse_bench" "$k") |"
	done
	echo
	rt=$TMP/rt
	mkdir -p "$rt"
	plain=$(per "$N1" "$N2" "$B/bench/http_pair" "$PORT")
	shim=$(per "$N1" "$N2" env OBSPROBE_RUNTIME_DIR="$rt" LD_PRELOAD="$B/libobsshim.so" "$B/bench/http_pair" "$PORT")
	rm -rf "$rt"/*
	splain=$(sys "$N1" "$N2" "$B/bench/http_pair" "$PORT")
	sshim=$(sys "$N1" "$N2" env OBSPROBE_RUNTIME_DIR="$rt" LD_PRELOAD="$B/libobsshim.so" "$B/bench/http_pair" "$PORT")
	rm -rf "$rt"/*
	echo "| nginx's calls per keep-alive request (http_pair) | instructions / request | syscalls / request |"
	echo "|---|---|---|"
	echo "| no shim | $plain | $splain |"
	echo "| libobsshim.so | $shim | $sshim |"
	awk -v p="$plain" -v s="$shim" -v sp="$splain" -v ss="$sshim" 'BEGIN {
		if (p == "" || s == "") { print "| added by the shim | n/a | n/a |"; exit }
		printf "| added by the shim | %+d (%.2fx) | %+.2f |\n", s - p, s / p, ss - sp }'
} | tee "$MD"
