#!/usr/bin/env bash
# test_deploy.sh -- deploy/: the systemd unit and the Kubernetes manifests against what `obsprobe check --json`
# says the node agent needs (capabilities, host paths, host PID namespace; tests/integration/deploy_check.py),
# the unit through systemd-analyze verify, the Prometheus config through promtool; then the unit's ExecStart and
# the DaemonSet's entrypoint each run for real with exactly their capability bounding set and selectors of the
# form they ship (--exe), trace an httpd running before them and one started after they are ready (discovery at
# exec; exact request counts), export their spans to an OTLP receiver, keep only the capabilities check --json
# says, and stop cleanly on SIGTERM.
source "$(dirname "$0")/lib.sh"
need_root
PY=/usr/bin/python3
DEPLOY=$ROOT/deploy
$PY -c 'import yaml' 2>/dev/null || { bad "python3-yaml missing (scripts/install-deps.sh)"; finish; }

"$OBSPROBE" check --json >"$TMP/check.json" 2>"$TMP/check.err" || { bad "obsprobe check --json"; cat "$TMP/check.err"; }
$PY "$ROOT/tests/integration/deploy_check.py" "$TMP/check.json" "$DEPLOY" || FAILS=$((FAILS + 1))

# ---- systemd-analyze verify: the unit as installed, but ExecStart's binary is this build's (verify checks it exists)
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TMP/unit"
	sed "s|/usr/local/bin/obsprobe|$OBSPROBE|" "$DEPLOY/systemd/obsprobe.service" >"$TMP/unit/obsprobe.service"
	systemd-analyze verify --man=no "$TMP/unit/obsprobe.service" >"$TMP/verify.out" 2>&1
	rc=$?
	# it warns (unknown keys, bad values) with status 0: any output fails
	check "systemd-analyze verify: status, output" "0|" "$rc|$(cat "$TMP/verify.out")"
else
	echo "SKIP systemd-analyze verify: systemd-analyze is not installed (package systemd)"
fi

# ---- promtool: the Prometheus side for systemd hosts, with obsprobe's rules next to it
if command -v promtool >/dev/null; then
	cp "$DEPLOY/prometheus/prometheus.yml" "$ROOT/alerts/obsprobe.rules.yml" "$TMP/"
	promtool check config "$TMP/prometheus.yml" >"$TMP/promtool.out" 2>&1
	check "promtool check config deploy/prometheus/prometheus.yml" 0 $?
else
	bad "promtool missing (scripts/install-deps.sh)"
fi

