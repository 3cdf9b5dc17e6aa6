#!/usr/bin/env bash
# nginx_bench.sh -- issue 13's nginx table: what each tracer takes from nginx's request rate on this machine.
# nginx (master + WORKERS workers, a 700-byte page, keep-alive) under `wrk -t1 -cCONNS -dDs`; setups: untraced, the
# kernel floor (empty tp_btf sys_enter/sys_exit on every task), the timing floor (the least a syscall latency
# histogram of nginx's pids needs: tests/bench/floor.bpf.c), obsprobe attach with its defaults, the same with each
# feature off in turn, bpftrace's syscall latency histogram for nginx's pids, nginx under libobsshim.so + `obsprobe
# serve`. ROUNDS interleaved rounds (the order rotates each round); a setup's loss is taken against the untraced
# figure of the same round; the table gives the median loss, its spread and the ratio to the floor's median loss.
# The tool's CPU per request (its threads' run time from /proc/PID/task/*/schedstat over the measured run / wrk's requests) and its peak RSS (VmHWM) are read
# from /proc; a last eBPF-defaults run (not in the table) has the floor's empty programs attached beside obsprobe's
# and the kernel's run-time statistics on (a BPF_ENABLE_STATS descriptor the floor holds): run time per BPF program,
# obsprobe's next to the floor's in the same run. The shim rounds read the shim's own measured work
# (obsprobe_probe_cpu_seconds_total{program="shim"}) per request. A goals table (issue 13) closes: each goal's
# figure, the median and spread of its per-round values. Nothing is pinned: the tool's CPU is taken from nginx and
# wrk as it would be in production. Prints markdown and writes it to build/bench/nginx.md. Reports, never fails on
# a figure.
# Environment: ROUNDS (5), D (seconds per wrk run, 5), WARM (warm-up seconds, 1), CONNS (16), WORKERS (2),
# SETUPS (a subset, in order), BPF_STATS (1; 0 skips the stats runs), STATS_ROUNDS (3), PORT_BASE/PORT_SPAN
# (7850/50).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-5}
D=${D:-5}
WARM=${WARM:-1}
CONNS=${CONNS:-16}
WORKERS=${WORKERS:-2}
PORT_BASE=${PORT_BASE:-7850}
PORT_SPAN=${PORT_SPAN:-50}
BPF_STATS=${BPF_STATS:-1}
STATS_ROUNDS=${STATS_ROUNDS:-3}
ALL="untraced floor timing ebpf ebpf-no-http ebpf-no-logs ebpf-no-net ebpf-no-syscalls ebpf-no-tls bpftrace shim"
SETUPS=${SETUPS:-$ALL}
MD=$B/bench/nginx.md

for t in nginx wrk bpftool; do command -v $t >/dev/null || { echo "(nginx bench: $t missing, skipped)"; exit 0; }; done
for f in "$B/obsprobe" "$B/libobsshim.so" "$B/bench/floor" "$B/bench/floor.bpf.o"; do
	[ -e "$f" ] || { echo "nginx_bench: $f missing (make bench builds it)" >&2; exit 1; }
done
case " $SETUPS " in *" untraced "*) ;; *) SETUPS="untraced $SETUPS" ;; esac # every loss needs its round's base

