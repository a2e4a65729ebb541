package recommend

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestLazyBlendIsExact checks that applying the popularity prior while
// taking the top k gives the lists of writing it into the scores first
// (features.BlendPopularity, as the tuner scores it), filters included.
func TestLazyBlendIsExact(t *testing.T) {
	var evs []features.Event
	for c := range 80 {
		for i := range 9 {
			evs = append(evs, at(fmt.Sprintf("c%d", c), fmt.Sprintf("p%d", (c*11+i*i*5+i)%70), "purchase", 1+i))
		}
	}
	st := simStore(t, features.SimJaccard, evs)
	m := st.Model()
	e, err := New(StoreDeps(st, nil), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e.denseScatter = 0 // keep to touched, where the blend is lazy
	top := func(cust string, pw float32, lazy bool) []string {
		q, err := e.personalQuery(Request{CustomerID: cust, Limit: 10}, 10)
		if err != nil {
			t.Fatal(err)
		}
		sc := e.getScratch(len(m.Support[0]) + 1)
		defer e.putScratch(sc)
		e.markExcluded(sc, q.hist, false)
		e.scatter(sc, m, e.affinity(q.hist, e.opts.HalfLife, features.RepeatLinear))
		var b popBlend
		if lazy {
			b = e.lazyBlend(sc, m, pw, q.distinct)
		} else {
			e.blendPopular(sc, m, pw)
		}
		var out []string
		for _, it := range topCandidates(sc, q.match, 10, b) {
			out = append(out, fmt.Sprintf("%d:%v", it.Product, it.Score))
		}
		return out
	}
	for c := range 80 {
		cust := fmt.Sprintf("c%d", c)
		for _, pw := range []float32{0.05, 0.5, 3} {
			if got, want := top(cust, pw, true), top(cust, pw, false); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, weight %v: lazy %v, written %v", cust, pw, got, want)
			}
		}
	}
}
