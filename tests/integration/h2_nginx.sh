# shellcheck shell=bash
# h2_nginx.sh -- nginx serving HTTP/2 (h2c with prior knowledge, and h2 over TLS) and curl clients making an
# exact number of requests, for the HTTP/2 tests (sourced after lib.sh: uses $TMP, $PIDS). nginx's access log
# ($server_protocol first) is the ground truth of what was served.
#
#   h2_nginx_start H2C_PORT TLS_PORT   nginx (master + 2 workers, daemon off: $H2_NGINX_PID is the master, a
#                                      child of the test) with a private prefix in $TMP/h2ngx, a self-signed
#                                      certificate, /small.txt (100 bytes) and /big.bin (40000 bytes: several
#                                      DATA frames). $H2_WRAP (words, e.g. "env LD_PRELOAD=...") prefixes it.
#   h2_nginx_workers                   the worker pids, one a line
#   h2_curl MODE N [PATH]              one curl, N URLs (one connection, requests one after the other)
#   h2_curl_parallel MODE N [PATH]     one curl, N URLs at once (--parallel: streams multiplexed on one connection)
#   h2_curl_each MODE N [PATH]         N curl runs, one URL each (N connections)
#   h2_h2load MODE N M [PATH]          h2load: one connection, N requests, at most M streams at once
#                                      MODE is h2c (prior knowledge: curl --http2-prior-knowledge) or tls (ALPN h2:
#                                      curl --http2 -k). curl 7.88 cannot reuse an h2c connection, so h2_curl and
#                                      h2_curl_parallel in h2c mode with N > 1 run h2load (-m 1, -m N) instead.
#                                      Each sets H2_CLIENT (curl or h2load), H2_OK (answers that were HTTP/2 and
#                                      200), H2_CONNECTS (connections curl opened; empty for h2load) and returns
#                                      0 iff the client succeeded (h2load: every request answered 2xx).
#   h2_nginx_lines                     lines in the access log now (a mark for the counts below)
#   h2_nginx_count FROM [PROTO [PORT]] log lines after line FROM with $server_protocol PROTO (HTTP/2.0), on PORT
#   h2_nginx_wait_count FROM N [PROTO [PORT]]
#                                      the same, after waiting (at most 5 s) for N such lines: nginx writes a line
#                                      when it closes the stream, which may be just after curl has its answer
#   h2_nginx_conns FROM [PORT]         distinct nginx connection serial numbers in those lines
#   h2_nginx_stop                      SIGQUIT (graceful), bounded wait, then SIGKILL; status of the master
H2_NGINX_DIR=$TMP/h2ngx
H2_ACCESS_LOG=$H2_NGINX_DIR/logs/access.log
H2_NGINX_PID=""
H2_H2C_PORT="" H2_TLS_PORT=""
H2_OK=0 H2_CONNECTS=0 H2_CLIENT=""
H2_WRAP=${H2_WRAP:-}

h2_nginx_start() { # H2C_PORT TLS_PORT
	H2_H2C_PORT=$1 H2_TLS_PORT=$2
	local d=$H2_NGINX_DIR
	mkdir -p "$d/logs" "$d/html"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 1 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null || {
		echo "h2_nginx: openssl could not make a certificate" >&2
		return 1
	}
	head -c 100 /dev/zero | tr '\0' 'a' >"$d/html/small.txt"
	head -c 40000 /dev/zero | tr '\0' 'b' >"$d/html/big.bin"
	cat >"$d/nginx.conf" <<NGX
master_process on;
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events { worker_connections 128; }
http {
  log_format h2 '\$server_protocol \$status \$request_method \$request_uri \$server_port \$connection \$connection_requests \$pid \$body_bytes_sent';
  access_log $H2_ACCESS_LOG h2;
  client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f; uwsgi_temp_path $d/u; scgi_temp_path $d/s;
  default_type application/octet-stream;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$H2_H2C_PORT http2;
    root $d/html;
  }
  server {
    listen 127.0.0.1:$H2_TLS_PORT ssl http2;
    ssl_certificate $d/cert.pem; ssl_certificate_key $d/key.pem;
    root $d/html;
  }
}
NGX
	: >"$H2_ACCESS_LOG"
	# shellcheck disable=SC2086
	$H2_WRAP nginx -c "$d/nginx.conf" -p "$d" >"$d/logs/stdout" 2>&1 &
	H2_NGINX_PID=$!
	PIDS+=("$H2_NGINX_PID")
	# ready when both workers exist: the master listens before it forks them (no probe connection is made:
	# a traced nginx sees only the test's own connections)
	local _
	for _ in $(seq 1 100); do
		kill -0 "$H2_NGINX_PID" 2>/dev/null || break
		[ "$(h2_nginx_workers | wc -l)" -eq 2 ] && return 0
		sleep 0.1
	done
	echo "h2_nginx: nginx did not start: $(tail -n 3 "$d/logs/error.log" "$d/logs/stdout" 2>/dev/null)" >&2
	return 1
}

h2_nginx_workers() { pgrep -P "$H2_NGINX_PID" -x nginx; }