TMP=$(mktemp -d /tmp/obsprobe-nginxbench.XXXXXX)
chmod 755 "$TMP"
OURS=() # every pid this script started: the only ones it ever signals
cleanup() {
	local p
	for p in "${OURS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
head -c 700 /dev/zero | tr '\0' x >"$TMP/page.html"

PORT_I=0
next_port() { # -> NEXT_PORT: the next port of our range nobody listens on
	local i p
	for i in $(seq 1 "$PORT_SPAN"); do
		p=$((PORT_BASE + PORT_I % PORT_SPAN))
		PORT_I=$((PORT_I + 1))
		[ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ] && { NEXT_PORT=$p; return 0; }
	done
	return 1
}
up() { local i; for i in $(seq 1 150); do curl -sf -o /dev/null -m 1 "$1" && return 0; sleep 0.1; done; return 1; }
waitgrep() { local i; for i in $(seq 1 150); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
stop() { # PID SIGNAL: signal, wait up to 10 s, then SIGKILL; always reaps
	[ -n "$1" ] || return 0
	kill -"$2" "$1" 2>/dev/null
	local i
	for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
# the CPU time of all of PID's threads, in ns (schedstat: the scheduler's own account, not 10 ms ticks; a thread
# that ends during the run takes its share with it)
cpu_ns() { [ -d "/proc/$1/task" ] && cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
wrk_run() { # SECONDS URL OUTFILE
	timeout -k 5 $(($1 + 30)) wrk -t1 -c"$CONNS" -d"$1s" --timeout 5s "$2" >"$3" 2>&1
}
progs() { # PID -> "id name run_time_ns run_cnt" of the BPF programs that process holds (prog_id in its fdinfo:
	# the fds of its programs and links; this bpftool has no pid column)
	local ids
	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -un | jq -sc .)
	bpftool prog show -j 2>/dev/null | jq -r --argjson ids "${ids:-[]}" \
		'.[] | select(.id as $i | any($ids[]; . == $i)) | "\(.id) \(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

nginx_conf() { # DIR PORT
	mkdir -p "$1/logs"
	cat >"$1/nginx.conf" <<NGX
worker_processes $WORKERS;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 256; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $1/b; proxy_temp_path $1/p; fastcgi_temp_path $1/f; uwsgi_temp_path $1/u; scgi_temp_path $1/s;
	server {
		listen 127.0.0.1:$2;
		root $TMP;
		location / { try_files /page.html =404; }
	}
}
NGX
}

# give_up WHY LOG: one()'s setup failed: say why, stop what it started (one()'s locals, by bash's dynamic scope)
give_up() {
	echo "nginx_bench: $s: $1: $(head -3 "$2" 2>/dev/null)" >&2
	[ -n "$floorw" ] && exec 8>&-
	[ -n "$sfloor" ] && exec 6>&-
	stop "$tool" INT
	stop "$sfloor" INT
	stop "$master" QUIT
}
shim_work_ns() { # PORT -> the shim's own measured work so far, ns (sampled: see docs/SPEC.md "Overhead budget")
	curl -sf -m 5 "http://127.0.0.1:$1/metrics" |
		awk '$1 == "obsprobe_probe_cpu_seconds_total{program=\"shim\"}" { printf "%.0f", $2 * 1e9 }'
}

# one SETUP ROUND [stats]: one nginx, one tool, a warm-up, then the measured wrk run; appends
# "ROUND SETUP REQ/S REQUESTS ERRORS TOOL_CPU_US_PER_REQ TOOL_HWM_KB" to $TMP/res ("-" where there is no tool)
one() {
	local s=$1 r=$2 stats=${3:-} d=$TMP/$1.$2 np lp master="" tool="" floorw="" sfloor="" workers pids url i c0 c1 hwm
	local flags=() cpu="-" mem="-" w0="" w1=""
	next_port || { echo "nginx_bench: no free port in $PORT_BASE+$PORT_SPAN" >&2; return 1; }
	np=$NEXT_PORT
	next_port || return 1
	lp=$NEXT_PORT
	url="http://127.0.0.1:$np/"
	rm -rf "$d"
	nginx_conf "$d" "$np"
	if [ "$s" = shim ]; then
		mkdir -p "$d/rt" && chmod 1777 "$d/rt" # the workers run as nobody and make their own segments
		OBSPROBE_RUNTIME_DIR=$d/rt "$B/obsprobe" serve --listen 127.0.0.1:$lp --spans-file /dev/null -q 2>"$d/tool.err" &
		tool=$!
		OURS+=("$tool")
		up "http://127.0.0.1:$lp/health/live" || { give_up "serve did not start" "$d/tool.err"; return 1; }
		OBSPROBE_RUNTIME_DIR=$d/rt OBSPROBE_SERVICE=nginx LD_PRELOAD=$B/libobsshim.so \
			nginx -c "$d/nginx.conf" -p "$d" 2>>"$d/nginx.err" &
	else
		nginx -c "$d/nginx.conf" -p "$d" 2>>"$d/nginx.err" &
	fi
	master=$!
	OURS+=("$master")
	up "$url" || { give_up "nginx did not serve" "$d/nginx.err"; return 1; }
	for i in $(seq 1 50); do
		workers=$(pgrep -P $master | tr '\n' ' ')
		[ "$(echo $workers | wc -w)" -ge "$WORKERS" ] && break
		sleep 0.1
	done
	pids="$master $workers"
	case $s in
	floor | timing)
		mkfifo "$d/fin"
		if [ "$s" = floor ]; then
			"$B/bench/floor" sys "$B/bench/floor.bpf.o" <"$d/fin" >"$d/tool.err" 2>&1 &
		else
			"$B/bench/floor" time "$B/bench/floor.bpf.o" $pids <"$d/fin" >"$d/tool.err" 2>&1 &
		fi
		tool=$!
		OURS+=("$tool")
		exec 8>"$d/fin"
		floorw=1
		waitgrep attached "$d/tool.err" || { give_up "not attached" "$d/tool.err"; return 1; } ;;
	ebpf*)
		[ "$s" != ebpf ] && flags=("--${s#ebpf-}")
		"$B/obsprobe" attach --pid "$(echo $pids | tr ' ' ,)" --listen 127.0.0.1:$lp --spans-file /dev/null -q \
			"${flags[@]}" 2>"$d/tool.err" &
		tool=$!
		OURS+=("$tool")
		up "http://127.0.0.1:$lp/health/ready" || { give_up "obsprobe not ready" "$d/tool.err"; return 1; } ;;
	bpftrace)
		local pred
		pred=$(for p in $pids; do printf 'pid == %s || ' $p; done)
		bpftrace -e "tracepoint:raw_syscalls:sys_enter /${pred% || }/ { @s[tid] = nsecs; }
			tracepoint:raw_syscalls:sys_exit /@s[tid]/ { @h[args->id] = hist(nsecs - @s[tid]); delete(@s[tid]); }" \
			>"$d/tool.err" 2>&1 &
		tool=$!
		OURS+=("$tool")
		waitgrep Attaching "$d/tool.err" || { give_up "not attached" "$d/tool.err"; return 1; }
		sleep 0.5 ;; # "Attaching" comes before the probes are on
	shim) up "http://127.0.0.1:$lp/health/ready" || { give_up "serve not ready" "$d/tool.err"; return 1; } ;;
	esac
	if [ -n "$stats" ]; then # the floor's programs beside obsprobe's, and the statistics on, held by the floor
		mkfifo "$d/sfin"
		"$B/bench/floor" sys "$B/bench/floor.bpf.o" stats <"$d/sfin" >"$d/sfloor.log" 2>&1 &
		sfloor=$!
		OURS+=("$sfloor")
		exec 6>"$d/sfin"
		waitgrep attached "$d/sfloor.log" || { give_up "floor (stats) not attached" "$d/sfloor.log"; return 1; }
	fi
	[ "$WARM" != 0 ] && wrk_run "$WARM" "$url" "$d/warm"
	if [ -n "$stats" ]; then
		progs $tool >"$d/progs.0"
		progs $sfloor >"$d/fprogs.0"
	fi
	[ "$s" = shim ] && w0=$(shim_work_ns $lp) && w0=${w0:-0} # no series yet: no work yet
	[ -n "$tool" ] && c0=$(cpu_ns $tool)
	wrk_run "$D" "$url" "$d/wrk"
	[ -n "$tool" ] && c1=$(cpu_ns $tool) && hwm=$(hwm_kb $tool)
	[ "$s" = shim ] && w1=$(shim_work_ns $lp)
	if [ -n "$stats" ]; then
		progs $tool >"$d/progs.1"
		progs $sfloor >"$d/fprogs.1"
		exec 6>&-
		stop "$sfloor" INT
	fi
	[ -n "$floorw" ] && exec 8>&-
	stop $master QUIT
	stop "$tool" INT
	local rps reqs errs
	rps=$(awk '/^Requests\/sec/ { print $2 }' "$d/wrk")
	reqs=$(awk '/requests in/ { print $1 }' "$d/wrk")
	errs=$(awk '/Non-2xx/ { e += $NF }
		/Socket errors/ { gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) e += $i } END { print e + 0 }' "$d/wrk")
	[ -n "$rps" ] && [ -n "$reqs" ] || { echo "nginx_bench: $s: wrk gave no rate: $(head -3 "$d/wrk")" >&2
		return 1; }
	if [ -n "$tool" ] && [ -n "${c0:-}" ] && [ -n "${c1:-}" ]; then
		cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.3f", (b - a) / 1e3 / n }')
		mem=${hwm:--}
	fi
	if [ -n "$stats" ]; then # round r of the stats runs: files stats.SETUP.R.*
		echo "$reqs" >"$TMP/stats.$s.$r.reqs"
		cp "$d/progs.0" "$TMP/stats.$s.$r.progs.0"
		cp "$d/progs.1" "$TMP/stats.$s.$r.progs.1"
		cp "$d/fprogs.0" "$TMP/stats.$s.$r.fprogs.0"
		cp "$d/fprogs.1" "$TMP/stats.$s.$r.fprogs.1"
	else
		[ -n "$w0" ] && [ -n "$w1" ] && echo "$r $(((w1 - w0) / reqs))" >>"$TMP/shimwork"
		echo "$r $s $rps $reqs $errs $cpu $mem" >>"$TMP/res"
	fi
}

