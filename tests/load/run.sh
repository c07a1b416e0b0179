#!/usr/bin/env bash
# Starts `verdict serve --dev` on a free loopback port, drives it with ./tests/load for a bounded
# time, prints the figures and stops the server.
# Usage: tests/load/run.sh BIN [duration] [concurrency] [load flags...]
#
# The server runs in a scratch directory (its dev key, revocation store and log stay there) with
# the decision log off; the port is the one the kernel gives for 127.0.0.1:0, read back from the
# server's "verdict serving" log line of its public listener. Every wait is bounded, and the server is stopped on exit,
# killed if it has not stopped within 10 seconds. Arguments after the third go to tests/load
# (such as -distinct 200000 -token-bytes 400, with the server's directory and pid filled in);
# the environment (GOGC, GOMEMLIMIT, VERDICT_*) reaches the server. The server also serves gRPC
# ext_authz on a free loopback port, passed on as -grpc-addr for -api grpc. With LOAD_PIN=1 the
# server runs on CPU 0 and the generator on CPU 1 (taskset), so the server's CPU per request is
# not mixed with the generator's.
set -euo pipefail
bin=$(cd "$(dirname "${1:?verdict binary}")" && pwd)/$(basename "$1")
duration=${2:-10s}
concurrency=${3:-16}
work=$(mktemp -d)
pid=
server_cpu=()
client_cpu=()
if [ "${LOAD_PIN:-}" = 1 ]; then
	server_cpu=(taskset -c 0)
	client_cpu=(taskset -c 1)
fi

. "$(dirname "$0")/../stop_server.sh"

stop() {
	stop_pid "$pid"
	rm -rf "$work"
}
trap stop EXIT INT TERM

(cd "$work" && exec "${server_cpu[@]}" env VERDICT_DECISION_LOG_SINK=none VERDICT_SERVER_GRPC_ADDR=127.0.0.1:0 "$bin" serve --dev --addr 127.0.0.1:0 >server.log 2>&1) &
pid=$!

addr=
for _ in $(seq 1 150); do
	addr=$(sed -n 's/.*"msg":"verdict serving","listener":"public","addr":"\([^"]*\)".*/\1/p' "$work/server.log" 2>/dev/null | head -n 1)
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "load: verdict did not start; its log:" >&2
	cat "$work/server.log" >&2
	exit 1
fi

grpc_addr=$(sed -n 's/.*"msg":"verdict serving gRPC ext_authz","addr":"\([^"]*\)".*/\1/p' "$work/server.log" | head -n 1)
token=$(cd "$work" && "$bin" token mint --sub alice --roles editor --tenant acme --scopes document:read \
	--claims '{"amr":["pwd","otp"]}' --ttl 10m)
go build -o "$work/load" ./tests/load
"${client_cpu[@]}" "$work/load" -url "http://$addr" -token "$token" -duration "$duration" -concurrency "$concurrency" \
	-grpc-addr "$grpc_addr" -dev-dir "$work" -pid "$pid" "${@:4}"