# _h2_curl_run MODE ARGS... : one curl; adds its transfers to H2_OK / H2_CONNECTS
_h2_curl_run() {
	local mode=$1 out rc
	shift
	case $mode in
	h2c) set -- --http2-prior-knowledge "$@" ;;
	tls) set -- --http2 -k "$@" ;;
	*)
		echo "h2_curl: mode is h2c or tls, not '$mode'" >&2
		return 2
		;;
	esac
	out=$(curl -s --no-progress-meter --max-time 20 -w '%{http_version} %{response_code} %{num_connects}\n' "$@")
	rc=$?
	H2_OK=$((H2_OK + $(awk '$1 == "2" && $2 == "200"' <<<"$out" | wc -l)))
	H2_CONNECTS=$((H2_CONNECTS + $(awk '{ n += $3 } END { print n + 0 }' <<<"$out")))
	return $rc
}

# _h2_urls MODE N PATH: the curl arguments for N transfers of PATH, each written to /dev/null
_h2_urls() {
	local i
	for ((i = 0; i < $2; i++)); do printf '%s\n' -o /dev/null "$(_h2_url "$1" "$3")"; done
}

_h2_url() { # MODE PATH
	if [ "$1" = tls ]; then echo "https://127.0.0.1:$H2_TLS_PORT$2"; else echo "http://127.0.0.1:$H2_H2C_PORT$2"; fi
}

h2_h2load() { # MODE N M [PATH]: h2load, one connection, N requests, at most M streams at once
	H2_OK=0 H2_CONNECTS="" H2_CLIENT=h2load
	local out rc
	out=$(timeout 30 h2load -n "$2" -c 1 -t 1 -m "$3" "$(_h2_url "$1" "${4:-/small.txt}")" 2>&1)
	rc=$?
	grep -q '^Application protocol: h2' <<<"$out" &&
		H2_OK=$(awk '$1 == "status" && $2 == "codes:" { print $3 + 0 }' <<<"$out")
	[ $rc -eq 0 ] && [ "$H2_OK" -eq "$2" ]
}

h2_curl() { # MODE N [PATH]
	H2_OK=0 H2_CONNECTS=0 H2_CLIENT=curl
	# curl 7.88 (Debian 12) fails the second transfer on a reused h2c prior-knowledge connection (curl issue
	# 10634, fixed in 7.89): h2c requests on one connection come from h2load
	[ "$1" = h2c ] && [ "$2" -gt 1 ] && { h2_h2load h2c "$2" 1 "${3:-}"; return; }
	local -a urls
	mapfile -t urls < <(_h2_urls "$1" "$2" "${3:-/small.txt}")
	_h2_curl_run "$1" "${urls[@]}"
}

h2_curl_parallel() { # MODE N [PATH]
	H2_OK=0 H2_CONNECTS=0 H2_CLIENT=curl
	[ "$1" = h2c ] && [ "$2" -gt 1 ] && { h2_h2load h2c "$2" "$2" "${3:-}"; return; } # as in h2_curl
	local -a urls
	mapfile -t urls < <(_h2_urls "$1" "$2" "${3:-/small.txt}")
	_h2_curl_run "$1" --parallel --parallel-max "$2" "${urls[@]}"
}

h2_curl_each() { # MODE N [PATH]
	H2_OK=0 H2_CONNECTS=0 H2_CLIENT=curl
	local i rc=0
	local -a urls
	mapfile -t urls < <(_h2_urls "$1" 1 "${3:-/small.txt}")
	for ((i = 0; i < $2; i++)); do _h2_curl_run "$1" "${urls[@]}" || rc=1; done
	return $rc
}

h2_nginx_lines() { wc -l <"$H2_ACCESS_LOG"; }

h2_nginx_count() { # FROM [PROTO [PORT]]
	awk -v from="$1" -v proto="${2:-HTTP/2.0}" -v port="${3:-}" \
		'NR > from && $1 == proto && (port == "" || $5 == port) { n++ } END { print n + 0 }' "$H2_ACCESS_LOG"
}

h2_nginx_wait_count() { # FROM N [PROTO [PORT]]
	local _
	for _ in $(seq 1 50); do
		[ "$(h2_nginx_count "$1" "${3:-HTTP/2.0}" "${4:-}")" -ge "$2" ] && break
		sleep 0.1
	done
	h2_nginx_count "$1" "${3:-HTTP/2.0}" "${4:-}"
}

h2_nginx_conns() { # FROM [PORT]
	awk -v from="$1" -v port="${2:-}" 'NR > from && (port == "" || $5 == port) { print $6 }' "$H2_ACCESS_LOG" |
		sort -u | wc -l
}

h2_nginx_stop() {
	[ -n "$H2_NGINX_PID" ] || return 1
	local _ p w rc
	w=$(h2_nginx_workers)
	kill -QUIT "$H2_NGINX_PID" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$H2_NGINX_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$H2_NGINX_PID" 2>/dev/null
	wait "$H2_NGINX_PID" 2>/dev/null
	rc=$?
	for p in $w; do kill -9 "$p" 2>/dev/null; done # workers of a master that had to be killed
	return $rc
}