read -r -a SET <<<"$SETUPS"
N=${#SET[@]}
printf 'nginx bench: %s rounds x %s setups, wrk %ss each after a %ss warm-up (about %s min)\n' \
	"$ROUNDS" "$N" "$D" "$WARM" \
	$(((ROUNDS * N * (D + WARM + 4) + 59) / 60)) >&2
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 0 $((N - 1))); do
		s=${SET[$(((i + r - 1) % N))]}
		one "$s" "$r" || echo "nginx_bench: round $r: $s failed (left out)" >&2
	done
done
if [ "$BPF_STATS" = 1 ] && [[ " $SETUPS " == *" ebpf "* ]]; then
	# STATS_ROUNDS alternating runs of obsprobe and of the timing floor (what timing nginx's syscalls costs in BPF
	# run time by itself), each beside the floor's empty programs
	for r in $(seq 1 "$STATS_ROUNDS"); do
		one ebpf "$r" stats || echo "nginx_bench: the BPF stats run failed" >&2
		[[ " $SETUPS " == *" timing "* ]] && { one timing "$r" stats ||
			echo "nginx_bench: the timing floor's stats run failed" >&2; }
	done
fi

{
	printf 'nginx bench, %s, %s, kernel %s, %s CPUs (%s), %s\n' "$(date -u '+%F %H:%M UTC')" "$(uname -m)" "$(uname -r)" \
		"$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(nginx -v 2>&1 | sed 's/.*: //')"
	printf 'nginx: master + %s workers, a 700-byte page, keep-alive; `wrk -t1 -c%s -d%ss` after a %ss warm-up; ' \
		"$WORKERS" "$CONNS" "$D" "$WARM"
	printf 'nothing pinned; %s interleaved rounds\n\n' "$ROUNDS"
	touch "$TMP/res"
	"$PY" - "$TMP" "$ROUNDS" "$SETUPS" <<'PY'
import os, statistics, sys
tmp, rounds, setups = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
label = {
    "untraced": "untraced",
    "floor": "kernel floor: empty `tp_btf` sys_enter/sys_exit on every task",
    "timing": "timing floor: the least a syscall latency histogram of nginx's pids needs (two clock reads, task"
              " storage, a bucket)",
    "ebpf": "obsprobe attach, defaults (syscalls, net, HTTP spans, logs, TLS)",
    "bpftrace": "bpftrace syscall latency histogram for nginx's pids",
    "shim": "nginx under libobsshim.so + `obsprobe serve`",
}
for f in ("http", "logs", "net", "syscalls", "tls"):
    label["ebpf-no-" + f] = "obsprobe attach `--no-%s`" % f
res = {}  # setup -> round -> (rps, requests, errors, cpu_us, hwm_kb)
for line in open(os.path.join(tmp, "res")):
    r, s, rps, reqs, errs, cpu, mem = line.split()
    res.setdefault(s, {})[r] = (float(rps), int(reqs), int(errs), None if cpu == "-" else float(cpu),
                                None if mem == "-" else int(mem))
base = res.get("untraced", {})
def losses(s):
    return [100.0 * (1 - v[0] / base[r][0]) for r, v in sorted(res.get(s, {}).items()) if r in base]
def med(xs):
    return statistics.median(xs) if xs else None
loss = {s: med(losses(s)) for s in setups}
def ratio(a, b):
    return "%.2fx" % (a / b) if a is not None and b is not None and b > 0 else "n/a"
print("| setup | req/s (median) | loss vs untraced (median) | spread (min..max) | loss / floor's | "
      "tool CPU us/request | tool max RSS MB |")
print("|---|---|---|---|---|---|---|")
notes = []
for s in setups:
    rows = res.get(s, {})
    rps = med([v[0] for v in rows.values()])
    cpu = med([v[3] for v in rows.values() if v[3] is not None])
    mem = [v[4] for v in rows.values() if v[4] is not None]
    ls = losses(s)
    name = label.get(s, s)
    if len(rows) < rounds:
        name += " (%d of %d rounds)" % (len(rows), rounds)
    if sum(v[2] for v in rows.values()):
        notes.append("%s: wrk counted %d errors or non-2xx answers" % (s, sum(v[2] for v in rows.values())))
    if s == "untraced":
        print("| %s | %s | | | | | |" % (name, "%.0f" % rps if rps else "n/a"))
        continue
    print("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, "%.0f" % rps if rps else "n/a",
        "%.1f%%" % loss[s] if loss[s] is not None else "n/a",
        "%.1f%% .. %.1f%%" % (min(ls), max(ls)) if ls else "n/a",
        ratio(loss[s], loss.get("floor")) if s != "floor" else "1.00x",
        "%.2f" % cpu if cpu is not None else "", "%.1f" % (max(mem) / 1024) if mem else ""))
