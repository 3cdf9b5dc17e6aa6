#!/usr/bin/env bash
# run.sh -- every test: unit (Check, also under ASan+UBSan), fuzz harnesses briefly, integration (real eBPF
# as root, the shim, real peers), alert rules.
# Prints one line per test and a total; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

pass=0 fail=0 skip=0 failed=()
run() { # name command...
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS  %s\n' "$name"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP  %s: %s\n' "$name" "$(printf '%s\n' "$out" | grep -m1 '^SKIP' | sed 's/^SKIP:\? *//')"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL  %s (exit %d)\n' "$name" "$rc"
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/      | /'
	fi
}

# the tree follows .clang-format (make format fixes what this reports)
run "lint/format" make -s format-check
# Check kills a test after CK_DEFAULT_TIMEOUT seconds (its default is 4): a hang guard, not a timing assert;
# 60 so a loaded machine does not fail a test that is only slow
for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" env CK_VERBOSITY=normal CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60} "$t"
done
# the same unit tests built with ASan + UBSan (make asan): any report fails the test
for t in build/asan/tests/test_*; do
	[ -x "$t" ] || continue
	run "asan/$(basename "$t")" env CK_VERBOSITY=normal CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60} UBSAN_OPTIONS=print_stacktrace=1 "$t"
done
# each libFuzzer harness (make fuzz-build): its corpus replayed, then $FUZZ_TEST_SECONDS (10) of fuzzing
for t in build/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue # not the corpus-* directories or logs of make fuzz
	run "fuzz/$(basename "$t")" bash tests/fuzz/run.sh test "$t"
done
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	run "integration/$(basename "$t" .sh)" timeout 600 bash "$t"
done

echo "----"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[*]}"; exit 1; }
