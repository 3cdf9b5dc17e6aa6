#!/usr/bin/env bash
# soak.sh -- nginx (master + 2 workers) under wrk for SOAK_SECONDS (default 600) with everything on, first on the
# eBPF path (attach --func 'ngx_http_*'), then on the shim path (LD_PRELOAD + serve); HTTP spans to a local OTLP
# receiver, --log-file, --spans-file. Samples the collector's RSS and open fds every 10 s and prints a table.
# Fails when the lowest RSS of the last minute is 5% or more above the lowest of the second minute (memory never
# given back raises the floor; a backlog in the exporter queue raises RSS only until the queue empties: the
# medians and the peak are shown too), when the fd count moves after the first minute, or when a drop on /metrics is not
# said in the exit summary. `make soak` runs it (not part of `make test`).
source "$(dirname "$0")/../integration/lib.sh"
need_root
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "SKIP: needs nginx and wrk"; exit 77; }
SOAK=${SOAK_SECONDS:-600}
[ "$SOAK" -ge 70 ] || echo "note: SOAK_SECONDS=$SOAK: growth is measured from the 60 s sample, so it needs > 60"
SHIM=$ROOT/build/libobsshim.so
RT=$TMP/rt
mkdir -p "$RT" "$TMP/www"
chmod 1777 "$RT"
echo ok >"$TMP/www/ok.txt"

# one request in ten asks for a missing file: nginx writes an error line to stderr (a log record), the rest is 200
cat >"$TMP/mix.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then return wrk.format("GET", "/missing/" .. n) end
  return wrk.format("GET", "/ok.txt")
end
LUA

nginx_conf() { # DIR PORT
	mkdir -p "$1/logs"
	cat >"$1/nginx.conf" <<NGX
daemon off;
worker_processes 2;
pid $1/nginx.pid;
error_log stderr error;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $1/b; proxy_temp_path $1/p; fastcgi_temp_path $1/f; uwsgi_temp_path $1/u; scgi_temp_path $1/s;
  server { listen 127.0.0.1:$2; root $TMP/www; }
}
NGX
}

# sample PID FILE: "SECONDS RSS_KIB FDS" every 10 s until the file $FILE.stop exists; with SOAK_SMAPS_DIR set,
# /proc/PID/smaps is copied there every minute (which mapping grew)
sample() {
	local pid=$1 out=$2 t0=$SECONDS t
	while [ ! -e "$out.stop" ] && kill -0 "$pid" 2>/dev/null; do
		t=$((SECONDS - t0))
		echo "$t $(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") $(ls "/proc/$pid/fd" | wc -l)" >>"$out"
		[ -n "${SOAK_SMAPS_DIR:-}" ] && [ $((t % 60)) -lt 10 ] &&
			cp "/proc/$pid/smaps" "$SOAK_SMAPS_DIR/$(basename "$out" .samples).$t.smaps"
		for _ in $(seq 1 100); do [ -e "$out.stop" ] && break; sleep 0.1; done
	done
}

