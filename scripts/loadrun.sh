#!/usr/bin/env bash
# loadrun.sh BIN [SHAREDDATA]: a short end-to-end load run (make bench).
#
# Imports the full UCI Online Retail set when SHAREDDATA has it (else the
# demo sample) into a temporary store, starts `affinity serve` on a loopback
# port, and measures with `affinity bench`:
#   - restart to ready (serve start until /readyz answers 200) and RSS;
#   - related and personal, closed loop, each with the trivial-handler
#     baseline of the same run (--baseline) and the ratio;
#   - related and personal, open loop at half their own closed-loop throughput
#     (the p99 < 2 ms target);
#   - mixed (reads and event posts);
#   - online ingest: batched NDJSON posts of synthetic events while
#     related requests run.
# Everything stays on 127.0.0.1 and the whole run takes about two minutes.
# Environment: LOADRUN_SECONDS (closed-loop run length, default 6),
# LOADRUN_CONCURRENCY (default 32).
set -euo pipefail

BIN=${1:?usage: loadrun.sh BIN [SHAREDDATA]}
SHARED=${2:-../shared/data}
SECS=${LOADRUN_SECONDS:-6}
CONC=${LOADRUN_CONCURRENCY:-32}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
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

DATA=$SHARED/uci-online-retail/online_retail.csv.gz
if [ ! -f "$DATA" ]; then
	DATA=$ROOT/testdata/demo/online_retail_sample.csv.gz
fi

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "== import $DATA"
"$BIN" import --data "$TMP/data" --format online-retail "$DATA" 2>/dev/null | grep -E 'accepted|took|model'

# json_field FILE NAME: the value of a top-level field of `bench --json`
# (indented by two spaces; nested objects are indented deeper).
json_field() { sed -n "s/^  \"$2\": \\([^,]*\\),\\{0,1\\}$/\\1/p" "$1" | head -1; }
# baseline_field FILE NAME: the same field of the nested baseline result.
baseline_field() { sed -n '/^  "baseline": {/,/^  }/p' "$1" | sed -n "s/^    \"$2\": \\([^,]*\\),\\{0,1\\}$/\\1/p" | head -1; }

start_server() {
	local t0 t1
	t0=$(date +%s%N)
	"$BIN" serve --addr 127.0.0.1:0 --data "$TMP/data" ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"} >"$TMP/serve.out" 2>"$TMP/serve.err" &
	PID=$!
	for _ in $(seq 1 600); do
		URL=$(sed -n 's/^affinity listening on \(http:[^ ]*\)$/\1/p' "$TMP/serve.out")
		if [ -n "$URL" ] && curl -sf -o /dev/null "$URL/readyz"; then
			t1=$(date +%s%N)
			echo "ready in $(( (t1 - t0) / 1000000 )) ms; $(grep VmRSS /proc/$PID/status | tr -s ' \t' ' ')"
			return 0
		fi
		kill -0 "$PID" 2>/dev/null || { echo "serve died:"; tail -5 "$TMP/serve.err"; exit 1; }
		sleep 0.05
	done
	echo "serve was not ready after 30 s"
	exit 1
}

# The import left a snapshot: this start is a restart.
echo "== restart"
start_server

