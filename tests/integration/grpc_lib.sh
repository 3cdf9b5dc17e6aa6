# shellcheck shell=bash
# grpc_lib.sh -- helpers for tests that run the real gRPC programs of tests/targets/grpc/grpc_app.py (sourced
# after lib.sh: uses $TMP, $PIDS, bad). /usr/bin/python3 with Debian's python3-grpcio and python3-grpc-tools.
#
#   grpc_need                          skip (77) when /usr/bin/python3 has no grpc or grpc_tools
#   grpc_stubs                         generate the stubs once into $TMP/grpc-stubs (exported as OBSDEMO_STUBS)
#   grpc_server_start NAME PORT [server args...]
#   grpc_front_start NAME PORT GRPC_HOST:PORT [http-front args...]
#                                      start in the background, wait (bounded) for "ready"; the python pid is in
#                                      $GRPC_PID and GRPC_PIDS[NAME] (also in PIDS, for lib.sh's cleanup);
#                                      stdout/stderr in $TMP/NAME.out/.err. $GRPC_WRAP (words, e.g.
#                                      "env LD_PRELOAD=...") prefixes the command; it must exec the program.
#   grpc_stop NAME                     SIGTERM, bounded wait, SIGKILL; returns the program's exit status
#   grpc_client [client args...]       run the client (bounded); its JSON summary on stdout, its status returned
#   grpc_json FILE EXPR                print python EXPR over FILE's JSON lines: L (all), d (the last one)
#   grpc_cert DIR                      DIR/cert.pem + DIR/key.pem, self-signed for localhost and 127.0.0.1
GRPC_PY=/usr/bin/python3
GRPC_APP=$ROOT/tests/targets/grpc/grpc_app.py
GRPC_LIFETIME=${GRPC_LIFETIME:-120} # servers end themselves after this, whatever happens to the test
GRPC_WRAP=${GRPC_WRAP:-}
declare -A GRPC_PIDS=()
GRPC_PID=""

grpc_need() {
	[ -x $GRPC_PY ] || { echo "SKIP: $GRPC_PY missing"; exit 77; }
	$GRPC_PY -c 'import grpc, grpc_tools.protoc' 2>/dev/null ||
		{ echo "SKIP: $GRPC_PY lacks grpc/grpc_tools (apt-get install python3-grpcio python3-grpc-tools)"; exit 77; }
}

grpc_stubs() {
	export OBSDEMO_STUBS=$TMP/grpc-stubs
	timeout 60 $GRPC_PY "$GRPC_APP" stubs >/dev/null
}

# _grpc_bg NAME MODE ARGS...: start grpc_app.py MODE in the background, wait up to 15 s for "ready"
_grpc_bg() {
	local name=$1
	shift
	: >"$TMP/$name.out"
	# shellcheck disable=SC2086
	$GRPC_WRAP $GRPC_PY "$GRPC_APP" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	GRPC_PID=$!
	GRPC_PIDS[$name]=$GRPC_PID
	PIDS+=("$GRPC_PID")
	for _ in $(seq 1 150); do
		grep -qx ready "$TMP/$name.out" && return 0
		kill -0 "$GRPC_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "grpc_app $name did not get ready: $(tail -n 5 "$TMP/$name.err")" >&2
	return 1
}

grpc_server_start() { # NAME PORT [server args...]
	local name=$1 port=$2
	shift 2
	_grpc_bg "$name" server --port "$port" --lifetime "$GRPC_LIFETIME" "$@"
}

grpc_front_start() { # NAME PORT GRPC_HOST:PORT [http-front args...]
	local name=$1 port=$2 target=$3
	shift 3
	_grpc_bg "$name" http-front --port "$port" --grpc "$target" --lifetime "$GRPC_LIFETIME" "$@"
}

grpc_stop() { # NAME -> the program's exit status (0 after a clean SIGTERM)
	local pid=${GRPC_PIDS[$1]:-}
	[ -n "$pid" ] || return 1
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

grpc_client() { # client args... -> JSON summary on stdout; stderr in $TMP/grpc_client.err
	timeout 60 $GRPC_PY "$GRPC_APP" client "$@" 2>>"$TMP/grpc_client.err"
}

grpc_json() { # FILE EXPR
	$GRPC_PY - "$1" "$2" <<'PYEOF'
import json, sys
L = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
d = L[-1] if L else {}
print(eval(sys.argv[2]))
PYEOF
}

grpc_cert() { # DIR
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" -days 1 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
}
