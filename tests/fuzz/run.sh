#!/usr/bin/env bash
# run.sh -- run libFuzzer harnesses: briefly on their corpus (make test), or for a while (make fuzz).
#   run.sh test BIN            replay every file of tests/fuzz/corpus/NAME, then fuzz $FUZZ_TEST_SECONDS
#                              (default 10) from a throw-away copy of it; exit non-zero on any crash
#   run.sh fuzz SECONDS BIN... each harness in turn for SECONDS on build/fuzz/corpus-NAME (a copy of the
#                              committed corpus that keeps what it finds), then a table of executions
# Crash inputs are written to build/fuzz/crashes/NAME-*; add each (minimised) to the corpus by hand.
set -uo pipefail
cd "$(dirname "$0")/../.."

OUTDIR=build/fuzz

# libFuzzer's flags for every run: one job, no input larger than 64 KiB, 10 s per input at most, and
# exit 1 on a crash or timeout (libFuzzer's default 77 would read as SKIP in tests/run.sh)
common=(-print_final_stats=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1)

# executions of a finished run, from its -print_final_stats output
executions() {
	sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$1" | tail -n 1
}

run_test() { # BIN
	local bin=$1 name corpus work rc files=()
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/$name
	mkdir -p "$OUTDIR/crashes"
	[ -d "$corpus" ] && files=("$corpus"/*)
	[ -e "${files[0]:-}" ] || files=()
	if [ ${#files[@]} -gt 0 ]; then
		"$bin" "${common[@]}" -artifact_prefix="$OUTDIR/crashes/$name-" "${files[@]}" || {
			echo "fuzz: $name crashed on a corpus file (above)"
			return 1
		}
	fi
	work=$(mktemp -d)
	[ ${#files[@]} -gt 0 ] && cp "${files[@]}" "$work"/
	"$bin" "${common[@]}" -max_total_time="${FUZZ_TEST_SECONDS:-10}" \
		-artifact_prefix="$OUTDIR/crashes/$name-" "$work"
	rc=$?
	rm -rf "$work"
	[ $rc -eq 0 ] || echo "fuzz: $name crashed after replaying its corpus; the input is in $OUTDIR/crashes/"
	return $rc
}

run_fuzz() { # SECONDS BIN...
	local secs=$1 bin name work log rc n rows=() failed=0
	shift
	mkdir -p "$OUTDIR/crashes"
	for bin in "$@"; do
		name=$(basename "$bin")
		work=$OUTDIR/corpus-$name
		log=$OUTDIR/$name.log
		mkdir -p "$work"
		[ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
		printf 'fuzz: %s for %s s (log: %s)\n' "$name" "$secs" "$log"
		"$bin" "${common[@]}" -max_total_time="$secs" -artifact_prefix="$OUTDIR/crashes/$name-" \
			"$work" >"$log" 2>&1
		rc=$?
		n=$(executions "$log")
		[ $rc -eq 0 ] || failed=1
		rows+=("$(printf '%-20s %8s %14s %10s  %s' "$name" "$secs" "${n:-?}" "$(ls "$work" | wc -l)" \
			"$([ $rc -eq 0 ] && echo ok || echo "CRASH (see $log)")")")
	done
	echo
	printf '%-20s %8s %14s %10s  %s\n' harness seconds executions corpus result
	printf '%s\n' "${rows[@]}"
	return $failed
}

case "${1:-}" in
test) run_test "$2" ;;
fuzz) shift; run_fuzz "$@" ;;
*) echo "usage: $0 test BIN | fuzz SECONDS BIN..." >&2; exit 2 ;;
esac