# soak NAME: one phase; leaves NAME.samples, NAME.m (last scrape), NAME.err (collector's stderr), NAME.wrk
soak() {
	local name=$1 np lp rp obs ngx smp
	np=$(free_port) lp=$(free_port)
	mkdir -p "$TMP/$name.rcv"
	python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/$name.rcv" --port-file "$TMP/$name.port" --discard \
		--max-seconds $((SOAK + 300)) &
	PIDS+=($!)
	wait_for 5 test -s "$TMP/$name.port" || { bad "$name: receiver did not start"; return; }
	rp=$(cat "$TMP/$name.port")
	local outs=(--otlp-endpoint "http://127.0.0.1:$rp" --log-file "$TMP/$name.logs" --spans-file "$TMP/$name.spans"
		--max-spans-per-second 2000 --listen "127.0.0.1:$lp")
	nginx_conf "$TMP/$name.ngx" "$np"
	if [ "$name" == ebpf ]; then
		nginx -c "$TMP/$name.ngx/nginx.conf" -p "$TMP/$name.ngx" 2>"$TMP/$name.ngx.err" &
		ngx=$!
		PIDS+=($ngx)
		wait_for 10 curl -sf "http://127.0.0.1:$np/ok.txt" || { bad "$name: nginx did not start"; return; }
		"$OBSPROBE" attach --pid "$ngx" --func 'ngx_http_*' "${outs[@]}" 2>"$TMP/$name.err" &
		obs=$!
	else
		OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve "${outs[@]}" 2>"$TMP/$name.err" &
		obs=$!
		wait_for 10 curl -sf "http://127.0.0.1:$lp/health/live" || { bad "$name: serve did not start"; return; }
		OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM OBSPROBE_SERVICE=nginx \
			nginx -c "$TMP/$name.ngx/nginx.conf" -p "$TMP/$name.ngx" 2>"$TMP/$name.ngx.err" &
		ngx=$!
		PIDS+=($ngx)
		wait_for 10 curl -sf "http://127.0.0.1:$np/ok.txt" || { bad "$name: nginx did not start"; return; }
	fi
	PIDS+=($obs)
	wait_for 60 curl -sf "http://127.0.0.1:$lp/health/ready" || { bad "$name: obsprobe not ready: $(cat "$TMP/$name.err")"; return; }
	sample $obs "$TMP/$name.samples" &
	smp=$!
	nice -n 5 wrk -t1 -c4 -d"${SOAK}s" -s "$TMP/mix.lua" "http://127.0.0.1:$np/" >"$TMP/$name.wrk" 2>&1
	sleep 3 # the last batch leaves (batch delay 1 s)
	touch "$TMP/$name.samples.stop"
	wait $smp
	scrape "$lp" >"$TMP/$name.m"
	kill -INT $obs
	wait $obs
	echo $? >"$TMP/$name.rc"
	kill $ngx
	wait $ngx 2>/dev/null
}

# median RSS of the samples with FROM <= t < TO
median() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 < b { print $2 }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)) }'
}
# lowest RSS of the samples with FROM <= t < TO
floor() { awk -v a="$2" -v b="$3" '$1 >= a && $1 < b && (!m || $2 < m) { m = $2 } END { print m }' "$1"; }
sum_family() { awk -v f="$2{" 'index($1, f) == 1 { s += $2 } END { print s + 0 }' "$TMP/$1.m"; }
out() { metric "$TMP/$1.m" "obsprobe_$2_total{outcome=\"$3\"}"; }
num() { echo "${1:-0}"; }

