#!/usr/bin/env bash
# test_postgres.sh -- PostgreSQL 15 (Debian's) traced on both paths: eBPF (attach to the postmaster, backends are
# its forked children) and the shim (postgres started under LD_PRELOAD, obsprobe serve). The server's own log
# (log_statement=all) is the ground truth: pgbench in -M simple and -M extended with a fixed script gives exactly
# as many spans and db_client_operation_duration_seconds observations as statements it logged between two marks.
# Also: an error from psql (42P01, span ERROR), string literals (one a database URL) and a role password (sent in
# clear text) that never reach spans, /metrics or obsprobe's own output, and a python HTTP handler whose
# raw-protocol query is a CLIENT child of its server span (and, on eBPF, the server's span joins it by 4-tuple).
# TLS (ssl=on, self-signed certificate, pgbench sslmode=require) on both paths.
source "$(dirname "$0")/lib.sh"
need_root
PGBIN=/usr/lib/postgresql/15/bin
SHIM=$ROOT/build/libobsshim.so
for b in postgres initdb pg_isready; do
	[ -x "$PGBIN/$b" ] || { echo "SKIP: $PGBIN/$b missing (scripts/install-deps.sh: postgresql)"; exit 77; }
done
command -v pgbench >/dev/null && command -v psql >/dev/null || { echo "SKIP: pgbench/psql missing"; exit 77; }
id postgres >/dev/null 2>&1 || { echo "SKIP: no postgres user"; exit 77; }

TX=40 # transactions per client and mode: 2 clients x 40 x 5 statements = 400 statements per run
SECRET_LIT=S3cr3tL1teral-xyzzy
SECRET_PW=R0lePw-plugh-42
SECRET_URL='postgresql://app:UrlPassw0rd-quux@db.example/shop'
PGPORT=$(free_port) HPORT=$(free_port)
PGD=$TMP/pgdata
SOCK=$TMP/sock
RT=$TMP/rt
mkdir -p "$PGD" "$SOCK" "$RT"
chown postgres:postgres "$PGD" "$SOCK"
chmod 700 "$PGD"
chmod 1777 "$RT"
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
as_pg "$PGBIN/initdb" -D "$PGD" -U postgres --auth=trust -N >"$TMP/initdb.log" 2>&1 || { bad "initdb: $(tail -3 "$TMP/initdb.log")"; finish; }
cat >"$PGD/pg_hba.conf" <<EOF
local all all trust
host all app 127.0.0.1/32 password
host all all 127.0.0.1/32 trust
EOF
# a self-signed certificate for the TLS run (ssl=on)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PGD/server.key" -out "$PGD/server.crt" -days 1 \
	-subj /CN=localhost >/dev/null 2>&1 || bad "openssl: no certificate"
chown postgres:postgres "$PGD/server.key" "$PGD/server.crt"
chmod 600 "$PGD/server.key"
LOG=$TMP/pg.log
touch "$LOG"
chown postgres "$LOG"

PG= # the postmaster's pid
pg_start() { # [VAR=VALUE...]: the environment postgres runs with
	setpriv --reuid=postgres --regid=postgres --init-groups -- env "$@" "$PGBIN/postgres" -D "$PGD" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
		-c unix_socket_directories="$SOCK" -c log_statement=all -c fsync=off \
		-c synchronous_commit=off -c max_connections=20 -c log_line_prefix='%m [%p] ' \
		-c ssl="${PGSSL:-off}" -c ssl_cert_file="$PGD/server.crt" -c ssl_key_file="$PGD/server.key" >>"$LOG" 2>&1 &
	PG=$!
	PIDS+=($PG)
	wait_for 20 "$PGBIN/pg_isready" -q -h "$SOCK" -p "$PGPORT" || { bad "postgres did not start: $(tail -5 "$LOG")"; finish; }
}
pg_stop() {
	kill -INT "$PG" 2>/dev/null # fast shutdown
	for _ in $(seq 1 100); do kill -0 "$PG" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$PG" 2>/dev/null
	wait "$PG" 2>/dev/null
}
psqlc() { psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=0 "$@"; }