# the capabilities of the unit's bounding set, for setpriv: +bpf,+perfmon,...
BOUND=$($PY -c '
import json, sys
a = json.load(open(sys.argv[1]))["deploy"]["node_agent"]
print(",".join("+" + c[4:].lower() for c in a["capabilities"] + a["optional"]))' "$TMP/check.json")
KEPT=$($PY -c '
import json, sys
bits = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21, "CAP_PERFMON": 38, "CAP_BPF": 39}
a = json.load(open(sys.argv[1]))["deploy"]["node_agent"]
print("%016x" % sum(1 << bits[c] for c in a["kept"]))' "$TMP/check.json")

# the traced program: an httpd copied under a name no other test runs, so that --exe matches only it (master and
# worker); one runs before the agent starts, another (EARLY's binary again, on LATE_P) starts after it is ready
BIN=$TMP/dpl-httpd$$
cp "$TARGETS/httpd" "$BIN"
HP=7905
LATE_P=7906
"$BIN" $HP 1 >/dev/null 2>"$TMP/httpd.err" &
HTTPD=$!
PIDS+=($HTTPD)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start"; finish; }

# requests to PORT on /api/PREFIX/1..N: the route is /api/PREFIX/{id}
requests() { for i in $(seq 1 "$3"); do curl -s -o /dev/null "http://127.0.0.1:$1/api/$2/$i"; done; }
# the request count of route ROUTE in LP's /metrics (every label set summed)
route_count() {
	curl -s "http://127.0.0.1:$1/metrics" | awk -v r="http_route=\"$2\"" \
		'/^http_server_request_duration_seconds_count/ && index($0, r) { n += $2 } END { print n + 0 }'
}
# the matched_by of PID's row in LP's /api/v1/targets ("" when it has none)
matched_by() {
	curl -s "http://127.0.0.1:$1/api/v1/targets" | $PY -c '
import json, sys
print("".join(t.get("matched_by", "") for t in json.load(sys.stdin)["targets"] if t.get("pid") == int(sys.argv[1])))' "$2"
}

# agent_run NAME LISTEN_PORT RECEIVER_PORT CMD...: run an agent (CMD, under the bounding set) that selects the httpd
# by --exe; once it is ready, start a second httpd (it must be picked up at its exec); 5 requests to the first
# (/api/early-NAME/*) and 3 to the second (/api/late-NAME/*), then SIGTERM; checks readiness, the capabilities it
# kept, both routes' exact counts in /metrics, the late one's targets row, its spans at the receiver, its exit status
agent_run() {
	local name=$1 lp=$2 rp=$3 late
	shift 3
	mkdir -p "$TMP/rcv-$name"
	python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/rcv-$name" --port "$rp" --port-file "$TMP/$name.rport" \
		--max-seconds 90 &
	PIDS+=($!)
	wait_for 10 test -s "$TMP/$name.rport" || { bad "$name: receiver did not start"; return; }
	setpriv --bounding-set "-all,$BOUND" -- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	local agent=$!
	PIDS+=($agent)
	if ! wait_for 20 curl -sf "http://127.0.0.1:$lp/health/ready"; then
		bad "$name: not ready"
		cat "$TMP/$name.err"
		return
	fi
	local obs
	obs=$(pgrep -f -n "obsprobe attach --config $TMP/$name.json")
	check "$name: the running httpd matched at start" "exe=dpl-httpd$$(name)" "$(matched_by "$lp" $HTTPD)"
	"$BIN" $LATE_P 1 >/dev/null 2>"$TMP/late-$name.err" &
	late=$!
	PIDS+=($late)
	wait_for 5 curl -sf "http://127.0.0.1:$LATE_P/" || bad "$name: the late httpd did not start"
	_ready() { test -n "$(matched_by "$lp" $late)"; }
	wait_for 10 _ready
	check "$name: the httpd started after the agent, matched at its exec" "exe=dpl-httpd$$(name)" \
		"$(matched_by "$lp" $late)"
	requests $HP "early-$name" 5
	requests $LATE_P "late-$name" 3
	check "$name: capabilities kept after the start (CapEff, CapBnd)" "$KEPT $KEPT" \
		"$(awk '/^CapEff/ { e = $2 } /^CapBnd/ { b = $2 } END { print e, b }' /proc/$obs/status)"
	_ready() { test "$(route_count "$lp" "/api/late-$name/{id}")" -ge 3; }
	wait_for 10 _ready
	check "$name: /metrics: 5 requests to the httpd running before, 3 to the one started after" "5 3" \
		"$(route_count "$lp" "/api/early-$name/{id}") $(route_count "$lp" "/api/late-$name/{id}")"
	kill -TERM "$obs"
	wait "$agent"
	check "$name: exit status on SIGTERM (the unit's KillSignal, the kubelet's)" 0 $?
	check "$name: the 5 + 3 spans reached the OTLP receiver" "5 3" \
		"$(python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/rcv-$name" | grep -c "url.path=/api/early-$name/") $(
			python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/rcv-$name" | grep -c "url.path=/api/late-$name/")"
	kill "$late"
	wait "$late" 2>/dev/null
}

# a copy of CONFIG listening on loopback:LP, exporting to the receiver on RP
config_copy() { # SRC DST LP RP
	$PY -c '
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = "127.0.0.1:" + sys.argv[3]
c["otlp_endpoint"] = "http://127.0.0.1:" + sys.argv[4]
json.dump(c, open(sys.argv[2], "w"))' "$@"
}

# ---- the unit's ExecStart, as systemd would run it: its EnvironmentFile's selectors, the config it names
config_copy "$DEPLOY/systemd/obsprobe.json" "$TMP/unit.json" 7901 7902
read -ra EXEC <<<"$(sed -n 's/^ExecStart=//p' "$DEPLOY/systemd/obsprobe.service" | tail -1)"
[ ${#EXEC[@]} -gt 0 ] || { bad "cannot read ExecStart"; finish; }
ENVFILE=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$DEPLOY/systemd/obsprobe.service")
check "unit: ExecStart takes the EnvironmentFile's selectors" '$OBSPROBE_SELECTORS' "${EXEC[-1]}"
check "unit: EnvironmentFile is where obsprobe.env installs" /etc/default/obsprobe "$ENVFILE"
SEL=$(sed -n 's/^OBSPROBE_SELECTORS=//p' "$DEPLOY/systemd/obsprobe.env")
check "obsprobe.env: the default selectors" "--exe nginx" "$SEL"
# the default's form, naming this test's httpd instead of nginx
OBSPROBE_SELECTORS=${SEL/nginx/dpl-httpd$$}
argv=()
for w in "${EXEC[@]}"; do
	case "$w" in
	/usr/local/bin/obsprobe) argv+=("$OBSPROBE") ;;
	/etc/obsprobe/obsprobe.json) argv+=("$TMP/unit.json") ;;
	'$OBSPROBE_SELECTORS') read -ra t <<<"$OBSPROBE_SELECTORS" && argv+=("${t[@]}") ;;
	*) argv+=("$w") ;;
	esac
done
agent_run unit 7901 7902 "${argv[@]}"

# ---- the DaemonSet's entrypoint from the ConfigMap, with selectors of the ConfigMap's form
$PY -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        open(sys.argv[2] + "/entrypoint.sh", "w").write(d["data"]["entrypoint.sh"])
        open(sys.argv[2] + "/ds-src.json", "w").write(d["data"]["obsprobe.json"])
        open(sys.argv[2] + "/selectors", "w").write(d["data"]["selectors"])' \
	"$DEPLOY/kubernetes/configmap.yaml" "$TMP"
check "ConfigMap: the selectors" "--exe nginx --exe redis-server --exe postgres" "$(cat "$TMP/selectors")"
config_copy "$TMP/ds-src.json" "$TMP/daemonset.json" 7903 7904
sed -i "s|/usr/local/bin/obsprobe|$OBSPROBE|; s|/etc/obsprobe/obsprobe.json|$TMP/daemonset.json|" "$TMP/entrypoint.sh"
check "entrypoint: execs obsprobe attach with the selectors" 1 \
	"$(grep -c "^exec $OBSPROBE attach --config $TMP/daemonset.json \$OBSPROBE_SELECTORS\$" "$TMP/entrypoint.sh")"
# every name replaced by one no process here runs, but the first: this test's httpd
OBSPROBE_SELECTORS="--exe dpl-httpd$$ --exe no-such-redis$$ --exe no-such-postgres$$" \
	agent_run daemonset 7903 7904 sh "$TMP/entrypoint.sh"
finish
