#!/bin/bash
# encode_bench.sh -- instructions per span of the OTLP encoders (protobuf, OTLP/JSON batch, --spans-file line) and
# of gzipping the protobuf batch at zlib level 1 (what the exporter uses) and 6 (zlib's default), counted by
# callgrind over run() so the figures hold on a loaded machine; with bytes per span.  Prints; never fails on a figure.
set -u
BIN=${BIN:-build/bench/encode_bench}
N=${N:-20480}
BATCH=${BATCH:-512}
if ! command -v valgrind >/dev/null; then
	echo "encode_bench: no valgrind"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-8s %12s %14s\n' mode instr/span bytes/span
for mode in pb json line gzip1 gzip6; do
	valgrind --tool=callgrind --toggle-collect=run --callgrind-out-file="$tmp/cg.$mode" "$BIN" "$N" "$mode" "$BATCH" \
		>"$tmp/out.$mode" 2>"$tmp/err.$mode" || { echo "$mode: failed ($(tail -1 "$tmp/err.$mode"))"; continue; }
	ir=$(sed -n 's/^summary: *//p' "$tmp/cg.$mode")
	read -r _ _ n _ _ _ bps <"$tmp/out.$mode"
	printf '%-8s %12d %14s\n' "$mode" $((ir / n)) "$bps"
done
echo "(gzipN: encoding the protobuf batch and compressing it; the compression alone is gzipN - pb)"
