#!/bin/sh
# shapes.sh BIN SHAREDDATA: the default on data shaped unlike the two sets
# it was developed on (docs/evaluation.md, "Other shapes"). The shapes are
# made from the shared data by `go run ./scripts/shapes` (fixed seeds);
# each is split, and every algorithm is evaluated through `affinity eval
# --json` on the same split. The self-tuner only ever sees the train part.
# Prints one markdown table: nDCG@10, MAP and train seconds per algorithm,
# and the default against the best variant.
set -eu

BIN=${1:-bin/affinity}
DATA=${2:-../shared/data}
ALGOS=${ALGOS:-"popularity sar affinity-untuned knn cosine affinity"}
ML="$DATA/movielens-100k/u.data"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./scripts/shapes "$tmp" "$DATA" >&2
cat >"$tmp/plays.json" <<'JSON'
{"event_types": {"play": {"weight": 1, "class": "bought", "use_value": true}}}
JSON

# one LABEL SPLIT ARGS...: every algorithm on one shape and split, as one
# markdown row per algorithm.
one() {
	label=$1
	split=$2
	shift 2
	for algo in $ALGOS; do
		"$BIN" eval --json --baselines=false --algo "$algo" "$@" >"$tmp/one.json"
		awk -v label="$label" -v spl="$split" '
		function num(s, key,   m) {
			if (match(s, "\"" key "\":[-0-9.eE+]+")) {
				m = substr(s, RSTART, RLENGTH); sub(/^[^:]*:/, "", m); return m + 0
			}
			return -1
		}
		{
			line = $0
			sub(/"new_only":\{[^}]*\}/, "", line)
			sub(/"tuning":\{[^}]*\}/, "", line)
			algo = line; sub(/.*"algo":"/, "", algo); sub(/".*/, "", algo)
			printf "%s\t%s\t%s\t%.4f\t%.4f\t%.2f\n", label, spl, algo, num(line, "ndcg"), num(line, "map"), num(line, "train_seconds")
		}' "$tmp/one.json"
	done >"$tmp/rows"
	awk -F '\t' '
	{ a[NR] = $0; algo[NR] = $3; nd[NR] = $4; mp[NR] = $5; if ($3 != "affinity" && $4 > best) { best = $4; bestA = $3 } }
	END {
		for (i = 1; i <= NR; i++) {
			split(a[i], f, "\t")
			printf "| %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5], f[6]
			if (algo[i] == "affinity") mine = nd[i]
		}
		printf "| %s | %s | **affinity vs best other (%s)** | %+.1f%% | | |\n", f[1], f[2], bestA, 100 * (mine - best) / best
	}' "$tmp/rows"
}

echo "| shape | split | algo | nDCG@10 | MAP | train s |"
echo "|---|---|---|---|---|---|"
one retail-sparse "user-stratified 0.25" --format csv --split user-stratified --test-ratio 0.25 --seed 42 "$tmp/retail-sparse.csv.gz"
one ml-sparse "user-stratified 0.25" --format csv --split user-stratified --test-ratio 0.25 --seed 42 "$tmp/ml-sparse.csv.gz"
if [ -f "$ML" ]; then
	one movielens "user-stratified 0.25" --format movielens --split user-stratified --test-ratio 0.25 --seed 42 "$ML"
	one movielens "temporal 0.2" --format movielens --split temporal --test-ratio 0.2 "$ML"
fi
one retail-plays "temporal 0.2" --format csv --split temporal --test-ratio 0.2 --config "$tmp/plays.json" "$tmp/retail-plays.csv.gz"
one retail-variants "temporal 0.2" --format csv --split temporal --test-ratio 0.2 "$tmp/retail-variants.csv.gz"