report() {
	local name=$1 r60 rmax rend m2 mend g f60 fmin fmax tend reqs served lost sq sf srl sx ssamp lq lf lx lw rc
	rc=$(cat "$TMP/$name.rc" 2>/dev/null)
	check "$name: collector exits 0" 0 "$rc"
	# after the first minute (or the first sample when the run is shorter)
	read -r r60 f60 < <(awk '$1 >= 60 { print $2, $3; exit }' "$TMP/$name.samples")
	[ -n "$r60" ] || read -r r60 f60 < <(awk 'NR == 1 { print $2, $3 }' "$TMP/$name.samples")
	rmax=$(awk -v s="$r60" '$1 >= 60 && $2 > m { m = $2 } END { print (m > s ? m : s) }' "$TMP/$name.samples")
	fmin=$(awk -v s="$f60" 'BEGIN { m = s } $1 >= 60 && $3 < m { m = $3 } END { print m }' "$TMP/$name.samples")
	fmax=$(awk -v s="$f60" 'BEGIN { m = s } $1 >= 60 && $3 > m { m = $3 } END { print m }' "$TMP/$name.samples")
	# RSS moves with the exporter's backlog (a queue gives its pages back when it empties): compare the floor of
	# the second minute with the floor of the last minute
	tend=$(awk 'END { print $1 }' "$TMP/$name.samples")
	r60=$(floor "$TMP/$name.samples" 60 120)
	rend=$(floor "$TMP/$name.samples" $((tend - 60)) $((tend + 1)))
	m2=$(median "$TMP/$name.samples" 60 120)
	mend=$(median "$TMP/$name.samples" $((tend - 60)) $((tend + 1)))
	g=$(awk -v a="$r60" -v b="$rend" 'BEGIN { printf "%.2f", (b - a) * 100 / a }')
	served=$(awk '/requests in/ { print $1 }' "$TMP/$name.wrk")
	reqs=$(sum_family "$name" http_server_request_duration_seconds_count)
	lost=$(sum_family "$name" obsprobe_events_lost_total)
	sx=$(num "$(out "$name" spans exported)") sq=$(num "$(out "$name" spans queue_full)")
	sf=$(num "$(out "$name" spans export_failed)") srl=$(num "$(out "$name" spans rate_limited)")
	ssamp=$(num "$(out "$name" spans sampled_out)")
	lx=$(num "$(out "$name" log_records exported)") lq=$(num "$(out "$name" log_records queue_full)")
	lf=$(num "$(out "$name" log_records export_failed)") lw=$(num "$(out "$name" log_records written)")
	printf '%-6s %9s %9s %8s %8s %8s %8s %8s %6s%% %5s %9s %9s %8s %8s %8s %8s %8s %8s %9s %8s\n' "$name" "$served" \
		"$reqs" "$r60" "$rend" "$m2" "$mend" "$rmax" "$g" "$f60" "$fmin-$fmax" "$sx" "$sq" "$sf" "$srl" "$lw" "$lx" "$lq" "$lf" "$lost" \
		>>"$TMP/table"
	awk -v g="$g" 'BEGIN { exit !(g < 5) }' && ok "$name: RSS growth after the first minute ${g}% (< 5%)" ||
		bad "$name: RSS grew ${g}% after the first minute (floor $r60 -> $rend KiB, median $m2 -> $mend, peak $rmax)"
	[ "$fmin" == "$fmax" ] && ok "$name: fd count flat after the first minute ($f60)" ||
		bad "$name: fd count moved after the first minute: $fmin..$fmax"
	# every drop on /metrics is said at exit (the exit counts include the final flush: >= the last scrape)
	if [ $((sq + sf + srl)) -gt 0 ]; then
		grep -q 'WARNING: spans not exported' "$TMP/$name.err" && ok "$name: span drops said at exit" ||
			bad "$name: span drops ($sq queue full, $sf failed, $srl rate limited) not said at exit"
	fi
	if [ $((lq + lf)) -gt 0 ]; then
		grep -q 'WARNING: log records not exported' "$TMP/$name.err" && ok "$name: log drops said at exit" ||
			bad "$name: log drops ($lq queue full, $lf failed) not said at exit"
	fi
	if [ "$lost" -gt 0 ]; then
		grep -q 'events were lost\|lost -- WARNING' "$TMP/$name.err" && ok "$name: $lost lost events said at exit" ||
			bad "$name: $lost lost events not said at exit"
	fi
	grep -i 'warning' "$TMP/$name.err" | sed "s/^/  $name exit: /" >>"$TMP/exitlines"
}

echo "soak: $SOAK s per path, nginx (2 workers) under wrk -t1 -c4, $(nproc) CPUs, $(uname -r)"
for p in ebpf shim; do
	soak $p
	report $p
done
echo
printf '%-6s %9s %9s %8s %8s %8s %8s %8s %7s %5s %9s %9s %8s %8s %8s %8s %8s %8s %9s %8s\n' path wrk-reqs http-count \
	"low-m2" "low-last" "med-m2" "med-last" "peak" growth "fd@60" "fd-rng" "sp-exp" "sp-qfull" "sp-fail" "sp-rlim" "log-wr" "log-exp" \
	"log-qful" "log-fail" "ev-lost"
cat "$TMP/table"
echo "(RSS in KiB: lowest and median of the 2nd minute and of the last minute, peak after the first minute; growth"
echo " compares the lowest;"
echo " spans/logs/events from the last /metrics scrape before exit)"
for p in ebpf shim; do
	echo "$p RSS KiB / fds, one sample a minute: $(awk 'int($1 / 60) > last || NR == 1 { last = int($1 / 60); printf "%ss:%s/%s ", $1, $2, $3 }' "$TMP/$p.samples")"
done
[ -s "$TMP/exitlines" ] && { echo "exit summaries:"; cat "$TMP/exitlines"; }
finish