SUMMARY=$TMP/summary
: >"$SUMMARY"
for run in related personal personal-uncached; do
	sc=${run%-uncached}
	if [ "$run" = personal-uncached ]; then
		# The same run against a server whose personal-list cache is off:
		# every request is scored.
		echo "== restart with personal_cache_entries 0"
		kill -INT "$PID"
		wait "$PID" 2>/dev/null || true
		echo '{"personal_cache_entries": 0}' >"$TMP/nocache.json"
		SERVE_ARGS=(--config "$TMP/nocache.json")
		start_server
	fi
	echo "== $run: closed loop, $CONC workers, ${SECS}s, with the trivial-handler baseline"
	"$BIN" bench --url "$URL" --scenario "$sc" --duration "${SECS}s" --warmup 1s --concurrency "$CONC" \
		--baseline --json >"$TMP/$run.json" 2>/dev/null
	rps=$(json_field "$TMP/$run.json" rps)
	base=$(baseline_field "$TMP/$run.json" rps)
	ratio=$(json_field "$TMP/$run.json" baseline_ratio)
	p99=$(json_field "$TMP/$run.json" p99_ms)
	errs=$(json_field "$TMP/$run.json" errors)
	echo "$run: $rps req/s (p99 $p99 ms, errors $errs); baseline $base req/s; ratio $ratio"
	half=$(awk -v r="$rps" 'BEGIN { printf "%d", r / 2 }')
	echo "== $run: open loop at $half req/s (half its closed-loop throughput), 5s"
	"$BIN" bench --url "$URL" --scenario "$sc" --duration 5s --warmup 1s --concurrency 128 --rate "$half" \
		--json >"$TMP/$run-open.json" 2>/dev/null
	op50=$(json_field "$TMP/$run-open.json" p50_ms)
	op99=$(json_field "$TMP/$run-open.json" p99_ms)
	orps=$(json_field "$TMP/$run-open.json" rps)
	oerr=$(json_field "$TMP/$run-open.json" errors)
	echo "$run open loop: $orps req/s, p50 $op50 ms, p99 $op99 ms, errors $oerr"
	printf '%-17s %9s %9s %6s %9s %9s %9s\n' "$run" "$rps" "$base" "$ratio" "$half" "$op99" "$oerr" >>"$SUMMARY"
done

echo "== mixed: closed loop, $CONC workers, ${SECS}s (30% related, 35% personal, 10% popular, 5% nbo, 20% event posts)"
"$BIN" bench --url "$URL" --scenario mixed --duration "${SECS}s" --concurrency "$CONC" 2>/dev/null |
	sed -n '/^throughput/p;/^by kind/,$p'

echo "== online ingest: batches of 5,000 synthetic events (4 posters) while related runs, ${SECS}s"
"$BIN" bench --generate "$TMP/ingest.ndjson" --size small --events 400000 --customers 50000 --products 20000 >/dev/null
split -l 5000 "$TMP/ingest.ndjson" "$TMP/batch."
rm "$TMP/ingest.ndjson"
"$BIN" bench --url "$URL" --scenario related --duration "${SECS}s" --concurrency 8 --json >"$TMP/reads.json" 2>/dev/null &
READS=$!
t0=$(date +%s%N)
deadline=$(( t0 + SECS * 1000000000 ))
poster() {
	local n=0 f
	for f in "$TMP"/batch.*; do
		case $((n % 4)) in "$1") ;; *) n=$((n + 1)); continue ;; esac
		n=$((n + 1))
		[ "$(date +%s%N)" -lt "$deadline" ] || break
		curl -sf -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary "@$f" "$URL/v1/events" &&
			echo 5000 >>"$TMP/posted.$1"
	done
}
POSTERS=()
for i in 0 1 2 3; do
	poster "$i" &
	POSTERS+=($!)
done
wait "${POSTERS[@]}" || true
t1=$(date +%s%N)
wait "$READS" || true
posted=$(cat "$TMP"/posted.* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
ingest=$(awk -v n="$posted" -v ns=$((t1 - t0)) 'BEGIN { printf "%d", n / (ns / 1e9) }')
echo "ingested $posted events in $(( (t1 - t0) / 1000000 )) ms: $ingest events/s, while related ran at $(json_field "$TMP/reads.json" rps) req/s (p99 $(json_field "$TMP/reads.json" p99_ms) ms)"
echo "RSS after the runs: $(grep VmRSS /proc/$PID/status | tr -s ' \t' ' ')"

echo
echo "== summary (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-17s %9s %9s %6s %9s %9s %9s\n' scenario "req/s" "baseline" ratio "open@" "p99 ms" errors
cat "$SUMMARY"
printf 'online ingest %s events/s while serving reads\n' "$ingest"
