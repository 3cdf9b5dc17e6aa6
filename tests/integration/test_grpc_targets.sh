#!/usr/bin/env bash
# test_grpc_targets.sh -- the real programs the HTTP/2 and gRPC tests trace, checked without obsprobe: the
# gRPC client's summary and the server's own record agree exactly with the calls asked for (unary, server
# streams, failures with the chosen status, metadata carrying a known traceparent, one connection), over TLS
# too; a server that calls another while serving; the HTTP/1 front that makes one gRPC call per request.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc_lib.sh"
grpc_need
grpc_stubs || { bad "stub generation failed"; finish; }

TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)

# ---- plaintext (h2c): 5 unary, 3 streams of 4 messages, 2 failures (INTERNAL), a traceparent ----
grpc_server_start s1 "$P1" --fail-code INTERNAL --record "$TMP/s1.rec" || { bad "server s1 did not start"; finish; }
grpc_client --target "127.0.0.1:$P1" --unary 5 --stream 3 --stream-count 4 --fail 2 --fail-code INTERNAL \
	--size 100 --metadata "traceparent=$TP" --metadata x-obs=demo >"$TMP/c1.json"
check "client: exit status" 0 $?
check "client: calls" "5 3 2" "$(grpc_json "$TMP/c1.json" '"%d %d %d" % (d["calls"]["Unary"], d["calls"]["ServerStream"], d["calls"]["Fail"])')"
check "client: messages received" "5 12 0" "$(grpc_json "$TMP/c1.json" '"%d %d %d" % (d["messages"]["Unary"], d["messages"]["ServerStream"], d["messages"]["Fail"])')"
check "client: status codes" "{'INTERNAL': 2, 'OK': 8}" "$(grpc_json "$TMP/c1.json" 'd["codes"]')"
check "client: pad bytes received" 1700 "$(grpc_json "$TMP/c1.json" 'd["pad_bytes"]')"
check "server record: calls per method" "[('/obsdemo.Demo/Fail', 2), ('/obsdemo.Demo/ServerStream', 3), ('/obsdemo.Demo/Unary', 5)]" \
	"$(grpc_json "$TMP/s1.rec" 'sorted(__import__("collections").Counter(x["method"] for x in L).items())')"
check "server record: traceparent on every call" 10 \
	"$(grpc_json "$TMP/s1.rec" "sum(1 for x in L if ['traceparent', '$TP'] in x['metadata'])")"
check "server record: x-obs on every call" 10 "$(grpc_json "$TMP/s1.rec" "sum(1 for x in L if ['x-obs', 'demo'] in x['metadata'])")"
check "server record: one connection (peers)" 1 "$(grpc_json "$TMP/s1.rec" 'len(set(x["peer"] for x in L))')"
check "server record: served by the server's pid" "${GRPC_PIDS[s1]}" "$(grpc_json "$TMP/s1.rec" '" ".join(sorted(set(str(x["pid"]) for x in L)))')"
check "server record: stream counts asked" "[4, 4, 4]" "$(grpc_json "$TMP/s1.rec" '[x["count"] for x in L if x["method"].endswith("ServerStream")]')"

# a second client run on the same server: a new connection, the default failure code expected
# (UNAVAILABLE) is not what this server sends, so the client must say so and fail
grpc_client --target "127.0.0.1:$P1" --fail 1 >"$TMP/c1b.json"
check "client: a wrong status code fails the client" 1 $?
check "client: the wrong code reported" "{'INTERNAL': 1}" "$(grpc_json "$TMP/c1b.json" 'd["codes"]')"
check "server record: the second client is a second connection" 2 "$(grpc_json "$TMP/s1.rec" 'len(set(x["peer"] for x in L))')"

# a second server on a port in use refuses to start (no SO_REUSEPORT sharing)
if grpc_server_start dup "$P1" 2>/dev/null; then bad "a second server started on a port in use"; else ok "a port in use is refused"; fi
grpc_stop s1
check "server: clean exit on SIGTERM" 0 $?

