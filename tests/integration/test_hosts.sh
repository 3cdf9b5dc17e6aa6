#!/usr/bin/env bash
# test_hosts.sh -- several hosts, simulated: network namespaces of the test's own, joined by veths to a bridge in an
# "observer" namespace (10.213.0.0/24, nothing in the root namespace), each host with a UTS namespace and host name
# of its own, its traced programs and its own collectors. One real Prometheus (in the observer namespace) scrapes
# every collector across the bridge; one OTLP receiver (tests/otlp/receiver.py, OTLP/JSON) gets every host's spans.
#   shim:  alpha's "front" (tests/integration/hosts/app.py under the shim) calls beta's "items" (the same, under the
#          shim) while serving: the injected traceparent makes each caller's trace whole, parent links included.
#   eBPF:  alpha's nginx proxies to beta's python backend, both traced by `obsprobe attach`: every span carries the
#          caller's trace id; beta's server span's parent is the caller's span (nginx forwards the header unchanged:
#          eBPF does not inject), not nginx's client span.
# host.name and service.instance.id tell the hosts apart in OTLP, the instance label in Prometheus.
source "$(dirname "$0")/lib.sh"
need_root
for c in ip nsenter unshare prometheus nginx; do command -v $c >/dev/null || { bad "$c missing (scripts/install-deps.sh)"; finish; }; done
PY=/usr/bin/python3
H=$ROOT/tests/integration/hosts
SHIM=$ROOT/build/libobsshim.so

TAG=obh$$ # namespace names of this run's own; interface names stay under 15 characters
NS_OBS=${TAG}-obs NS_A=${TAG}-alpha NS_B=${TAG}-beta
NSS=()
hosts_down() {
	local ns
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done # their veths go with them
}
stack_down() { # what stack.sh started, by the pids it wrote (also when the test ends inside stack.sh up)
	local f
	for f in "$TMP"/stack/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
}
trap 'stack_down; cleanup; hosts_down' EXIT
trap 'exit 1' INT TERM # the EXIT trap then runs too

in_ns() { local ns=$1; shift; nsenter --net=/run/netns/$ns -- "$@"; }
# on_host NS NAME [VAR=VALUE...] CMD... &: CMD in the host's network namespace with a UTS namespace of its own
# named NAME, the variables in its environment only (not the tools' on the way: the shim only in CMD); every step
# execs, so $! is CMD's pid
on_host() {
	local ns=$1 name=$2; shift 2
	exec nsenter --net=/run/netns/$ns -- unshare --uts -- sh -c 'hostname "$0" && exec env "$@"' "$name" "$@"
}

# ---- the network: observer 10.213.0.1 (bridge), alpha .11, beta .12 ----
ip netns add $NS_OBS && NSS+=($NS_OBS) || { bad "ip netns add"; finish; }
ip -n $NS_OBS link set lo up
ip -n $NS_OBS link add br0 type bridge
ip -n $NS_OBS addr add 10.213.0.1/24 dev br0
ip -n $NS_OBS link set br0 up
n=11
for ns in $NS_A $NS_B; do
	ip netns add $ns && NSS+=($ns) || { bad "ip netns add $ns"; finish; }
	ip -n $NS_OBS link add v$n type veth peer name eth0 netns $ns
	ip -n $NS_OBS link set v$n master br0 up
	ip -n $ns link set lo up
	ip -n $ns addr add 10.213.0.$n/24 dev eth0
	ip -n $ns link set eth0 up
	n=$((n + 1))
done
A=10.213.0.11 B=10.213.0.12 OBS=10.213.0.1
check "the root namespace has no 10.213 address" 0 "$(ip -4 addr | grep -c 'inet 10\.213\.')"

