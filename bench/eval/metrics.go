package eval

import (
	"fmt"
	"math"
)

// Metrics are top-k ranking metrics averaged over the evaluated users, as
// DESIGN section 5 and Microsoft Recommenders' python_evaluation define them
// (binary relevance: an item is relevant or not).
type Metrics struct {
	// Users is how many users the averages are over: every Add with a
	// non-empty relevant set.
	Users int `json:"users"`
	// K is the cut-off: only the first K recommendations of a list count.
	K int `json:"k"`
	// MAP is the mean over users of (sum of precision@i at each hit rank
	// i <= K) / |relevant|: Microsoft Recommenders' map() and their
	// map_at_k() before 2023, which their published benchmark figures use.
	MAP float64 `json:"map"`
	// MAPAtK divides the same sum by min(|relevant|, K) instead: Spark's
	// meanAveragePrecisionAt and Microsoft Recommenders' map_at_k() since
	// 2023. It is >= MAP; compare each only with figures of the same kind.
	MAPAtK float64 `json:"map_at_k"`
	// NDCG is DCG@K / ideal DCG@K with gain 1 per hit and discount
	// 1/log2(1+rank); the ideal list has min(|relevant|, K) hits on top.
	NDCG float64 `json:"ndcg"`
	// Precision is hits/K, even when fewer than K items were recommended.
	Precision float64 `json:"precision"`
	// Recall is hits/|relevant|.
	Recall float64 `json:"recall"`
	// Coverage is the distinct items recommended (in anyone's top K) over
	// the distinct items in train.
	Coverage float64 `json:"coverage"`
	// EmptyLists counts evaluated users whose list was empty; they count as
	// users with no hit (see MetricsAccumulator.Add).
	EmptyLists int `json:"empty_lists"`
}

// MetricsAccumulator sums per-user metrics over a test set; Result averages
// them. The zero value is not usable: call NewMetricsAccumulator. Not safe for
// concurrent use: compute recommendations in parallel if you like, but Add
// from one goroutine.
type MetricsAccumulator struct {
	k          int
	trainItems int
	// discount[i] is 1/log2(i+2), the gain of a hit at 0-based position i;
	// idcg[n] is the sum of the first n, the ideal DCG with n relevant.
	discount []float64
	idcg     []float64

	users, empty                                      int
	sumAP, sumAPAtK, sumNDCG, sumPrecision, sumRecall float64
	recommended                                       map[string]struct{}
}

// NewMetricsAccumulator returns an accumulator for top-k metrics; trainItems
// is the number of distinct items in train (the coverage denominator, see
// DistinctProducts). It panics if k < 1: a cut-off of nothing is a bug in
// the caller, which validates --k.
func NewMetricsAccumulator(k, trainItems int) *MetricsAccumulator {
	if k < 1 {
		panic(fmt.Sprintf("bench: NewMetricsAccumulator: k = %d, want >= 1", k))
	}
	a := &MetricsAccumulator{
		k:           k,
		trainItems:  trainItems,
		discount:    make([]float64, k),
		idcg:        make([]float64, k+1),
		recommended: make(map[string]struct{}),
	}
	for i := range k {
		a.discount[i] = 1 / math.Log2(float64(i)+2)
		a.idcg[i+1] = a.idcg[i] + a.discount[i]
	}
	return a
}

// Add scores one user's ranked recommendations (best first; only the first K
// count) against the items relevant to them.
//
// Which users to Add is the caller's choice, and Microsoft Recommenders' is
// the users present both in test and in the recommendations: build relevant
// with BuildGroundTruth (WarmOnly) and Add every customer it returns. A user
// with an empty relevant set is not a test user and is ignored. A user whose
// list is empty counts, with no hit; Microsoft Recommenders would drop such a
// user instead (no row in the predictions), which flatters a model that
// declines hard users, so Metrics.EmptyLists reports how many there were.
//
// An item listed twice is a hit at most once, at its first rank; the later
// copy still takes a rank. Microsoft Recommenders' join would count it twice
// and could push precision above what any list can reach.
//
// Add keeps references to the strings in recommended (for coverage), not to
// the slice or the map.
func (a *MetricsAccumulator) Add(recommended []string, relevant map[string]struct{}) {
	if len(relevant) == 0 {
		return
	}
	if len(recommended) > a.k {
		recommended = recommended[:a.k]
	}
	a.users++
	if len(recommended) == 0 {
		a.empty++
	}
	hits := 0
	var precisionSum, dcg float64
	for i, item := range recommended {
		a.recommended[item] = struct{}{}
		if _, ok := relevant[item]; !ok || slicesContainsBefore(recommended, i) {
			continue
		}
		hits++
		precisionSum += float64(hits) / float64(i+1)
		dcg += a.discount[i]
	}
	nRel := len(relevant)
	a.sumAP += precisionSum / float64(nRel)
	a.sumAPAtK += precisionSum / float64(min(nRel, a.k))
	a.sumNDCG += dcg / a.idcg[min(nRel, a.k)]
	a.sumPrecision += float64(hits) / float64(a.k)
	a.sumRecall += float64(hits) / float64(nRel)
}

// slicesContainsBefore reports whether s[i] also occurs in s[:i]. Lists are
// k long (tens), so a scan beats a map here.
func slicesContainsBefore(s []string, i int) bool {
	for _, x := range s[:i] {
		if x == s[i] {
			return true
		}
	}
	return false
}

// Result returns the averages so far; with no user added they are all zero.
func (a *MetricsAccumulator) Result() Metrics {
	m := Metrics{Users: a.users, K: a.k, EmptyLists: a.empty}
	if a.trainItems > 0 {
		m.Coverage = float64(len(a.recommended)) / float64(a.trainItems)
	}
	if a.users == 0 {
		return m
	}
	n := float64(a.users)
	m.MAP = a.sumAP / n
	m.MAPAtK = a.sumAPAtK / n
	m.NDCG = a.sumNDCG / n
	m.Precision = a.sumPrecision / n
	m.Recall = a.sumRecall / n
	return m
}