print()
for n in notes:
    print("- " + n)
# the goals (issue 13): each figure from the medians, its per-round values' median and spread
def per_round(a, b):  # a's loss / b's loss, round by round
    la = {r: 100.0 * (1 - v[0] / base[r][0]) for r, v in res.get(a, {}).items() if r in base}
    lb = {r: 100.0 * (1 - v[0] / base[r][0]) for r, v in res.get(b, {}).items() if r in base}
    return [la[r] / lb[r] for r in sorted(la) if r in lb and lb[r] > 0]
def row(what, fig, vals, lim, fmt, note=""):
    spread = "%s .. %s" % (fmt % min(vals), fmt % max(vals)) if vals else "n/a"
    m = fmt % med(vals) if vals else "n/a"
    verdict = "n/a" if fig is None else ("met" if fig <= lim else "not met")
    print("| %s | %s | %s | %s | <= %s | %s |%s" % (what, fmt % fig if fig is not None else "n/a", m, spread,
                                                     fmt % lim, verdict, " " + note if note else ""))
e = res.get("ebpf", {})
lf, le, lb = loss.get("floor"), loss.get("ebpf"), loss.get("bpftrace")
print("\nGoals (issue 13; figure: from the median losses; per round: the same quantity round by round):\n")
print("| goal | figure | per-round median | per-round spread | goal | |")
print("|---|---|---|---|---|---|")
row("eBPF defaults loss / floor's loss", le / lf if le is not None and lf and lf > 0 else None,
    per_round("ebpf", "floor"), 1.2, "%.2fx")
