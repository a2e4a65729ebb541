package recommend

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// audienceScorer scores customers against the weights audienceWeights
// left in its scratch. Not safe for concurrent use: one per request.
type audienceScorer struct {
	e     *Engine
	sc    *scratch
	tt    *features.TypeTable
	now   int64   // the reference time ages are measured from (unix seconds)
	hl    float64 // half-life in seconds; 0: no decay
	rep   features.Repeat
	parts []contribution
	// targets are the products asked about: whoever disliked one is no
	// audience for it (negative.go).
	targets []uint32
}

// contribution is one history product's part of a customer's score.
type contribution struct {
	p uint32
	v float64
}

func (e *Engine) newAudienceScorer(sc *scratch, m *features.Model) *audienceScorer {
	kn := e.personalKnobs(m, nil)
	ref := e.aud.LatestEventTime()
	if ref.IsZero() {
		ref = e.src.Now()
	}
	return &audienceScorer{e: e, sc: sc, tt: e.src.Types(), now: ref.Unix(),
		hl: kn.halfLife.Seconds(), rep: kn.repeat}
}

// score is customer c's audience score; as.parts holds its contributions
// afterwards (one per weighted history product).
func (as *audienceScorer) score(c uint32) float64 {
	hist := as.e.src.HistoryView(c)
	if dislikesAny(hist, as.targets) {
		as.parts = as.parts[:0]
		return 0
	}
	if len(hist) > as.e.opts.HistoryCap {
		hist = hist[len(hist)-as.e.opts.HistoryCap:]
	}
	parts := as.parts[:0]
	mark := as.sc.mark
	// Lines of one order share a timestamp: one Exp2 per timestamp.
	lastTS, decay := int64(math.MinInt64), 1.0
	for _, in := range hist {
		p := in.Product
		if int(p) >= len(mark) || mark[p] != markCandidate {
			continue
		}
		w := as.tt.Weight(in.Type, in.Value)
		if w == 0 {
			continue
		}
		if as.hl > 0 {
			if ts := int64(in.TS); ts != lastTS {
				lastTS, decay = ts, math.Exp2(-float64(as.now-ts)/as.hl)
			}
			w *= decay
		}
		i := slices.IndexFunc(parts, func(x contribution) bool { return x.p == p })
		if i < 0 {
			parts = append(parts, contribution{p: p})
			i = len(parts) - 1
		}
		parts[i].v += w
	}
	total := 0.0
	for i := range parts {
		a := parts[i].v
		if as.rep != features.RepeatLinear && as.rep != "" {
			a = float64(features.ApplyRepeat(as.rep, float32(a)))
		}
		parts[i].v = a * float64(as.sc.score[parts[i].p])
		total += parts[i].v
	}
	as.parts = parts
	return total
}

// audienceEntry is a scored customer; name is fetched when needed.
type audienceEntry struct {
	c     uint32
	score float64
	name  string
}

// selectAudience keeps the k best of list, best first: score descending,
// then customer id ascending. allow (when set) is asked only for a customer
// that would enter the list.
func (e *Engine) selectAudience(as *audienceScorer, list []uint32, k int, allow func(uint32, string) bool) []audienceEntry {
	top := make([]audienceEntry, 0, min(k, len(list)))
	for _, c := range list {
		s := as.score(c)
		if s <= 0 {
			continue
		}
		en := audienceEntry{c: c, score: s}
		if len(top) == k && !e.audienceBetter(&en, &top[k-1]) {
			continue
		}
		if allow != nil && !allow(c, e.audienceName(&en)) {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, en, func(x, t audienceEntry) int {
			if e.audienceBetter(&x, &t) {
				return -1
			}
			return 1
		})
		if len(top) == k {
			top = top[:k-1]
			if i >= k {
				continue
			}
		}
		top = slices.Insert(top, i, en)
	}
	return top
}

// audienceBetter orders a before b: higher score, then lower customer id.
func (e *Engine) audienceBetter(a, b *audienceEntry) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return e.audienceName(a) < e.audienceName(b)
}

func (e *Engine) audienceName(en *audienceEntry) string {
	if en.name == "" {
		en.name = e.aud.CustomerName(en.c)
	}
	return en.name
}

// audienceItems names the kept customers and says why each is there.
func (e *Engine) audienceItems(as *audienceScorer, top []audienceEntry) []AudienceMember {
	out := make([]AudienceMember, len(top))
	for i := range top {
		en := &top[i]
		as.score(en.c)
		parts := as.parts
		slices.SortFunc(parts, func(a, b contribution) int {
			if c := cmp.Compare(b.v, a.v); c != 0 {
				return c
			}
			return cmp.Compare(a.p, b.p)
		})
		n := min(len(parts), audienceReasonProducts)
		ids := make([]uint32, n)
		for j := range n {
			ids[j] = parts[j].p
		}
		names := e.src.ProductNames(ids, make([]string, 0, n))
		because := make([]Item, n)
		for j := range n {
			because[j] = Item{ProductID: names[j], Score: round6(parts[j].v)}
		}
		out[i] = AudienceMember{CustomerID: e.audienceName(en), Score: round6(en.score),
			Reason: audienceReason(len(parts), names, as.hl), Because: because}
	}
	return out
}

// audienceReason says in words why a customer is in an audience.
func audienceReason(n int, names []string, hl float64) string {
	what := "products"
	if n == 1 {
		what = "product"
	}
	decay := ""
	if hl > 0 {
		decay = fmt.Sprintf(", recent ones weighing more (half-life %.0f days)", hl/(24*time.Hour).Seconds())
	}
	return fmt.Sprintf("%d %s in their history go with it%s; most: %s", n, what, decay, strings.Join(names, ", "))
}
