#!/usr/bin/env bash
# test_run.sh -- obsprobe run: CMD traced from its first instruction, its stdio passed through,
# its exit status returned, library functions by OBJ:GLOB, and the exit summary.
source "$(dirname "$0")/lib.sh"
need_root

P=$(free_port)
printf g | DONE_EXIT=1 "$OBSPROBE" run --listen 127.0.0.1:$P --func 'work_*' --func 'libc.so.6:syscall' \
	-- "$TARGETS/worker" 20 1000 1000 500 >"$TMP/out" 2>"$TMP/err"
check "run returns CMD's exit status" 0 $?
grep -q '^ready [0-9]*$' "$TMP/out" && grep -q '^done$' "$TMP/out" && ok "CMD's stdout passes through" || bad "stdout: $(cat "$TMP/out")"
grep -q "tracing worker (pid" "$TMP/err" && ok "start line" || bad "start line: $(head -2 "$TMP/err")"
row() { grep -E "^  $1 " "$TMP/err" | head -1 | awk '{for (i=1;i<=NF;i++) if ($i=="count") print $(i+1)}'; }
check "summary: work_1ms count" 20 "$(row 'work_1ms \(worker\)')"
check "summary: work_fast count" 1000 "$(row 'work_fast \(worker\)')"
check "summary: getppid syscalls of parent and forked child" 1500 "$(row getppid)"
n=$(row 'syscall \(libc.so.6\)')
[ "${n:-0}" -ge 1000 ] && [ "${n:-0}" -le 1500 ] && ok "library function libc.so.6:syscall traced ($n calls; 1000 by the parent)" || bad "libc syscall(): '$n'"

"$OBSPROBE" run -q --listen 127.0.0.1:$P -- sh -c 'exit 3' 2>"$TMP/err3"
check "exit status 3 passed on" 3 $?
"$OBSPROBE" run -q --listen 127.0.0.1:$P -- sh -c 'kill -TERM $$' 2>"$TMP/err4"
check "killed by SIGTERM gives 128+15" 143 $?
out=$(echo hello | "$OBSPROBE" run -q --listen 127.0.0.1:$P -- cat 2>/dev/null)
check "stdin passes through" hello "$out"
finish