row("eBPF defaults loss / bpftrace's loss", le / lb if le is not None and lb and lb > 0 else None,
    per_round("ebpf", "bpftrace"), 1 / 3, "%.2f")
row("shim loss (%)", loss.get("shim"), losses("shim"), 3.0, "%.1f")
cpus = [v[3] for v in e.values() if v[3] is not None]
row("collector CPU per request, eBPF defaults (us)", med(cpus), cpus, 0.5, "%.2f")
hwms = [v[4] / 1024 for v in e.values() if v[4] is not None]
row("collector VmHWM, eBPF defaults (MB; figure: the largest)", max(hwms) if hwms else None, hwms, 30.0, "%.1f")
# what timing nginx's syscalls costs by itself on this machine: where it is above a goal, no syscall latency
# histogram can meet that goal here, and the part of obsprobe's loss above it is what obsprobe adds
lt = loss.get("timing")
if lt is not None:
    print("\nThe timing floor against the same goals (a goal it misses is out of reach of any syscall latency"
          " histogram on this machine):\n")
    print("| | figure | per-round median | per-round spread | goal | |")
    print("|---|---|---|---|---|---|")
    row("timing floor loss / floor's loss", lt / lf if lf and lf > 0 else None, per_round("timing", "floor"),
        1.2, "%.2fx")
    row("timing floor loss / bpftrace's loss", lt / lb if lb and lb > 0 else None,
        per_round("timing", "bpftrace"), 1 / 3, "%.2f")
    if le is not None and lt > 0:
        print("| eBPF defaults loss / timing floor's loss | %.2fx | %.2fx | | | |" % (
            le / lt, med(per_round("ebpf", "timing")) or 0))
