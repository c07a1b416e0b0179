#!/usr/bin/env bash
# `make bench-load`: Verdict side by side with a floor server, the floor plus one RS256
# verification a request, and OPA's server, on the same machine, one server at a time, and one
# table of the run. Usage: tests/benchload/run.sh VERDICT_BIN
#
# Each server runs pinned to CPU 0 and the load generator (wrk with bench.lua, or
# `benchload rate` for the constant-rate run) to CPU 1, on a free 127.0.0.1 port. Every server is
# probed before it is measured (an allow for the allow request, the small policy's denials where
# it decides), warmed up, then measured. Everything lives in a scratch directory; every wait is
# bounded and the running server is stopped on exit, killed if it has not stopped in 10 seconds.
# BENCH_WARMUP and BENCH_DURATION (seconds, default 2 and 6) and BENCH_CONNECTIONS (default 16)
# change the runs. BENCH_PROFILE=DIR also takes a CPU profile of Verdict during each of its
# measured runs (through server.pprof_addr) and prints CPU time per request by stage.
set -euo pipefail
bin=$(cd "$(dirname "${1:?verdict binary}")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# Verdict runs with the Kubernetes example's memory limit, as deployed (under it, serve runs
# the collector at GOGC 400; docs/operations.md).
memlimit=${BENCH_GOMEMLIMIT:-440MiB}
warmup=${BENCH_WARMUP:-2}
measure=${BENCH_DURATION:-6}
conns=${BENCH_CONNECTIONS:-16}
w2_cache=16
iss=https://idp.bench.test
work=$(mktemp -d)
pid=
receiver=

. "$here/../stop_server.sh"

stop_server() {
	stop_pid "$pid"
	pid=
}
trap 'stop_server; stop_pid "$receiver"; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# start NAME HEALTH_PATH COMMAND...: runs COMMAND on CPU 0 and waits (at most 60 s) until
# HEALTH_PATH answers 200 on $url.
start() {
	local name=$1 health=$2
	shift 2
	server_name=$name
	taskset -c 0 "$@" >"$work/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		if curl -fsS -o /dev/null --max-time 1 "$url$health" 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench-load: $name did not start; its log:" >&2
	cat "$work/$name.log" >&2
	exit 1
}

new_port() { url=http://127.0.0.1:$("$work/benchload" port); addr=${url#http://}; }

# measure WORKLOAD SERVER DECISIONS_PER_REQUEST MODE [unique]: a warm-up, then the measured run.
measure() {
	local workload=$1 server=$2 per=$3
	shift 3
	taskset -c 1 wrk -t1 -c"$conns" -d"${warmup}s" --timeout 5s -s "$here/bench.lua" "$url" -- "$1" "$work" "${2:-}" >/dev/null
	local prof= profiler=
	if [ -n "${BENCH_PROFILE:-}" ] && [ -n "${pprof_url:-}" ]; then
		prof=$BENCH_PROFILE/$workload-$server.pb
		curl -fsS -o "$prof" "$pprof_url/debug/pprof/profile?seconds=$((measure - 1))" &
		profiler=$!
	fi
	taskset -c 1 wrk -t1 -c"$conns" -d"${measure}s" --timeout 5s -s "$here/bench.lua" "$url" -- "$1" "$work" "${2:-}" >"$work/wrk.out"
	alive "$workload"
	if [ -n "$prof" ]; then
		wait "$profiler"
		"$work/benchload" stages -profile "$prof" -requests "$(awk '/^RESULT/ {printf "%d", $2 / $3 * ('"$measure"' - 1)}' "$work/wrk.out")" -per "$per" >&2
	fi
	printf '%s\t%s\t%s\t%s\n' "$workload" "$server" "$per" "$(grep '^RESULT' "$work/wrk.out")" >>"$work/results.tsv"
	echo "  $workload on $server: $(grep '^RESULT' "$work/wrk.out")" >&2
}

# alive WORKLOAD fails the run, with the server's log, when the server exited during WORKLOAD.
alive() {
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "bench-load: the server exited during $1; the end of its log:" >&2
		tail -n 20 "$work/$server_name.log" >&2
		exit 1
	fi
}

probe() { "$work/benchload" probe -url "$url" -dir "$work" -issuer "$iss" -mode "$1" >&2; }

# verdict_config NAME CACHE_SIZE POLICY_YAML LOG_YAML writes $work/NAME.yaml; with BENCH_PROFILE
# it also serves profiles on a second free port, $pprof_url.
verdict_config() {
	local pprof=
	pprof_url=
	if [ -n "${BENCH_PROFILE:-}" ]; then
		pprof_url=http://127.0.0.1:$("$work/benchload" port)
		pprof=", pprof_addr: \"${pprof_url#http://}\""
	fi
	cat >"$work/$1.yaml" <<YAML
server: {addr: "$addr"$pprof}
$3
tokens:
  issuers:
    - issuer: $iss
      audiences: [verdict]
      jwks_file: $work/jwks.json
      algorithms: [RS256]
  cache_size: $2
revocation: {store: file, path: $work/$1-revocations.db}
decision_log: $4
data_dir: $work/$1-data
YAML
}

small_policy="policy: {bundle: $here/policy, entrypoint: bench/authz/decision}"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-load: building the generator and OPA; writing the key, JWKS and 1000 tokens" >&2
(cd "$root" && go build -o "$work/benchload" ./tests/benchload)
opa=$(cd "$root" && go tool -n opa)
"$work/benchload" gen -dir "$work" -issuer "$iss"

[ -z "${BENCH_PROFILE:-}" ] || mkdir -p "$BENCH_PROFILE"

echo "bench-load: floor" >&2
new_port
start floor /health "$work/benchload" floor -addr "$addr"
probe floor
measure W1 floor 1 bearer
measure W1u floor 1 bearer unique
stop_server

echo "bench-load: floor + RS256" >&2
new_port
start floor-rs256 /health "$work/benchload" floor -addr "$addr" -pub "$work/pub.pem" -issuer "$iss"
probe floor-rs256
measure W1 floor+RS256 1 bearer
measure W2 floor+RS256 1 bearer
stop_server

echo "bench-load: OPA, small policy, token verified in Rego" >&2
new_port
start opa /health "$opa" run --server --addr "$addr" --log-level error \
	"$here/policy" "$here/opa" "$work/opa-keys.json"
probe opa
measure W1 OPA 1 opa
measure W1u OPA 1 opa unique
stop_server

echo "bench-load: OPA, built-in policy, claims in the input" >&2
new_port
start opa-builtin /health "$opa" run --server --addr "$addr" --log-level error --bundle "$root/policies"
probe opa-builtin
measure W1-builtin OPA 1 opa-builtin
stop_server

echo "bench-load: Verdict, small policy" >&2
new_port
verdict_config verdict 100000 "$small_policy" "{sink: none}"
start verdict /ready env GOMEMLIMIT="$memlimit" "$bin" serve --config "$work/verdict.yaml"
probe verdict
probe verdict-batch
measure W1 Verdict 1 bearer
measure W1u Verdict 1 bearer unique
measure W3 Verdict 10 batch
rate=$(awk -F'\t' '$1 == "W1" && $2 == "Verdict" { split($4, r, " "); printf "%d", 0.8 * r[2] / r[3] }' "$work/results.tsv")
# A warm-up at the same rate first, as for the wrk rows: W1u and W3 have just filled the
# decision cache with other requests, and the first second would otherwise re-decide W1's.
taskset -c 1 "$work/benchload" rate -url "$url" -dir "$work" -rate "$rate" -duration "${warmup}s" >/dev/null
taskset -c 1 "$work/benchload" rate -url "$url" -dir "$work" -rate "$rate" -duration "${measure}s" >"$work/rate.out"
alive W1@80%
printf 'W1@80%%\tVerdict\t1\t%s\n' "$(grep '^RESULT' "$work/rate.out")" >>"$work/results.tsv"
echo "  W1@80% on Verdict ($rate req/s): $(grep '^RESULT' "$work/rate.out")" >&2
stop_server

echo "bench-load: Verdict, built-in policy" >&2
new_port
verdict_config verdict-builtin 100000 "" "{sink: none}"
start verdict-builtin /ready env GOMEMLIMIT="$memlimit" "$bin" serve --config "$work/verdict-builtin.yaml"
probe verdict-builtin
measure W1-builtin Verdict 1 bearer
stop_server

echo "bench-load: Verdict, token cache of $w2_cache entries (every token verified)" >&2
new_port
verdict_config verdict-w2 "$w2_cache" "$small_policy" "{sink: none}"
start verdict-w2 /ready env GOMEMLIMIT="$memlimit" "$bin" serve --config "$work/verdict-w2.yaml"
probe verdict
measure W2 Verdict 1 bearer
stop_server

echo "bench-load: Verdict, decision log to a file" >&2
new_port
verdict_config verdict-w4 100000 "$small_policy" "{sink: file, path: $work/decisions.log}"
start verdict-w4 /ready env GOMEMLIMIT="$memlimit" "$bin" serve --config "$work/verdict-w4.yaml"
probe verdict
measure W4 Verdict 1 bearer
stop_server

echo "bench-load: Verdict, decision log to an http receiver" >&2
new_port
receiver_url=$url
taskset -c 1 "$work/benchload" floor -addr "$addr" >"$work/receiver.log" 2>&1 &
receiver=$!
for _ in $(seq 1 100); do
	curl -fsS -o /dev/null --max-time 1 "$receiver_url/health" 2>/dev/null && break
	sleep 0.1
done
new_port
verdict_config verdict-w4h 100000 "$small_policy" "{sink: http, http: {url: \"$receiver_url\"}}"
start verdict-w4h /ready env GOMEMLIMIT="$memlimit" "$bin" serve --config "$work/verdict-w4h.yaml"
probe verdict
measure W4-http Verdict 1 bearer
stop_server
stop_pid "$receiver"
receiver=

cat <<NOTE

Each server alone on CPU 0, the load generator on CPU 1; wrk -t1 -c$conns, ${warmup} s warm-up
then ${measure} s measured per row. W1: 1000 tokens cycled over 5 request bodies (small policy;
W1-builtin: Verdict's built-in policy, OPA given the claims). W1u: every resource id unique.
W2: the same 1000 tokens through a token cache of $w2_cache entries, so every request verifies
its signature. W3: batches of 10 (decisions/s = 10 x req/s). W4: W1 with the decision log to a
file; W4-http: to an http receiver (the floor's POST /logs, on the generator's CPU). W1@80%: constant rate of $rate req/s (80% of Verdict's W1), latency from the due time.
Verdict ran with GOMEMLIMIT=$memlimit, as the Kubernetes example deploys it.
Load average (1, 5, 15 min) from other work on the machine: $load_before at the start,
$(cut -d' ' -f1-3 /proc/loadavg) at the end; figures taken under load are lower bounds.

NOTE
"$work/benchload" table "$work/results.tsv"