# untraced set-up: pgbench's tables, the role whose password travels in clear text
pg_start
pgbench -i -q -s 1 -h "$SOCK" -p "$PGPORT" -U postgres postgres >"$TMP/init.log" 2>&1 || bad "pgbench -i: $(tail -3 "$TMP/init.log")"
psql -X -q -h "$SOCK" -p "$PGPORT" -U postgres -d postgres -c "CREATE ROLE app LOGIN PASSWORD '$SECRET_PW'" >/dev/null ||
	bad "create role"
pg_stop

cat >"$TMP/bench.sql" <<'EOF'
\set aid random(1, 100000)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);
END;
EOF

# an HTTP server whose handler asks PostgreSQL over a raw socket (protocol v3, no driver) while serving
cat >"$TMP/web.py" <<'PY'
import http.server, socket, struct, sys
PG = int(sys.argv[2])
def until_ready(s, buf=b""):
    while True:
        while len(buf) >= 5:
            n = struct.unpack("!i", buf[1:5])[0]
            if len(buf) < 1 + n:
                break
            t, buf = buf[0:1], buf[1 + n:]
            if t == b"Z":
                return
        d = s.recv(65536)
        if not d:
            raise IOError("closed")
        buf += d
def query(sql):
    s = socket.create_connection(("127.0.0.1", PG))
    p = b"user\0postgres\0database\0postgres\0\0"
    s.sendall(struct.pack("!ii", 8 + len(p), 196608) + p)
    until_ready(s)
    q = sql.encode() + b"\0"
    s.sendall(b"Q" + struct.pack("!i", 4 + len(q)) + q)
    until_ready(s)
    s.sendall(b"X\0\0\0\4")
    s.close()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        query("SELECT count(*) FROM pgbench_branches WHERE bid = 1")
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

