#!/usr/bin/env bash
# Sustained event ingestion against a large store, to see whether writes
# ever stall (issue 14: "no ingest stall over 1 s at 10M events").
#
#   scripts/ingeststall.sh BIN STORE EVENTS.ndjson OUTDIR [ingestload flags...]
#
# Serves STORE (it is written to: pass a copy) on 127.0.0.1:${PORT:-18120}
# with --pprof and Badger's log at debug level, samples the Badger
# directory every second (tables, their bytes, write-ahead logs, server
# CPU and RSS) into OUTDIR/samples.csv, runs scripts/ingestload (goroutine
# dumps of every stall in OUTDIR/dumps, events per second in
# OUTDIR/series.csv), stops the server and prints Badger's
# compactions and level-0 stalls from OUTDIR/serve.log.
# docs/performance.md "Session 8: ingest at 10M" has a run.
set -euo pipefail
if [ $# -lt 4 ]; then
	echo "usage: $0 BIN STORE EVENTS.ndjson OUTDIR [ingestload flags...]" >&2
	exit 2
fi
BIN=$1 STORE=$2 EVENTS=$3 OUT=$4
shift 4
PORT=${PORT:-18120}
URL=http://127.0.0.1:$PORT
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT/dumps"
echo '{"log_level":"debug"}' >"$OUT/config.json"
go build -o "$OUT/ingestload" "$HERE/ingestload"

"$BIN" serve --data "$STORE" --addr "127.0.0.1:$PORT" --pprof --config "$OUT/config.json" 2>"$OUT/serve.log" &
SP=$!
trap 'kill $SP 2>/dev/null || true' EXIT
t0=$(date +%s)
until curl -sf "$URL/readyz" >/dev/null; do
	kill -0 $SP 2>/dev/null || { echo "serve exited; see $OUT/serve.log" >&2; exit 1; }
	sleep 0.5
done
echo "ready in $(($(date +%s) - t0)) s"

sample() {
	echo "time,sst,sst_mb,mem_files,vlog_mb,cpu_ticks,rss_mb"
	while kill -0 $SP 2>/dev/null; do
		local sst mb mem vlog cpu rss
		sst=$(find "$STORE" -maxdepth 1 -name '*.sst' | wc -l)
		mb=$(find "$STORE" -maxdepth 1 -name '*.sst' -printf '%s\n' | awk '{s+=$1} END {printf "%d", s/1048576}')
		mem=$(find "$STORE" -maxdepth 1 -name '*.mem' | wc -l)
		vlog=$(find "$STORE" -maxdepth 1 -name '*.vlog' -printf '%s\n' | awk '{s+=$1} END {printf "%d", s/1048576}')
		cpu=$(awk '{print $14+$15}' /proc/$SP/stat 2>/dev/null || echo 0)
		rss=$(awk '/^VmRSS/ {printf "%d", $2/1024}' /proc/$SP/status 2>/dev/null || echo 0)
		echo "$(date +%T.%3N),$sst,$mb,$mem,$vlog,$cpu,$rss"
		sleep 1
	done
}
sample >"$OUT/samples.csv" &
SAMPLER=$!

"$OUT/ingestload" --url "$URL" --file "$EVENTS" --dump-dir "$OUT/dumps" --series "$OUT/series.csv" "$@" | tee "$OUT/result.txt"
curl -s "$URL/metrics" | grep -E '^affinity_(log_sequence|model_sequence|store_lsm_bytes|store_vlog_bytes)' || true
kill -TERM $SP
wait $SP || true
trap - EXIT
wait $SAMPLER 2>/dev/null || true
echo "badger: $(grep -c 'LOG Compact' "$OUT/serve.log" || true) compactions," \
	"$(grep -c 'L0 was stalled' "$OUT/serve.log" || true) level-0 stalls over 1 s"
grep -E 'L0 was stalled|"level":"(WARN|ERROR)"' "$OUT/serve.log" | head -20 || true