# ---- a server calling another while serving (--forward), default failure code UNAVAILABLE ----
grpc_server_start back "$P2" --record "$TMP/back.rec" || bad "server back did not start"
grpc_server_start mid "$P3" --record "$TMP/mid.rec" --forward "127.0.0.1:$P2" || bad "server mid did not start"
grpc_client --target "127.0.0.1:$P3" --unary 3 --fail 1 >"$TMP/c2.json"
check "forward: client exit status" 0 $?
check "forward: client codes" "{'OK': 3, 'UNAVAILABLE': 1}" "$(grpc_json "$TMP/c2.json" 'd["codes"]')"
check "forward: middle server calls" 4 "$(grpc_json "$TMP/mid.rec" 'len(L)')"
check "forward: back server calls (Unary only, named by the middle)" "['fwd u0', 'fwd u1', 'fwd u2']" \
	"$(grpc_json "$TMP/back.rec" 'sorted(x["name"] for x in L)')"
check "forward: no metadata passed on" 0 "$(grpc_json "$TMP/back.rec" 'sum(1 for x in L for k, v in x["metadata"] if k != "user-agent")')"
check "forward: the middle server's one outgoing connection" 1 "$(grpc_json "$TMP/back.rec" 'len(set(x["peer"] for x in L))')"

# ---- the HTTP/1 front: one gRPC Unary per GET /call; the traceparent it receives is not passed on ----
grpc_front_start front "$P4" "127.0.0.1:$P2" --record "$TMP/front.rec" || bad "http-front did not start"
n200=0
for i in 1 2; do
	code=$(curl -s --max-time 10 -o "$TMP/front.$i" -w '%{http_code}' -H "traceparent: $TP" "http://127.0.0.1:$P4/call")
	[ "$code" = 200 ] && n200=$((n200 + 1))
done
check "front: 200 answers" 2 $n200
check "front: answer carries the gRPC result" "hello front1" "$(grpc_json "$TMP/front.1" 'd["text"]')"
check "front: 404 elsewhere" 404 "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P4/other")"
check "front record: requests with the traceparent" 2 "$(grpc_json "$TMP/front.rec" "sum(1 for x in L if ['traceparent', '$TP'] in x['headers'])")"
check "back server: the front's calls" "['front1', 'front2']" "$(grpc_json "$TMP/back.rec" 'sorted(x["name"] for x in L if x["name"].startswith("front"))')"
check "back server: no traceparent from an untraced front" 0 "$(grpc_json "$TMP/back.rec" "sum(1 for x in L for k, v in x['metadata'] if k == 'traceparent')")"
grpc_stop front
grpc_stop mid
grpc_stop back

# ---- gRPC over TLS ----
mkdir -p "$TMP/pki"
if grpc_cert "$TMP/pki"; then
	P5=$(free_port)
	grpc_server_start tls "$P5" --tls "$TMP/pki/cert.pem" "$TMP/pki/key.pem" --record "$TMP/tls.rec" ||
		bad "tls server did not start"
	grpc_client --target "127.0.0.1:$P5" --tls-ca "$TMP/pki/cert.pem" --unary 2 --stream 1 --stream-count 2 \
		--metadata "traceparent=$TP" >"$TMP/c3.json"
	check "tls: client exit status" 0 $?
	check "tls: server calls with the traceparent" 3 "$(grpc_json "$TMP/tls.rec" "sum(1 for x in L if ['traceparent', '$TP'] in x['metadata'])")"
	grpc_client --target "127.0.0.1:$P5" --unary 1 --timeout 3 >"$TMP/c3b.json"
	check "tls: a plaintext client gets nothing" 1 $?
	grpc_stop tls
else
	bad "openssl could not make a certificate"
fi