sw = os.path.join(tmp, "shimwork")
if os.path.exists(sw):
    ns = [int(l.split()[1]) for l in open(sw)]
    print("\nshim: its own measured work (obsprobe_probe_cpu_seconds_total{program=\"shim\"}, sampled 1 in 64) per"
          " request: %d ns (median of %d rounds, %d .. %d)" % (med(ns), len(ns), min(ns), max(ns)))
# BPF programs' run time: the stats run (the floor's empty programs attached beside obsprobe's, the statistics on)
def progs(f):
    p = os.path.join(tmp, f)
    out = {}
    if os.path.exists(p):
        for line in open(p):
            i, n, t, c = line.split()
            out[i] = (n, int(t), int(c))
    return out
def deltas(a, b):  # -> [(name, runs, ns)] of the programs that ran in the window, most time first
    out = []
    for i, (n, t, c) in b.items():
        dt, dc = t - a.get(i, ("", 0, 0))[1], c - a.get(i, ("", 0, 0))[2]
        if dc > 0:
            out.append((n, dc, dt))
    return sorted(out, key=lambda x: -x[2])
def stats_run(setup, r, what, enter, exit_, show):
    """round r's stats run of setup (its table if show); -> (its enter+exit ns per request, the floor's empty
    pair's) or None"""
    pre = "stats.%s.%d." % (setup, r)
    p0, p1 = progs(pre + "progs.0"), progs(pre + "progs.1")
    f0, f1 = progs(pre + "fprogs.0"), progs(pre + "fprogs.1")
    if not p1:
        return None
    reqs = int(open(os.path.join(tmp, pre + "reqs")).read())
    say = print if show else (lambda *a, **k: None)
    say("\nBPF programs, a separate %s run with the floor's empty programs attached beside its own and the"
          " kernel's run-time statistics on for its %d requests (runs count every task's events the program sees; the"
          " statistics add their own two clock reads per run, outside run_time_ns):\n" % (what, reqs))
    say("| program | runs | runs/request | ns/run | ns/request |")
    say("|---|---|---|---|---|")
    tt = tc = 0
    for n, dc, dt in deltas(p0, p1):
        tt, tc = tt + dt, tc + dc
        say("| %s | %d | %.2f | %.0f | %.0f |" % (n, dc, dc / reqs, dt / dc, dt / reqs))
    say("| all of its programs | %d | %.2f | %s | %.0f |" % (tc, tc / reqs, "%.0f" % (tt / tc) if tc else "n/a",
                                                             tt / reqs))
    ft = fc = 0
    for n, dc, dt in deltas(f0, f1):
        ft, fc = ft + dt, fc + dc
        say("| floor: %s (empty) | %d | %.2f | %.0f | %.0f |" % (n, dc, dc / reqs, dt / dc, dt / reqs))
    out = None
    if fc:
        say("| all of the floor's | %d | %.2f | %.0f | %.0f |" % (fc, fc / reqs, ft / fc, ft / reqs))
        se = {n: (dc, dt) for n, dc, dt in deltas(p0, p1)}
        fl = {n: (dc, dt) for n, dc, dt in deltas(f0, f1)}
        if enter in se and exit_ in se and "floor_enter" in fl and "floor_exit" in fl:
            o = se[enter][1] + se[exit_][1]
            f = fl["floor_enter"][1] + fl["floor_exit"][1]
            say("\n%s+%s: %.0f ns per request, the floor's empty pair %.0f: %.0f ns per request above the"
                  " floor's programs (%.2fx their run time)" % (enter, exit_, o / reqs, f / reqs, (o - f) / reqs,
                                                               o / f if f else 0))
            out = (o / reqs, f / reqs)
    if setup == "ebpf":
        idle = sorted(set(n for i, (n, t, c) in p1.items() if c - p0.get(i, ("", 0, 0))[2] <= 0))
        if idle:
            say("\n%d more programs held by the collector did not run in that window: %s" % (len(idle),
                                                                                             ", ".join(idle)))
    return out
