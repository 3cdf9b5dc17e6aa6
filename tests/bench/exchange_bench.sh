#!/bin/bash
# exchange_bench.sh -- instructions per finished HTTP exchange in the collector (traces__start_exchange +
# traces__end_exchange: RED metrics, describe, redaction, routes, spans), counted by callgrind so the figure holds
# on a loaded machine.  Prints; never fails on a figure.
set -u
BIN=${BIN:-build/bench/exchange_bench}
N=${N:-20000}
if ! command -v valgrind >/dev/null; then
	echo "exchange_bench: no valgrind: ns per exchange instead (wall clock, indicative only)"
	for mode in nosink sampled_out client file; do "$BIN" "$N" "$mode"; done
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-12s %12s\n' mode instr/exchange
for mode in nosink sampled_out client file; do
	valgrind --tool=callgrind --toggle-collect=traces__start_exchange --toggle-collect=traces__end_exchange --callgrind-out-file="$tmp/cg.$mode" "$BIN" "$N" "$mode" \
		>/dev/null 2>"$tmp/err.$mode" || { echo "$mode: failed ($(tail -1 "$tmp/err.$mode"))"; continue; }
	ir=$(sed -n 's/^summary: *//p' "$tmp/cg.$mode")
	# the warm-up loop (64 exchanges) is inside run() too
	printf '%-12s %12d\n' "$mode" $((ir / (N + 64)))
done
