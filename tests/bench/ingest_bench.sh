#!/bin/bash
# ingest_bench.sh -- instructions per HTTP exchange on the collector's ingest path (ring record -> demux ->
# reorder -> HTTP parser -> RED metrics), counted by callgrind inside feed_all(): repeatable on a loaded machine.
# Prints one line; never fails on a figure.
cd "$(dirname "$0")/../.." || exit 0
bin=${INGEST_BENCH:-build/bench/ingest_bench}
n=${1:-20000}
if ! command -v valgrind >/dev/null; then
	echo "ingest_bench: SKIP: valgrind not installed"
	exit 0
fi
out=$(mktemp)
valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect=feed_all "$bin" "$n" >/dev/null 2>&1
ann=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null)
rm -f "$out"
ir=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' <<<"$ann")
incl() { awk -v f=":$1 " 'index($0, f) { gsub(",", "", $1); print $1; exit }' <<<"$ann"; }
# ingest: what demux__event (the ring callback's work) and demux__flush cost, less the protocol parser (with the
# sink calls it makes: the held operations built and queued) and the trace decisions, spans and RED metrics popped
# from the queue; the bench's own record building is left out
parse=$(incl proto_conn__feed)
traces=$(($(incl traces__start_exchange) + $(incl traces__end_exchange)))
ingest=$(($(incl demux__event) + $(incl demux__flush) - ${parse:-0} - ${traces:-0}))
if [ -z "$ir" ]; then
	echo "ingest_bench: no figure (callgrind failed)"
	exit 0
fi
echo "ingest_bench: $((ir / n)) instructions per HTTP exchange, $((ingest / n)) of them on the ingest path (ring record to parser)" \
	"(callgrind, $n keep-alive exchanges, 16 connections)"