logged() { # statements the server logged after line $1 of its log
	tail -n +"$(($1 + 1))" "$LOG" | grep -cE 'LOG:  (statement|execute [^:]*):'
}
# db_client_operation_duration_seconds_count summed over services (the shim names a process it could not
# verify alive, such as a backend that served one psql and exited, "uid:N"), for labels matching $2 (or all)
dbcount() { # FILE|- [LABELS]
	{ if [ "$1" == - ]; then scrape "$LP"; else cat "$1"; fi; } |
		awk -v l="${2:-}" '/^db_client_operation_duration_seconds_count\{/ && index($0, l) { n += $2 } END { print n + 0 }'
}
spans() { python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/spans.$P.jsonl" 2>/dev/null; }
server_spans() { spans | grep SPAN_KIND_SERVER | grep -c 'db.system.name=postgresql'; }

tls_exchanges() {
	scrape "$LP" | awk '/^obsprobe_exchanges_total\{/ && /protocol="postgresql",transport="tls"/ { n += $2 } END { print n + 0 }'
}
client_spans() { spans | grep SPAN_KIND_CLIENT | grep -c 'db.system.name=postgresql'; }

# phase NAME CMD...: run CMD; the server's spans and observations it adds must equal the statements it logged
# (observations: $SIDES times as many, when the client is traced by the same obsprobe too); WANT keeps the number
phase() {
	local name=$1 l0 m0 s0 m s sides=${SIDES:-1}
	shift
	l0=$(wc -l <"$LOG") m0=$(dbcount -) s0=$(server_spans)
	"$@" >"$TMP/$P.$name.out" 2>&1 || [ "$name" == error ] || bad "$P $name: $* failed: $(tail -3 "$TMP/$P.$name.out")"
	WANT=$(logged "$l0")
	_ready() { test "$(dbcount -)" -ge $((m0 + sides * WANT)); }
	wait_for 15 _ready
	sleep 1 # nothing more arrives
	m=$(($(dbcount -) - m0)) s=$(($(server_spans) - s0))
	[ "$WANT" -gt 0 ] || bad "$P $name: the server logged no statement"
	check "$P $name: metric observations = $sides x statements the server logged" "$((sides * WANT))" "$m"
	check "$P $name: server spans = statements the server logged" "$WANT" "$s"
}

run_path() { # P=ebpf|shim
	local web trace=abababababababababababababababab
	LP=$(free_port)
	if [ "$P" == ebpf ]; then
		SVC=pg
		pg_start
		OBSPROBE_RUNTIME_DIR=$RT python3 "$TMP/web.py" "$HPORT" "$PGPORT" 2>"$TMP/web.$P.err" &
		web=$!
		PIDS+=($web)
		"$OBSPROBE" attach --pid "$PG" --pid "$web" --service "$SVC" --listen "127.0.0.1:$LP" \
			--spans-file "$TMP/spans.$P.jsonl" -q 2>"$TMP/obs.$P.err" &
		OBS=$!
		PIDS+=($OBS)
		wait_for 30 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe attach: $(cat "$TMP/obs.$P.err")"; return; }
	else
		SVC=pg
		OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$LP" --spans-file "$TMP/spans.$P.jsonl" \
			-q 2>"$TMP/obs.$P.err" &
		OBS=$!
		PIDS+=($OBS)
		wait_for 10 curl -sf "http://127.0.0.1:$LP/health/live" || { bad "obsprobe serve: $(cat "$TMP/obs.$P.err")"; return; }
		pg_start OBSPROBE_RUNTIME_DIR="$RT" OBSPROBE_SERVICE="$SVC" LD_PRELOAD="$SHIM"
		OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=web LD_PRELOAD=$SHIM python3 "$TMP/web.py" "$HPORT" "$PGPORT" \
			2>"$TMP/web.$P.err" &
		web=$!
		PIDS+=($web)
	fi
	wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HPORT/warmup" || bad "$P: web.py did not answer"
	# the warm-up's DB call (web.py's client side and the server's, both traced) is counted before the first
	# phase takes its baseline: else it can land in that phase's count (exchanges leave the collector's
	# reorder window ~20-40 ms after they end, and a quick phase start beats that)
	_warm() { test "$(dbcount -)" -ge 2; }
	wait_for 15 _warm || bad "$P: the warm-up's DB call was not counted on both sides: $(dbcount -)"
	sleep 1 # nothing more arrives

	phase simple pgbench -n -f "$TMP/bench.sql" -t "$TX" -c 2 -M simple -h 127.0.0.1 -p "$PGPORT" -U postgres postgres
	phase extended pgbench -n -f "$TMP/bench.sql" -t "$TX" -c 2 -M extended -h 127.0.0.1 -p "$PGPORT" -U postgres postgres
	phase error psqlc -c "SELECT * FROM no_such_table"
	phase secrets psqlc -c "SELECT '$SECRET_LIT' AS v, 1 AS n, '$SECRET_URL' AS u"
	phase password env PGPASSWORD="$SECRET_PW" psql -X -q -h 127.0.0.1 -p "$PGPORT" -U app -d postgres -c "SELECT 1"
	scrape "$LP" >"$TMP/m.$P"
	check "$P: UPDATE observations (both modes)" $((4 * TX)) \
		"$(dbcount "$TMP/m.$P" 'db_system_name="postgresql",db_operation_name="UPDATE",server_address="127.0.0.1",error_type=""}')"
	check "$P: 42P01 observation" 1 \
		"$(dbcount "$TMP/m.$P" 'db_system_name="postgresql",db_operation_name="SELECT",server_address="127.0.0.1",error_type="42P01"}')"
	err=$(spans | grep SPAN_KIND_SERVER | grep 'db.response.status_code=42P01')
	echo "$err" | grep -q STATUS_CODE_ERROR && ok "$P: the 42P01 span has status ERROR" || bad "$P: error span: $err"
	check "$P: error span's query text and table" "db.collection.name=no_such_table db.query.text=SELECT_*_FROM_no_such_table" \
		"$(echo "$err" | grep -o 'db.collection.name=[^ ]* .*db.query.text=[^ ]*' | sed 's/ db.namespace=[^ ]*//; s/ db.operation.name=[^ ]*//; s/ db.response.status_code=[^ ]*//')"
	upd=$(spans | grep SPAN_KIND_SERVER | grep 'db.operation.name=UPDATE' | grep -cE 'db.query.text=UPDATE_pgbench_accounts_SET_abalance_=_abalance_\+_-?\?_WHERE_aid_=_\?; ')
	check "$P: simple-mode UPDATE texts with literals replaced" "$((2 * TX))" "$upd"
	ext=$(spans | grep SPAN_KIND_SERVER | grep -c 'db.query.text=UPDATE_pgbench_accounts_SET_abalance_=_abalance_+_\$1_WHERE_aid_=_\$2; ')
	check "$P: extended-mode UPDATE texts with placeholders" "$((2 * TX))" "$ext"
	check "$P: span name and namespace" "1" "$(spans | grep SPAN_KIND_SERVER | grep ' UPDATE_pgbench_accounts ' | grep -m1 -c 'db.namespace=postgres ')"

	# a traced libpq client (SSLRequest answered 'N', then the extended protocol): one CLIENT span per statement
	local c0=$(client_spans) bench=(pgbench -n -f "$TMP/bench.sql" -t 10 -c 1 -M extended -h 127.0.0.1 -p "$PGPORT"
		-U postgres postgres)
	if [ "$P" == ebpf ]; then
		CP=$(free_port)
		phase client "$OBSPROBE" run -q --listen "127.0.0.1:$CP" --spans-file "$TMP/client.jsonl" -- "${bench[@]}"
		check "ebpf: pgbench traced by obsprobe run: client spans = statements the server logged" "$WANT" \
			"$(python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/client.jsonl" | grep SPAN_KIND_CLIENT |
				grep -c 'db.system.name=postgresql')"
	else
		SIDES=2 phase client env OBSPROBE_RUNTIME_DIR="$RT" OBSPROBE_SERVICE=bench LD_PRELOAD="$SHIM" "${bench[@]}"
		check "shim: pgbench under the shim: client spans = statements the server logged" "$WANT" \
			"$(($(client_spans) - c0))"
	fi

	# a DB call made while serving HTTP: a CLIENT child of the server span
	local before
	before=$(spans | grep -c SPAN_KIND_CLIENT)
	curl -sf -o /dev/null -H "traceparent: 00-$trace-1111111111111111-01" "http://127.0.0.1:$HPORT/orders" || bad "$P: GET /orders"
	_ready() { test "$(spans | grep SPAN_KIND_CLIENT | grep -c "^$trace ")" -ge 1; }
	wait_for 15 _ready
	sleep 1
	local hs cs ss
	hs=$(spans | grep "^$trace " | grep SPAN_KIND_SERVER | grep url.path=/orders)
	cs=$(spans | grep "^$trace " | grep SPAN_KIND_CLIENT | grep db.system.name=postgresql)
	[ -n "$hs" ] && [ -n "$cs" ] || bad "$P: no HTTP server span ($hs) or no DB client span ($cs) in trace $trace"
	check "$P: the HTTP server span's parent is the caller's" 1111111111111111 "$(echo "$hs" | cut -d' ' -f3)"
	check "$P: DB CLIENT span in the same trace, child of the HTTP server span" "$(echo "$hs" | cut -d' ' -f2)" \
		"$(echo "$cs" | cut -d' ' -f3)"
	check "$P: DB CLIENT span's query" "db.query.text=SELECT_count(*)_FROM_pgbench_branches_WHERE_bid_=_?" \
		"$(echo "$cs" | grep -o 'db.query.text=[^ ]*')"
	if [ "$P" == ebpf ]; then
		ss=$(spans | grep SPAN_KIND_SERVER | grep 'db.query.text=SELECT_count(\*)_FROM_pgbench_branches' | grep "^$trace ")
		[ -n "$ss" ] || bad "ebpf: no server span of the DB call in trace $trace"
		check "ebpf: the server's span joins the client's by 4-tuple" "$(echo "$cs" | cut -d' ' -f2)" \
			"$(echo "$ss" | cut -d' ' -f3)"
	fi

	# TLS (ssl=on; pgbench with sslmode=require fails without it): the shim reads the plaintext inside libssl (the
	# eBPF path: tls_ebpf below, its own session on a postmaster started with ssl=on)
	if [ "$P" == shim ]; then
		local t0
		pg_stop
		PGSSL=on pg_start OBSPROBE_RUNTIME_DIR="$RT" OBSPROBE_SERVICE="$SVC" LD_PRELOAD="$SHIM"
		t0=$(tls_exchanges)
		phase tls_simple env PGSSLMODE=require pgbench -n -f "$TMP/bench.sql" -t "$TX" -c 2 -M simple -h 127.0.0.1 \
			-p "$PGPORT" -U postgres postgres
		local ws=$WANT
		phase tls_extended env PGSSLMODE=require pgbench -n -f "$TMP/bench.sql" -t "$TX" -c 2 -M extended \
			-h 127.0.0.1 -p "$PGPORT" -U postgres postgres
		check "shim: every TLS statement counted with transport=\"tls\"" $((ws + WANT)) $(($(tls_exchanges) - t0))
	fi

	kill "$web" 2>/dev/null
	wait "$web" 2>/dev/null
	[ "$P" == shim ] && pg_stop
	sleep 0.5
	scrape "$LP" >"$TMP/m2.$P"
	kill -INT "$OBS"
	wait "$OBS"
	check "$P: obsprobe exit status" 0 $?
	[ "$P" == ebpf ] && pg_stop
	# secrets: the literal and the password never leave, in spans, metrics or obsprobe's own output
	for s in "$SECRET_LIT" "$SECRET_PW" UrlPassw0rd-quux; do
		if grep -qaF "$s" "$TMP/spans.$P.jsonl" "$TMP/m.$P" "$TMP/m2.$P" "$TMP/obs.$P.err"; then
			bad "$P: secret '$s' leaked"
		else
			ok "$P: secret '$s' in no output"
		fi
	done
	grep -qaF "$SECRET_LIT" "$LOG" && ok "$P: the literal did cross the wire (the server logged it)" ||
		bad "$P: the literal never reached the server: the check above proves nothing"
	check "$P: no parse errors, nothing unanswered" "" \
		"$(grep -E '^obsprobe_events_lost_total\{[^}]*reason="postgres_' "$TMP/m2.$P")"
}

