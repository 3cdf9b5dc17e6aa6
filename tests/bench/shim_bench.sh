#!/usr/bin/env bash
# shim_bench.sh -- what the shim adds per write(/dev/null, 1 byte): no shim, the shim, OBSPROBE_DISABLE=1, ltrace
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
N=${NWRITE:-2000000}
NL=${NLTRACE:-2000}
REPS=${REPS:-3}
RT=$(mktemp -d /tmp/obsprobe-shimbench.XXXXXX)
trap 'rm -rf "$RT"' EXIT

one() { printf g | env "$@" 2>/dev/null | awk '/ns_per_op/{print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
m() { local i; for i in $(seq 1 "$REPS"); do one "$@"; rm -f "$RT"/obsprobe-*; done | median; }

base=$(m "$B/targets/loop" write $N)
shim=$(m OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$B/libobsshim.so "$B/targets/loop" write $N)
off=$(m OBSPROBE_DISABLE=1 OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$B/libobsshim.so "$B/targets/loop" write $N)
lbase=$(REPS=1 m "$B/targets/loop" write $NL)
lt=""
command -v ltrace >/dev/null && lt=$(printf g | ltrace -e write -o /dev/null "$B/targets/loop" write $NL 2>/dev/null | awk '/ns_per_op/{print $2}')

add() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="" || b=="") print "n/a"; else printf "%+.1f", a-b }'; }
printf '| write(/dev/null, 1) through libc | ns/op | added ns/op | ratio |\n|---|---|---|---|\n'
printf '| no shim | %s | | 1.00x |\n' "$base"
printf '| libobsshim.so | %s | %s | %s |\n' "$shim" "$(add "$shim" "$base")" "$(awk -v a="$shim" -v b="$base" 'BEGIN{printf "%.2fx", a/b}')"
printf '| libobsshim.so, OBSPROBE_DISABLE=1 | %s | %s | %s |\n' "$off" "$(add "$off" "$base")" "$(awk -v a="$off" -v b="$base" 'BEGIN{printf "%.2fx", a/b}')"
printf '| ltrace -e write (%d calls) | %s | %s | %s |\n' "$NL" "${lt:-n/a}" "$(add "$lt" "$lbase")" "$(awk -v a="$lt" -v b="$lbase" 'BEGIN{ if (a=="") print "n/a"; else printf "%.0fx", a/b}')"
