#!/bin/sh
# eval.sh BIN SHAREDDATA: offline quality of Affinity's default against the
# popularity and SAR baselines (`make eval`).
#   - MovieLens-100K, the Microsoft Recommenders protocol: item-stratified
#     75/25 split, k=10, seeds 42, 1 and 7;
#   - UCI Online Retail, temporal split: the last 20% of time is test (the
#     protocol), and the last 10% and 30% to see that the ranking holds.
# Each run goes through `affinity eval --json`; the table shows every run
# and, per data set and algorithm, the mean and the range (min-max).
# A data set that is absent is skipped with a message (neither is shipped).
set -eu

BIN=${1:-bin/affinity}
DATA=${2:-../shared/data}
ALGOS=${ALGOS:-"affinity affinity-untuned sar popularity"}
ML="$DATA/movielens-100k/u.data"
RETAIL="$DATA/uci-online-retail/online_retail.csv.gz"

if [ ! -x "$BIN" ]; then
	echo "eval.sh: $BIN is not an executable (run make build)" >&2
	exit 1
fi

# run LABEL ARGS...: one evaluation, printed as one tab-separated line
# label algo users map ndcg precision recall coverage train_s [new-only ndcg recall].
run() {
	label=$1
	shift
	if ! "$BIN" eval --json --baselines=false "$@" >"$tmp/one.json"; then
		echo "eval.sh: affinity eval $* failed" >&2
		exit 1
	fi
	awk -v label="$label" '
	function num(s, key,   m) {
		if (match(s, "\"" key "\":[-0-9.eE+]+")) {
			m = substr(s, RSTART, RLENGTH)
			sub(/^[^:]*:/, "", m)
			return m + 0
		}
		return -1
	}
	{
		line = $0
		new = ""
		if (match(line, /"new_only":\{[^}]*\}/)) {
			new = substr(line, RSTART, RLENGTH)
			line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
		}
		algo = line
		sub(/.*"algo":"/, "", algo)
		sub(/".*/, "", algo)
		printf "%s\t%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.3f\t%.2f", label, algo, num(line, "users"),
			num(line, "map"), num(line, "ndcg"), num(line, "precision"), num(line, "recall"),
			num(line, "coverage"), num(line, "train_seconds")
		if (new != "")
			printf "\t%.4f\t%.4f", num(new, "ndcg"), num(new, "recall")
		printf "\n"
	}' "$tmp/one.json"
}

# summary: per algorithm, mean and range of each metric over the runs.
summary() {
	awk -F '\t' '
	{
		a = $2
		if (!(a in n)) order[++na] = a
		n[a]++
		for (i = 4; i <= NF; i++) {
			s[a, i] += $i
			if (n[a] == 1 || $i < lo[a, i]) lo[a, i] = $i
			if (n[a] == 1 || $i > hi[a, i]) hi[a, i] = $i
		}
		nf[a] = NF
	}
	END {
		for (k = 1; k <= na; k++) {
			a = order[k]
			printf "  %-14s mean of %d", a, n[a]
			for (i = 4; i <= nf[a]; i++) {
				prec = (i == 9) ? 2 : ((i == 8) ? 3 : 4)
				printf "  %." prec "f (%." prec "f-%." prec "f)", s[a, i] / n[a], lo[a, i], hi[a, i]
			}
			printf "\n"
		}
	}'
}

header() {
	printf '  %-12s %-14s %5s %7s %7s %7s %7s %7s %7s' run algo users MAP nDCG@10 P@10 R@10 cov train_s
	if [ "${1:-}" = new ]; then
		printf ' %9s %9s' new:nDCG new:R@10
	fi
	printf '\n'
}

rows() {
	awk -F '\t' '{
		printf "  %-12s %-14s %5d %7.4f %7.4f %7.4f %7.4f %7.3f %7.2f", $1, $2, $3, $4, $5, $6, $7, $8, $9
		if (NF >= 11) printf " %9.4f %9.4f", $10, $11
		printf "\n"
	}'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -f "$ML" ]; then
	echo "MovieLens-100K: item-stratified 75/25, k=10, seeds 42, 1, 7 (published SAR 0.114/0.394/0.341/0.185, BPR 0.134/0.445/0.389/0.217, BiVAE 0.144/0.469/0.408/0.221)"
	for seed in 42 1 7; do
		for algo in $ALGOS; do
			run "seed $seed" --format movielens --split item-stratified --test-ratio 0.25 --seed "$seed" --k 10 --algo "$algo" "$ML" >>"$tmp/ml"
		done
	done
	header
	rows <"$tmp/ml"
	echo "  mean (min-max) over seeds: MAP, nDCG@10, P@10, R@10, coverage, train s"
	summary <"$tmp/ml"
else
	echo "MovieLens-100K: skipped, $ML not found (data sets are not shipped with the project: see docs/evaluation.md)"
fi
echo

if [ -f "$RETAIL" ]; then
	echo "Online Retail: temporal, test = purchases in the last 10/20/30% of time (20% is the protocol), k=10"
	echo "  (new: the same lists against the products a customer had not bought in train)"
	for ratio in 0.2 0.1 0.3; do
		for algo in $ALGOS; do
			run "last $ratio" --format online-retail --split temporal --test-ratio "$ratio" --k 10 --algo "$algo" "$RETAIL" >>"$tmp/retail"
		done
	done
	header new
	rows <"$tmp/retail"
	echo "  mean (min-max) over cut points: MAP, nDCG@10, P@10, R@10, coverage, train s, new nDCG, new R@10"
	summary <"$tmp/retail"
else
	echo "Online Retail: skipped, $RETAIL not found (data sets are not shipped with the project: see docs/evaluation.md)"
fi