obs, tms = [], []
for r in range(1, 100):
    if not os.path.exists(os.path.join(tmp, "stats.ebpf.%d.reqs" % r)):
        break
    ob = stats_run("ebpf", r, "eBPF-defaults", "sys_enter", "sys_exit", r == 1)
    tm = stats_run("timing", r, "timing-floor", "time_enter", "time_exit", r == 1)
    if ob and tm:
        obs.append(ob[0] / ob[1])
        tms.append(tm[0] / tm[1])
if obs:
    q = [a / b for a, b in zip(obs, tms)]
    print("\nBPF run time per request, each against the floor's empty pair of its own run (%d alternating runs of"
          " each; median and spread): obsprobe %.2fx (%.2fx .. %.2fx), the timing floor %.2fx (%.2fx .. %.2fx);"
          " obsprobe / the timing floor, run by run: %.2fx (%.2fx .. %.2fx)" % (
              len(q), med(obs), min(obs), max(obs), med(tms), min(tms), max(tms), med(q), min(q), max(q)))
print("\nreq/s per round (the order rotates each round):\n")
print("| setup | " + " | ".join("r%d" % r for r in range(1, rounds + 1)) + " |")
print("|---|" + "---|" * rounds)
for s in setups:
    rows = res.get(s, {})
    cells = ("%.0f" % rows[str(r)][0] if str(r) in rows else "-" for r in range(1, rounds + 1))
    print("| %s | %s |" % (s, " | ".join(cells)))
PY
} >"$TMP/nginx.md"
mkdir -p "$(dirname "$MD")"
cp "$TMP/nginx.md" "$MD"
cat "$MD"
exit 0
