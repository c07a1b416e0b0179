#!/usr/bin/env bash
# Starts `verdict serve --dev` on a free loopback port, drives it with ./tests/load for a bounded
# time, prints the figures and stops the server. Usage: tests/load/run.sh BIN [duration] [concurrency]
set -euo pipefail
bin=${1:?verdict binary}
duration=${2:-10s}
concurrency=${3:-16}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "$work"
VERDICT_DECISION_LOG_SINK=none "$bin" serve --dev --addr "127.0.0.1:$port" >server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
	curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
	sleep 0.1
done
token=$("$bin" token mint --sub alice --roles editor --tenant acme --scopes document:read \
	--claims '{"amr":["pwd","otp"]}' --ttl 10m)
cd - >/dev/null
go run ./tests/load -url "http://127.0.0.1:$port" -token "$token" -duration "$duration" -concurrency "$concurrency"