# ---- nginx over HTTP/2 (h2c and TLS) and curl: the counts in nginx's access log are the requests made ----
if command -v nginx >/dev/null && command -v curl >/dev/null && command -v h2load >/dev/null; then
	source "$(dirname "$0")/h2_nginx.sh"
	HP=$(free_port) HT=$(free_port)
	if h2_nginx_start "$HP" "$HT"; then
		for mode in h2c tls; do
			port=$HP client=h2load conns="" # curl 7.88 cannot reuse an h2c connection (h2_nginx.sh)
			[ $mode = tls ] && port=$HT client=curl conns=1
			m=$(h2_nginx_lines)
			h2_curl $mode 7
			check "nginx $mode: one curl, 7 URLs: client status" 0 $?
			check "nginx $mode: one curl, 7 URLs: client" $client $H2_CLIENT
			check "nginx $mode: one curl, 7 URLs: HTTP/2 200 answers" 7 $H2_OK
			check "nginx $mode: one curl, 7 URLs: connections curl opened" "$conns" "$H2_CONNECTS"
			check "nginx $mode: one curl, 7 URLs: HTTP/2.0 lines logged" 7 "$(h2_nginx_wait_count "$m" 7 HTTP/2.0 "$port")"
			check "nginx $mode: one curl, 7 URLs: one nginx connection" 1 "$(h2_nginx_conns "$m" "$port")"
			m=$(h2_nginx_lines)
			h2_curl_each $mode 3 /big.bin
			check "nginx $mode: 3 curls: curl status" 0 $?
			check "nginx $mode: 3 curls: HTTP/2 200 answers" 3 $H2_OK
			check "nginx $mode: 3 curls: HTTP/2.0 lines logged" 3 "$(h2_nginx_wait_count "$m" 3 HTTP/2.0 "$port")"
			check "nginx $mode: 3 curls: three connections" 3 "$(h2_nginx_conns "$m" "$port")"
			check "nginx $mode: 3 curls: body bytes sent" 120000 \
				"$(awk -v from="$m" 'NR > from { n += $9 } END { print n + 0 }' "$H2_ACCESS_LOG")"
			m=$(h2_nginx_lines)
			h2_curl_parallel $mode 5
			check "nginx $mode: 5 parallel: client status" 0 $?
			check "nginx $mode: 5 parallel: HTTP/2 200 answers" 5 $H2_OK
			check "nginx $mode: 5 parallel: HTTP/2.0 lines logged" 5 "$(h2_nginx_wait_count "$m" 5 HTTP/2.0 "$port")"
			check "nginx $mode: 5 parallel: one connection" 1 "$(h2_nginx_conns "$m" "$port")"
		done
		m=$(h2_nginx_lines)
		h2_curl h2c 1 /big.bin
		check "nginx h2c: one curl, one URL: curl status" 0 $?
		check "nginx h2c: one curl, one URL: client" curl $H2_CLIENT
		check "nginx h2c: one curl, one URL: HTTP/2 200 answers" 1 $H2_OK
		check "nginx h2c: one curl, one URL: HTTP/2.0 lines logged" 1 "$(h2_nginx_wait_count "$m" 1 HTTP/2.0 "$HP")"
		m=$(h2_nginx_lines)
		h2_h2load tls 6 3 /big.bin
		check "nginx tls: h2load 6 requests, 3 at once: status" 0 $?
		check "nginx tls: h2load 6 requests, 3 at once: HTTP/2.0 lines logged" 6 "$(h2_nginx_wait_count "$m" 6 HTTP/2.0 "$HT")"
		check "nginx tls: h2load 6 requests, 3 at once: one connection" 1 "$(h2_nginx_conns "$m" "$HT")"
		check "nginx: only HTTP/2.0 in the log" 0 "$(awk '$1 != "HTTP/2.0"' "$H2_ACCESS_LOG" | wc -l)"
		check "nginx: every request 200" 0 "$(awk '$2 != "200"' "$H2_ACCESS_LOG" | wc -l)"
		check "nginx: total lines" 37 "$(h2_nginx_lines)"
		h2_nginx_stop
		check "nginx: graceful stop" 0 $?
	else
		bad "nginx (h2c + h2 over TLS) did not start"
	fi
else
	bad "nginx, curl or h2load (nghttp2-client) missing: scripts/install-deps.sh installs them"
fi

finish
