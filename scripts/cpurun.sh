#!/usr/bin/env bash
# cpurun.sh BIN STORE RATE [SECONDS]: one open-loop run of the mixed
# scenario against a copy of STORE, with the CPU each side spent per
# request (docs/performance.md, sessions 8-11, issue 14 point 12).
#
# Copies STORE (an imported data directory, e.g. the 1M-event synthetic
# set: `affinity bench --generate medium.csv.gz --size medium`, then
# `affinity import`) to a temporary directory, serves it with BIN on a
# loopback port, waits SETTLE seconds (default 0) after it is ready, runs
# `affinity bench --scenario mixed --rate RATE` for SECONDS (default 20)
# after a 3 s warm-up, and prints the bench's report and the server's and
# the generator's CPU time per request sent (from /proc/PID/stat and the
# shell's `times`). For the machine's floor, `affinity bench --baseline`
# loads a trivial fiber handler the same way (in the bench's process).
set -euo pipefail

BIN=${1:?usage: cpurun.sh BIN STORE RATE [SECONDS]}
STORE=${2:?usage: cpurun.sh BIN STORE RATE [SECONDS]}
RATE=${3:?usage: cpurun.sh BIN STORE RATE [SECONDS]}
SECS=${4:-20}
ADDR=127.0.0.1:${CPURUN_PORT:-18190}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac

TMP=$(mktemp -d)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -INT "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

cp -r "$STORE" "$TMP/store"
"$BIN" serve --data "$TMP/store" --addr "$ADDR" >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
	curl -sf "http://$ADDR/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
sleep "${SETTLE:-0}"

ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
times >"$TMP/times0" # children so far: cp, curl, awk
"$BIN" bench --url "http://$ADDR" --scenario mixed --rate "$RATE" \
	--duration "${SECS}s" --warmup 3s
t1=$(ticks)
# times prints this shell's CPU, then its children's (the bench's); in a
# command substitution it would print the subshell's.
times >"$TMP/times1"
children() {
	awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}
gen=$(awk -v a="$(children "$TMP/times0")" -v b="$(children "$TMP/times1")" 'BEGIN { print b - a }')
sent=$(awk "BEGIN { print int($RATE * ($SECS + 3)) }")
awk -v s="$((t1 - t0))" -v g="$gen" -v hz="$hz" -v n="$sent" 'BEGIN {
	printf "server CPU %.1f us a request, generator %.1f us (%d requests at the rate, warm-up included)\n",
		s / hz / n * 1e6, g / n * 1e6, n
}'
