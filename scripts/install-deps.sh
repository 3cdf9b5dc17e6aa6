#!/usr/bin/env bash
# install-deps.sh -- bring every package obsprobe builds and tests with, from Debian 12.
# Idempotent: when everything is present it only checks and exits (no apt-get update).
set -euo pipefail

# build: compiler chain for BPF (clang/llvm), libbpf + bpftool for skeletons,
# libelf for symbols, libmicrohttpd for /metrics, cJSON for config/JSON, zlib,
# check for unit tests.  libcurl: the OTLP/HTTP client.
# test peers: prometheus (promtool + a real scraper), bpftrace/strace/ltrace
# for comparison, nginx/redis/python3/curl/wrk as real targets,
# protobuf-compiler to decode OTLP payloads.
# libcap-dev: capability sets and names (the drop after attaching, obsprobe check);
# libcap2-bin: capsh, to run check with capabilities dropped in tests.
# --web-config: libyaml-dev (the YAML file), libgnutls28-dev (TLS and client certificates: libmicrohttpd's
# TLS library, used directly to check client certificates), libcrypt-dev (crypt_r for bcrypt hashes);
# its test: openssl (makes a CA and certificates), apache2-utils (htpasswd makes bcrypt hashes).
# fuzzing: clang's libFuzzer and sanitizer runtimes are in libclang-rt-14-dev, a package clang only
# recommends (so --no-install-recommends below would skip it): named here.
PKGS=(
	make gcc clang libclang-rt-14-dev llvm pkg-config clang-format
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libmicrohttpd-dev libcjson-dev check libcurl4-openssl-dev
	prometheus bpftrace strace ltrace
	nginx-light redis-server redis-tools wrk curl python3
	protobuf-compiler procps iproute2 file binutils
	libcap-dev libcap2-bin
	libyaml-dev libgnutls28-dev libcrypt-dev openssl apache2-utils
	gnutls-bin # gnutls-cli: a GnuTLS client for the eBPF TLS test
	postgresql postgresql-client-15 # test_postgres.sh: postgres, initdb, pg_isready, pgbench, psql
	libnghttp2-dev # HPACK decoding of captured HTTP/2 header blocks (the collector only; the shim stays free of it)
	python3-grpcio python3-grpc-tools python3-protobuf # gRPC test programs and the OTLP/gRPC test receiver
	prometheus-pushgateway prometheus-alertmanager # run --pushgateway's test; stack.sh's Alertmanager and its webhook test
	nghttp2-client # h2load: h2c requests on one connection (curl 7.88 cannot reuse an h2c connection) for the HTTP/2 tests
	python3-yaml systemd util-linux # test_deploy.sh: parse deploy/kubernetes (no kubectl), systemd-analyze verify the unit, setpriv its bounding set
	valgrind # callgrind: make bench counts the ingest path's instructions per HTTP exchange (tests/bench/ingest_bench.sh)
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts services on install; obsprobe's tests start their own.
for s in nginx redis-server prometheus prometheus-node-exporter prometheus-pushgateway prometheus-alertmanager; do
	systemctl stop "$s" >/dev/null 2>&1 || true
	systemctl disable "$s" >/dev/null 2>&1 || true
done
