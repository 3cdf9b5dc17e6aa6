#!/usr/bin/env bash
# bpf_nsrun.sh [OBSPROBE]: kernel run-time statistics (kernel.bpf_stats_enabled, restored at exit) of obsprobe's
# sys_enter/sys_exit and of the floor's empty programs, attached at the same time: (b0) the host's other tasks
# only, (b) an untraced read(/dev/zero,1) loop, (a) the same loop traced (with an estimate of the traced runs alone:
# the others counted at their (b0) cost), (c) nginx (2 workers) under wrk -t1 -c16, obsprobe attach defaults.
# Env: N (loop reads, 2000000), D (wrk seconds, 5), CPU (the loop's CPU, 1), NONGINX, PORT_BASE (7900: uses +1..+4).
# floor and obsprobe are attached at the same time, so both see the same syscalls.
set -uo pipefail
B=$(cd "$(dirname "$0")/../.." && pwd)/build
OBS=${1:-$B/obsprobe}
PB=${PORT_BASE:-7900}
N=${N:-2000000}
T=$(mktemp -d /tmp/obsprobe-nsrun.XXXX); chmod 755 $T
ORIG=$(sysctl -n kernel.bpf_stats_enabled)
PIDS=()
cleanup() { sysctl -q -w kernel.bpf_stats_enabled=$ORIG; for p in "${PIDS[@]}"; do kill -KILL $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
waitgrep() { local i; for i in $(seq 1 200); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
up() { local i; for i in $(seq 1 200); do curl -sf -o /dev/null -m 1 "$1" && return 0; sleep 0.1; done; return 1; }
progs() { # PID... -> "name run_time_ns run_cnt" (name prefixed by owner tag)
	local tag=$1 pid=$2 ids
	ids=$(cat /proc/$pid/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -un | jq -sc .)
	bpftool prog show -j | jq -r --argjson ids "$ids" --arg tag $tag '.[] | select(.id as $i | any($ids[]; . == $i)) | "\($tag):\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}
snap() { { progs floor $FLOOR; progs obs $OBSP; } | grep -E 'enter|exit' | grep -v proc_exit ; }
report() { # label file0 file1 [bfile]: with bfile (the untraced run's "name ns/run"), also the traced-only estimate
	join <(sort $2) <(sort $3) | join -a1 - <(sort ${4:-/dev/null}) | awk -v l="$1" -v n=$N -v est=${4:+1} '{dt=$4-$2; dc=$5-$3; if (dc<=0) next;
	  printf "%s %-18s runs %9d  ns/run %6.1f", l, $1, dc, dt/dc
	  if (est && $1 ~ /^obs/ && dc > n) printf "  traced-only est %6.1f (others %d at %.1f)", (dt - (dc-n)*$6)/n, dc-n, $6
	  printf "\n"}'
}
keep() { join <(sort $1) <(sort $2) | awk '{dt=$4-$2; dc=$5-$3; if (dc>0) print $1, dt/dc}' >$3; }
# a first, sacrificial floor: the first program on a tracepoint measures ~15 ns more (seen here), whoever it is
mkfifo $T/fin0; $B/bench/floor sys $B/bench/floor.bpf.o <$T/fin0 >$T/floor0.log 2>&1 & PIDS+=($!); exec 6>$T/fin0
waitgrep attached $T/floor0.log || exit 1
mkfifo $T/fin; $B/bench/floor sys $B/bench/floor.bpf.o <$T/fin >$T/floor.log 2>&1 & FLOOR=$!; PIDS+=($FLOOR); exec 8>$T/fin
waitgrep attached $T/floor.log || { echo floor failed; cat $T/floor.log; exit 1; }
loop() { # -> runs loop (traced if $1=traced)
	local mode=$1 in=$T/in.$RANDOM
	mkfifo $in; taskset -c ${CPU:-1} $B/targets/loop sys $N <$in >$T/loop.out & LP=$!; PIDS+=($LP); exec 7>$in
	waitgrep ready $T/loop.out
}
# (b) untraced: obsprobe traces a sleeper
sleep 300 & SL=$!; PIDS+=($SL)
$OBS attach --pid $SL --listen 127.0.0.1:$((PB+1)) -q 2>$T/obs.b.err & OBSP=$!; PIDS+=($OBSP)
up http://127.0.0.1:$((PB+1))/health/ready || { cat $T/obs.b.err; exit 1; }
# (b0) idle: only the other tasks of the host (untraced), 5 s: their own per-run cost, for the (a) estimate
sysctl -q -w kernel.bpf_stats_enabled=1; snap >$T/i0; sleep 5; snap >$T/i1; sysctl -q -w kernel.bpf_stats_enabled=$ORIG
report "(b0) others idle  " $T/i0 $T/i1; keep $T/i0 $T/i1 $T/ins
loop untraced
sysctl -q -w kernel.bpf_stats_enabled=1; snap >$T/b0
printf g >&7; waitgrep ns_per_op $T/loop.out; exec 7>&-
snap >$T/b1; sysctl -q -w kernel.bpf_stats_enabled=$ORIG
report "(b) untraced loop " $T/b0 $T/b1; keep $T/b0 $T/b1 $T/bns; echo "(b) loop: $(awk '{print $2}' $T/loop.out | tail -1) ns/op"
kill -INT $OBSP; wait $OBSP
# (a) traced loop
loop traced
$OBS attach --pid $LP --listen 127.0.0.1:$((PB+2)) -q 2>$T/obs.a.err & OBSP=$!; PIDS+=($OBSP)
up http://127.0.0.1:$((PB+2))/health/ready || { cat $T/obs.a.err; exit 1; }
sysctl -q -w kernel.bpf_stats_enabled=1; snap >$T/a0
printf g >&7; waitgrep ns_per_op $T/loop.out; exec 7>&-
snap >$T/a1; sysctl -q -w kernel.bpf_stats_enabled=$ORIG
report "(a) traced loop   " $T/a0 $T/a1 $T/ins; echo "(a) loop: $(awk '{print $2}' $T/loop.out | tail -1) ns/op"
kill -INT $OBSP; wait $OBSP
# (c) nginx
[ -n "${NONGINX:-}" ] && exit 0
head -c 700 /dev/zero | tr '\0' x >$T/page.html; mkdir -p $T/ng/logs
cat >$T/ng/nginx.conf <<NGX
worker_processes 2; daemon off; pid $T/ng/nginx.pid; error_log $T/ng/error.log;
events { worker_connections 256; }
http { access_log off; keepalive_requests 1000000;
 client_body_temp_path $T/ng/b; proxy_temp_path $T/ng/p; fastcgi_temp_path $T/ng/f; uwsgi_temp_path $T/ng/u; scgi_temp_path $T/ng/s;
 server { listen 127.0.0.1:$((PB+3)); root $T; location / { try_files /page.html =404; } } }
NGX
nginx -c $T/ng/nginx.conf -p $T/ng 2>$T/ng.err & NG=$!; PIDS+=($NG)
up http://127.0.0.1:$((PB+3))/ || { cat $T/ng.err; exit 1; }
sleep 0.3; W=$(pgrep -P $NG | tr '\n' ,)
$OBS attach --pid $NG,${W%,} --listen 127.0.0.1:$((PB+4)) --spans-file /dev/null -q 2>$T/obs.c.err & OBSP=$!; PIDS+=($OBSP)
up http://127.0.0.1:$((PB+4))/health/ready || { cat $T/obs.c.err; exit 1; }
wrk -t1 -c16 -d1s http://127.0.0.1:$((PB+3))/ >/dev/null
sysctl -q -w kernel.bpf_stats_enabled=1; snap >$T/c0
wrk -t1 -c16 -d${D:-5}s http://127.0.0.1:$((PB+3))/ >$T/wrk
snap >$T/c1; sysctl -q -w kernel.bpf_stats_enabled=$ORIG
report "(c) nginx         " $T/c0 $T/c1; echo "(c) $(grep Requests/sec $T/wrk) $(grep 'requests in' $T/wrk)"
REQ=$(awk '/requests in/ { print $1 }' $T/wrk)
join <(sort $T/c0) <(sort $T/c1) | awk -v r=$REQ '{dt=$4-$2; if ($1 ~ /^obs:sys_(enter|exit)$/) o+=dt; else if ($1 ~ /^floor:/) f+=dt}
  END { printf "(c) per request: obsprobe sys_enter+sys_exit %.0f ns, floor %.0f ns, added over floor %.0f ns\n", o/r, f/r, (o-f)/r }'
kill -INT $OBSP; wait $OBSP; kill -QUIT $NG; wait $NG
rm -rf $T
