# Sourced by the load scripts (tests/load/run.sh, tests/benchload/run.sh).
# stop_pid PID: asks the process to stop, waits up to 10 seconds for it, then kills it.
stop_pid() {
	local p=$1
	if [ -n "$p" ] && kill "$p" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	fi
}