tls_ebpf() { # PostgreSQL over TLS traced by eBPF: uprobes on the libssl the backends use
	P=ebpf-tls
	LP=$(free_port)
	PGSSL=on pg_start
	"$OBSPROBE" attach --pid "$PG" --service pg --listen "127.0.0.1:$LP" --spans-file "$TMP/spans.$P.jsonl" -q \
		2>"$TMP/obs.$P.err" &
	OBS=$!
	PIDS+=($OBS)
	if wait_for 30 curl -sf "http://127.0.0.1:$LP/health/ready"; then
		local t0 ws
		t0=$(tls_exchanges)
		phase tls_simple env PGSSLMODE=require pgbench -n -f "$TMP/bench.sql" -t "$TX" -c 2 -M simple -h 127.0.0.1 \
			-p "$PGPORT" -U postgres postgres
		ws=$WANT
		phase tls_extended env PGSSLMODE=require pgbench -n -f "$TMP/bench.sql" -t "$TX" -c 2 -M extended \
			-h 127.0.0.1 -p "$PGPORT" -U postgres postgres
		check "ebpf: every TLS statement counted with transport=\"tls\"" $((ws + WANT)) $(($(tls_exchanges) - t0))
		scrape "$LP" >"$TMP/m.$P"
		check "ebpf-tls: nothing lost or unparsed" "" "$(grep -E '^obsprobe_events_lost_total\{[^}]*reason="postgres_' "$TMP/m.$P")"
		kill -INT "$OBS"
		wait "$OBS"
		check "ebpf-tls: obsprobe exit status" 0 $?
	else
		bad "obsprobe attach: $(cat "$TMP/obs.$P.err")"
	fi
	pg_stop
}

[ -n "${PG_ONLY:-}${TLS_ONLY:-}" ] || P=ebpf run_path
[ -n "${PG_ONLY:-}" ] || tls_ebpf
[ -n "${TLS_ONLY:-}" ] || P=shim run_path
finish