# ---- the receiver and the collectors ----
mkdir -p "$TMP/rcv" "$TMP/alpha/rt" "$TMP/beta/rt"
chmod 1777 "$TMP/alpha/rt" "$TMP/beta/rt"
nsenter --net=/run/netns/$NS_OBS -- $PY "$ROOT/tests/otlp/receiver.py" --dir "$TMP/rcv" --bind $OBS --port 4318 --max-seconds 150 &
PIDS+=($!)
wait_for 10 in_ns $NS_A curl -s -o /dev/null http://$OBS:4318/ || { bad "receiver did not start"; finish; }
OTLP=(--otlp-endpoint http://$OBS:4318 --otlp-protocol http/json)
# shim collectors: an instance id given; eBPF collectors: a random one, said at start
on_host $NS_A alpha OBSPROBE_RUNTIME_DIR=$TMP/alpha/rt "$OBSPROBE" serve --listen $A:9464 "${OTLP[@]}" \
	--service-instance-id alpha-shim -q 2>"$TMP/alpha/serve.err" &
PIDS+=($!)
SERVE_A=$!
on_host $NS_B beta OBSPROBE_RUNTIME_DIR=$TMP/beta/rt "$OBSPROBE" serve --listen $B:9464 "${OTLP[@]}" \
	--service-instance-id beta-shim -q 2>"$TMP/beta/serve.err" &
PIDS+=($!)
SERVE_B=$!

# ---- the programs ----
mkdir -p "$TMP/ngx/logs"
cat >"$TMP/ngx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 64; }
http {
  access_log $TMP/ngx/logs/access.log;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f; uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  server { listen $A:8081; location / { proxy_pass http://$B:8081; } }
}
NGX
on_host $NS_B beta OBSPROBE_RUNTIME_DIR=$TMP/beta/rt OBSPROBE_SERVICE=items LD_PRELOAD=$SHIM \
	$PY "$H/app.py" --bind $B --port 8080 --log "$TMP/beta/items.log" &
PIDS+=($!)
on_host $NS_A alpha OBSPROBE_RUNTIME_DIR=$TMP/alpha/rt OBSPROBE_SERVICE=front LD_PRELOAD=$SHIM \
	$PY "$H/app.py" --bind $A --port 8080 --upstream http://$B:8080/item/ --log "$TMP/alpha/front.log" &
PIDS+=($!)
on_host $NS_B beta $PY "$H/app.py" --bind $B --port 8081 --log "$TMP/beta/backend.log" &
BACKEND=$!
PIDS+=($BACKEND)
on_host $NS_A alpha nginx -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" &
NGINX=$!
PIDS+=($NGINX)
wait_for 10 in_ns $NS_OBS curl -s -o /dev/null http://$A:8081/ || { bad "nginx did not start: $(cat "$TMP/ngx/logs/error.log")"; finish; }
wait_for 10 in_ns $NS_OBS curl -s -o /dev/null http://$B:8081/ || { bad "backend did not start"; finish; }
PIDS+=($(pgrep -P $NGINX)) # the workers, by pid
# the shim's services listen (a bare connect: no request, so no span)
wait_for 10 in_ns $NS_OBS bash -c "</dev/tcp/$A/8080" || { bad "front did not start"; finish; }
wait_for 10 in_ns $NS_OBS bash -c "</dev/tcp/$B/8080" || { bad "items did not start"; finish; }
on_host $NS_A alpha "$OBSPROBE" attach --pid $NGINX --listen $A:9465 "${OTLP[@]}" 2>"$TMP/alpha/attach.err" &
PIDS+=($!)
ATTACH_A=$!
on_host $NS_B beta "$OBSPROBE" attach --pid $BACKEND --service backend --listen $B:9465 "${OTLP[@]}" \
	2>"$TMP/beta/attach.err" &
PIDS+=($!)
ATTACH_B=$!
for m in $A:9464 $B:9464 $A:9465 $B:9465; do
	wait_for 30 in_ns $NS_OBS curl -sf http://$m/health/ready ||
		{ bad "collector at $m not ready: $(cat "$TMP"/*/*.err)"; finish; }
done
ok "four collectors ready, each reached from the observer namespace across the bridge"
# the warm-up requests above (before the collectors or without a traceparent) are not ours: start the logs now
: >"$TMP/beta/backend.log"

# ---- Prometheus in the observer namespace scrapes every collector ----
export OBSPROBE_STACK_DIR=$TMP/stack PROM_PORT=9090 SCRAPE_INTERVAL=1s ALERTMANAGER=0
in_ns $NS_OBS bash "$ROOT/scripts/stack.sh" up $A:9464 $B:9464 $A:9465 $B:9465 >"$TMP/stack.out" 2>&1 ||
	{ bad "stack up: $(cat "$TMP/stack.out")"; finish; }
PIDS+=($(cat "$TMP/stack/prometheus.pid"))
pq() { in_ns $NS_OBS $PY "$H/promq.py" http://127.0.0.1:9090 "$@"; }

# ---- traffic from the observer: each request a trace of its own, known from the caller's traceparent ----
NS_REQ=5 NE_REQ=4
for i in $(seq 1 $NS_REQ); do
	in_ns $NS_OBS curl -s --max-time 10 -o /dev/null -H "traceparent: 00-$(printf '5a11%028x' $i)-$(printf 'c0ffee%010x' $i)-01" \
		http://$A:8080/order/$i
done
for i in $(seq 1 $NE_REQ); do
	in_ns $NS_OBS curl -s --max-time 10 -o /dev/null -H "traceparent: 00-$(printf 'eb0f%028x' $i)-$(printf 'ca11e4%010x' $i)-01" \
		http://$A:8081/item/$i
done
check "front served the shim requests (200 each)" "$NS_REQ" "$(grep -c '^/order/[0-9]* 200$' "$TMP/alpha/front.log")"
check "items served front's calls" "$NS_REQ" "$(grep -c '^/item/[0-9]* 200$' "$TMP/beta/items.log")"
check "backend served nginx's proxied requests" "$NE_REQ" "$(grep -c '^/item/[0-9]* 200$' "$TMP/beta/backend.log")"

# ---- Prometheus: each host's counts under its own instance label ----
want="$A:9464 front = $NS_REQ
$A:9465 nginx = $NE_REQ
$B:9464 items = $NS_REQ
$B:9465 backend = $NE_REQ"
Q='sum by (instance, service) (http_server_request_duration_seconds_count)'
got=
for _ in $(seq 1 30); do
	got=$(pq "$Q" instance service 2>/dev/null)
	[ "$got" == "$want" ] && break
	sleep 1
done
check "Prometheus: server requests per instance and service" "$want" "$got"
check "Prometheus: client requests per instance (front's and nginx's calls across)" "$A:9464 front = $NS_REQ
$A:9465 nginx = $NE_REQ" "$(pq 'sum by (instance, service) (http_client_request_duration_seconds_count)' instance service)"
check "Prometheus: every collector up" "$A:9464 = 1
$A:9465 = 1
$B:9464 = 1
$B:9465 = 1" "$(pq up instance)"
# the dashboards' instance variable lists the four collectors; filtered by one, the overview's queries keep its series
check "overview instance variable: label_values(obsprobe_build_info, instance)" "$A:9464 $A:9465 $B:9464 $B:9465" \
	"$(pq obsprobe_build_info instance | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
exprs=$($PY - "$ROOT/dashboards/obsprobe-overview.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    if p["title"] in ("Request rate", "Syscall rate"):
        print(p["targets"][0]["expr"].replace('"$service"', '".*"').replace("$__rate_interval", "1m"))
PY
)
while read -r m svc; do
	while read -r e; do
		e=${e//\$instance/$m}
		# rate() needs two samples of the series in its window: one that appeared at the last scrape has one
		for _ in $(seq 1 20); do
			got=$(pq "$e" service | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')
			[ "$got" == "$svc" ] && break
			sleep 1
		done
		check "overview '${e:0:40}...' filtered by instance=$m: one series, $svc's" "$svc" "$got"
	done <<<"$exprs"
done <<EOF
$A:9464 front
$A:9465 nginx
$B:9464 items
$B:9465 backend
EOF

# ---- the collectors end (their last spans exported), then the spans by host ----
IID_A=$(grep -oP 'otlp: service.instance.id \K[0-9a-f-]{36}(?= \(random)' "$TMP/alpha/attach.err")
IID_B=$(grep -oP 'otlp: service.instance.id \K[0-9a-f-]{36}(?= \(random)' "$TMP/beta/attach.err")
[ -n "$IID_A" ] && [ -n "$IID_B" ] && [ "$IID_A" != "$IID_B" ] && ok "eBPF collectors said their random instance ids ($IID_A, $IID_B)" ||
	bad "instance ids at start: '$IID_A' '$IID_B'"
for p in $SERVE_A $SERVE_B $ATTACH_A $ATTACH_B; do kill -INT $p; done
codes=
for p in $SERVE_A $SERVE_B $ATTACH_A $ATTACH_B; do
	for _ in $(seq 1 100); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
	kill -0 $p 2>/dev/null && { bad "collector $p still running 10 s after SIGINT"; continue; }
	wait $p
	codes="$codes $?"
done
check "the four collectors exit 0 on SIGINT" " 0 0 0 0" "$codes"
$PY "$H/spans.py" "$TMP/rcv" >"$TMP/spans"
check "no span export refused" 0 "$(grep ' /v1/traces ' "$TMP/rcv/requests.log" | grep -vc '^200 ')"
# HOST INSTANCE SERVICE KIND TRACE SPAN PARENT PATH
sel() { awk -v h="$1" -v s="$2" -v k="$3" '$1 == h && $3 == s && $4 == k' "$TMP/spans"; }
check "alpha's front: resources say host.name alpha, service.instance.id alpha-shim" "alpha alpha-shim" \
	"$(awk '$3 == "front" { print $1, $2 }' "$TMP/spans" | sort -u)"
check "beta's items: host.name beta, service.instance.id beta-shim" "beta beta-shim" \
	"$(awk '$3 == "items" { print $1, $2 }' "$TMP/spans" | sort -u)"
check "alpha's nginx: host.name alpha, its collector's random id" "alpha $IID_A" "$(awk '$3 == "nginx" { print $1, $2 }' "$TMP/spans" | sort -u)"
check "beta's backend: host.name beta, its collector's random id" "beta $IID_B" "$(awk '$3 == "backend" { print $1, $2 }' "$TMP/spans" | sort -u)"

# shim: per request i, front SERVER (parent: the caller) -> front CLIENT (parent: that server span) -> items SERVER
# (parent: front's CLIENT span, on the other host)
check "alpha front: server spans = requests" $NS_REQ "$(sel alpha front SERVER | wc -l)"
check "alpha front: client spans = calls to beta" $NS_REQ "$(sel alpha front CLIENT | wc -l)"
check "beta items: server spans = requests it served" $NS_REQ "$(sel beta items SERVER | wc -l)"
links=0
for i in $(seq 1 $NS_REQ); do
	t=$(printf '5a11%028x' $i) c=$(printf 'c0ffee%010x' $i)
	fs=$(sel alpha front SERVER | awk -v t=$t '$5 == t')
	fc=$(sel alpha front CLIENT | awk -v t=$t '$5 == t')
	is=$(sel beta items SERVER | awk -v t=$t '$5 == t')
	[ "$(echo "$fs" | awk '{ print $7, $8 }')" == "$c /order/$i" ] &&
		[ "$(echo "$fc" | awk '{ print $7, $8 }')" == "$(echo "$fs" | awk '{ print $6 }') /item/$i" ] &&
		[ "$(echo "$is" | awk '{ print $7, $8 }')" == "$(echo "$fc" | awk '{ print $6 }') /item/$i" ] &&
		links=$((links + 1)) || echo "      trace $t: server '$fs' client '$fc' beta '$is'"
done
check "shim: traces whole across hosts (caller -> alpha server -> alpha client -> beta server), one per request" $NS_REQ $links

# eBPF: nginx SERVER (parent: the caller) -> nginx CLIENT (parent: that server span, same host, same collector);
# beta's backend SERVER: the caller's trace id and the caller's span as parent (the forwarded header)
check "alpha nginx: server spans = requests" $NE_REQ "$(sel alpha nginx SERVER | wc -l)"
check "alpha nginx: client spans = proxied requests" $NE_REQ "$(sel alpha nginx CLIENT | wc -l)"
check "beta backend: server spans = requests it served" $NE_REQ "$(sel beta backend SERVER | wc -l)"
same=0 up=0 cross=0
for i in $(seq 1 $NE_REQ); do
	t=$(printf 'eb0f%028x' $i) c=$(printf 'ca11e4%010x' $i)
	ns=$(sel alpha nginx SERVER | awk -v t=$t '$5 == t')
	nc=$(sel alpha nginx CLIENT | awk -v t=$t '$5 == t')
	bs=$(sel beta backend SERVER | awk -v t=$t '$5 == t')
	[ "$(echo "$ns" | awk '{ print $7, $8 }')" == "$c /item/$i" ] && up=$((up + 1)) || echo "      nginx server, trace $t: '$ns'"
	[ -n "$nc" ] && [ "$(echo "$nc" | awk '{ print $7 }')" == "$(echo "$ns" | awk '{ print $6 }')" ] && same=$((same + 1)) ||
		echo "      nginx client, trace $t: '$nc'"
	[ "$(echo "$bs" | awk '{ print $7, $8 }')" == "$c /item/$i" ] && cross=$((cross + 1)) || echo "      backend, trace $t: '$bs' (nginx client '$nc')"
done
check "eBPF: nginx's server spans carry the caller's trace id, the caller's span as parent" $NE_REQ $up
check "eBPF: nginx's client spans are children of its server spans (same host)" $NE_REQ $same
check "eBPF: beta's server spans carry the caller's trace id, the caller's span as parent (not nginx's client span)" $NE_REQ $cross
check "every span is one of the known traces" 0 "$(awk '!(substr($5, 1, 4) ~ /^(5a11|eb0f)$/ && substr($5, 5, 24) == "000000000000000000000000")' "$TMP/spans" | tee "$TMP/others" | wc -l)"
head -5 "$TMP/others" | sed 's/^/      /'
finish
