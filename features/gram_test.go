package features

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/affinity-rec/affinity/features/similarity"
)

// easeEvents is a seeded random shop: 60 customers, 15 products with
// uneven popularity, purchases only.
func easeEvents() []Event {
	r := rand.New(rand.NewPCG(7, 11))
	var evs []Event
	for c := range 60 {
		for p := range 15 {
			// Product p is bought by about 1/(1+p/3) of the customers.
			if r.Float64()*(1+float64(p)/3) < 0.6 {
				evs = append(evs, ev(fmt.Sprintf("c%d", c), fmt.Sprintf("p%02d", p), "purchase"))
			}
		}
	}
	return evs
}

// TestEASEMatchesDirectSolve checks the lists against B = I - P·diag(1/diag
// P), P = (XᵀX + λI)⁻¹, computed here with a plain dense inverse.
func TestEASEMatchesDirectSolve(t *testing.T) {
	const lambda = 7.0
	s := openTestStore(t, "", func(o *Options) {
		o.Neighbours = DefaultNeighbourOptions()
		o.Neighbours.Lambda = lambda
		o.Neighbours.K = 100
	})
	evs := easeEvents()
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()

	// Independent: X from the events, by external ids.
	names, p := easeDirectInverse(t, evs, lambda)
	n := len(names)

	m := s.Model()
	for i, name := range names {
		id, _ := s.ProductID(name)
		got := m.NeighboursOf(BasisBought, id)
		if len(got) != n-1 {
			t.Fatalf("%s: %d neighbours, want %d (K is above the catalogue)", name, len(got), n-1)
		}
		want := map[string]float64{}
		for j := range n {
			if j != i {
				want[names[j]] = -p.At(i, j) / p.At(j, j)
			}
		}
		for x, nb := range got {
			w := want[s.ProductName(nb.Product)]
			if math.Abs(float64(nb.Score)-w) > 1e-5*math.Max(1, math.Abs(w)) {
				t.Errorf("B[%s][%s] = %v, want %v", name, s.ProductName(nb.Product), nb.Score, w)
			}
			if x > 0 && got[x-1].Score < nb.Score {
				t.Errorf("%s: list not best first at %d", name, x)
			}
		}
		if m.Neighbours[BasisAny][id] == nil || &m.Neighbours[BasisAny][id][0] != &got[0] {
			t.Errorf("%s: purchases only, but the any-basis list is not the bought one", name)
		}
	}
	// Some weights are negative (products bought instead of each other):
	// they must be kept, after the positive ones.
	neg := 0
	for _, l := range m.Neighbours[BasisBought] {
		for _, nb := range l {
			if nb.Score < 0 {
				neg++
			}
		}
	}
	if neg == 0 {
		t.Errorf("no negative weight kept: the test data or the truncation changed")
	}
}

// easeDirectInverse builds XᵀX + λI from the events, products numbered by
// first appearance (names holds their external ids), and inverts it with a
// plain dense inverse: P = (XᵀX + λI)⁻¹.
func easeDirectInverse(t *testing.T, evs []Event, lambda float64) ([]string, *mat.Dense) {
	t.Helper()
	var names []string
	col := map[string]int{}
	cust := map[string]map[int]bool{}
	for _, e := range evs {
		if _, ok := col[e.ProductID]; !ok {
			col[e.ProductID] = len(names)
			names = append(names, e.ProductID)
		}
		if cust[e.CustomerID] == nil {
			cust[e.CustomerID] = map[int]bool{}
		}
		cust[e.CustomerID][col[e.ProductID]] = true
	}
	n := len(names)
	g := mat.NewDense(n, n, nil)
	for _, ps := range cust {
		for i := range ps {
			for j := range ps {
				g.Set(i, j, g.At(i, j)+1)
			}
		}
	}
	for i := range n {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	var p mat.Dense
	if err := p.Inverse(g); err != nil {
		t.Fatal(err)
	}
	return names, &p
}

// TestEASEKeepsLargestMagnitudes cuts the lists to K and checks they hold
// the K weights largest in magnitude.
func TestEASEKeepsLargestMagnitudes(t *testing.T) {
	full := openTestStore(t, "", func(o *Options) { o.Neighbours.K = 100 })
	cut := openTestStore(t, "", func(o *Options) { o.Neighbours.K = 4 })
	evs := easeEvents()
	for _, s := range []*Store{full, cut} {
		if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
		s.Refresh()
	}
	for p := range uint32(15) {
		all := append([]similarity.Neighbour(nil), full.Model().NeighboursOf(BasisBought, p)...)
		sort.Slice(all, func(a, b int) bool { return math.Abs(float64(all[a].Score)) > math.Abs(float64(all[b].Score)) })
		want := map[uint32]bool{}
		for _, nb := range all[:4] {
			want[nb.Product] = true
		}
		got := cut.Model().NeighboursOf(BasisBought, p)
		if len(got) != 4 {
			t.Fatalf("product %d: %d neighbours, want 4", p, len(got))
		}
		for _, nb := range got {
			if !want[nb.Product] {
				t.Errorf("product %d: kept %d (%v), not among the 4 largest %v", p, nb.Product, nb.Score, all[:4])
			}
		}
	}
}

// TestEASEFallback checks that above DenseMaxProducts the lists are the
// fallback similarity's, and that products under DenseMinSupport get none.
func TestEASEFallback(t *testing.T) {
	fb := openTestStore(t, "", func(o *Options) { o.Neighbours.DenseMaxProducts = 5 })
	ref := openTestStore(t, "", func(o *Options) { o.Neighbours.Similarity = o.Neighbours.Fallback })
	tail := openTestStore(t, "", func(o *Options) { o.Neighbours.DenseMinSupport = 12 })
	short := openTestStore(t, "", func(o *Options) { o.Neighbours.DenseMaxProducts = 5; o.Neighbours.FallbackK = 3 })
	evs := easeEvents()
	for _, s := range []*Store{fb, ref, tail, short} {
		if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
		s.Refresh()
	}
	for p := range uint32(15) {
		got, want := fb.Model().NeighboursOf(BasisBought, p), ref.Model().NeighboursOf(BasisBought, p)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("product %d: fallback lists %v, want %v", p, got, want)
		}
		// FallbackK keeps the head of the same list.
		if l := short.Model().NeighboursOf(BasisBought, p); fmt.Sprint(l) != fmt.Sprint(want[:min(3, len(want))]) {
			t.Errorf("product %d with FallbackK 3: %v, want %v", p, l, want[:min(3, len(want))])
		}
		sup := tail.Model().SupportOf(BasisBought, p)
		l := tail.Model().NeighboursOf(BasisBought, p)
		if (sup < 12) != (l == nil) {
			t.Errorf("product %d with %d customers: list %v (min support 12)", p, sup, l)
		}
		for _, nb := range l {
			if tail.Model().SupportOf(BasisBought, nb.Product) < 12 {
				t.Errorf("product %d lists %d, which has under 12 customers", p, nb.Product)
			}
		}
	}
}

// TestEASEOutgrown checks that when the catalogue grows past
// DenseMaxProducts every list is counted again (not only the stale ones,
// which would mix EASE's scale with the fallback's).
func TestEASEOutgrown(t *testing.T) {
	grow := openTestStore(t, "", func(o *Options) { o.Neighbours.DenseMaxProducts = 15 })
	ref := openTestStore(t, "", func(o *Options) { o.Neighbours.Similarity = o.Neighbours.Fallback })
	evs := easeEvents()
	more := []Event{ev("c1", "new1", "purchase"), ev("c2", "new1", "purchase"), ev("c2", "new2", "purchase")}
	for _, s := range []*Store{grow, ref} {
		if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
		s.Refresh()
	}
	if !grow.Model().dense[BasisBought] {
		t.Fatal("15 products, cap 15: want EASE lists")
	}
	for _, s := range []*Store{grow, ref} {
		if _, err := s.Ingest(context.Background(), more, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
		s.Refresh()
	}
	if grow.Model().dense[BasisBought] {
		t.Fatal("17 products, cap 15: want counted lists")
	}
	for p := range uint32(17) {
		got, want := grow.Model().NeighboursOf(BasisBought, p), ref.Model().NeighboursOf(BasisBought, p)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("product %d after outgrowing EASE: %v, want %v", p, got, want)
		}
	}
}

// TestAnyBasisWithViews checks that the any basis gets its own lists once
// views exist.
func TestAnyBasisWithViews(t *testing.T) {
	s := openTestStore(t, "", nil)
	evs := easeEvents()
	for c := range 10 {
		evs = append(evs, ev(fmt.Sprintf("c%d", c), "viewed-only", "view"))
	}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	v, _ := s.ProductID("viewed-only")
	p0, _ := s.ProductID("p00")
	if l := s.Model().NeighboursOf(BasisBought, v); l != nil {
		t.Errorf("a product never bought has bought neighbours %v", l)
	}
	found := false
	for _, nb := range s.Model().NeighboursOf(BasisAny, p0) {
		found = found || nb.Product == v
	}
	if !found {
		t.Errorf("any-basis list of p00 lacks the product its customers viewed")
	}
}

func TestNeighbourOptionsValidateEASE(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*NeighbourOptions)
		ok   bool
	}{
		{"default", func(*NeighbourOptions) {}, true},
		{"no lambda", func(o *NeighbourOptions) { o.Lambda = 0 }, false},
		{"nan lambda", func(o *NeighbourOptions) { o.Lambda = math.NaN() }, false},
		{"infinite lambda", func(o *NeighbourOptions) { o.Lambda = math.Inf(1) }, false},
		{"ease falls back to ease", func(o *NeighbourOptions) { o.Fallback = SimEASE }, false},
		{"no fallback", func(o *NeighbourOptions) { o.Fallback = "" }, false},
		{"negative cap", func(o *NeighbourOptions) { o.DenseMaxProducts = -1 }, false},
		{"negative min support", func(o *NeighbourOptions) { o.DenseMinSupport = -1 }, false},
		{"beta above 1", func(o *NeighbourOptions) { o.Beta = 1.5 }, false},
		{"nan user exponent", func(o *NeighbourOptions) { o.UserExp = math.NaN() }, false},
		{"rp3, no lambda needed", func(o *NeighbourOptions) { o.Similarity, o.Lambda = SimRP3, 0 }, true},
	} {
		o := DefaultNeighbourOptions()
		tc.mod(&o)
		if err := o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// BenchmarkEASE is the dense solve alone, per catalogue size.
func BenchmarkEASE(b *testing.B) {
	for _, n := range []int{500, 1500, 3000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x := newIndex()
			for c := range 2 * n {
				for range 30 {
					p := uint32(r.IntN(n))
					x.applyLocked(uint32(c), Interaction{Product: p, Class: ClassBought}, false)
				}
			}
			m := &Model{}
			nprod := finishModel(x, m, n)
			o := DefaultNeighbourOptions()
			for b.Loop() {
				if _, ok := easeLists(x, BasisBought, m.Support[BasisBought], nprod, o, pool{n: buildWorkers(true)}); !ok {
					b.Fatal("no EASE")
				}
			}
		})
	}
}

// TestPacedDenseSolve checks that the background refresh keeps the EASE
// lists between solves while supports follow the events, that a solve runs
// once DenseInterval has passed, and that Refresh always solves.
func TestPacedDenseSolve(t *testing.T) {
	s := openTestStore(t, "", func(o *Options) {
		o.Neighbours = DefaultNeighbourOptions()
		o.Neighbours.DenseMinSupport = 1
		o.DenseInterval = time.Hour
	})
	ctx := context.Background()
	if _, err := s.Ingest(ctx, easeEvents(), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	p0, _ := s.ProductID("p00")
	p14, _ := s.ProductID("p14")
	before := s.Model()
	list := func(m *Model) []similarity.Neighbour { return m.NeighboursOf(BasisBought, p0) }

	// New customers who buy p00 and p14 together move p14 in p00's list.
	var more []Event
	for c := range 40 {
		more = append(more, ev(fmt.Sprintf("n%d", c), "p00", "purchase"), ev(fmt.Sprintf("n%d", c), "p14", "purchase"))
	}
	if _, err := s.Ingest(ctx, more, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.refresh(refreshPaced)
	light := s.Model()
	if light == before {
		t.Fatal("the paced refresh published nothing")
	}
	if got, want := light.SupportOf(BasisBought, p0), before.SupportOf(BasisBought, p0)+40; got != want {
		t.Fatalf("support of p00 after the paced refresh: %d, want %d", got, want)
	}
	if !slices.Equal(list(light), list(before)) {
		t.Fatal("the paced refresh solved EASE again before DenseInterval")
	}

	weight := func(m *Model) float32 {
		for _, n := range list(m) {
			if n.Product == p14 {
				return n.Score
			}
		}
		return 0
	}
	s.refreshMu.Lock()
	s.denseAt = time.Now().Add(-2 * time.Hour) // the interval has passed
	s.refreshMu.Unlock()
	s.refresh(refreshPaced)
	solved := s.Model()
	if weight(solved) <= weight(before) {
		t.Fatalf("after the interval p14's weight in p00's list is %v, was %v: no new solve", weight(solved), weight(before))
	}

	// Refresh solves at once, whatever the interval.
	if _, err := s.Ingest(ctx, []Event{ev("n0", "p01", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if slices.Equal(list(s.Model()), list(solved)) {
		t.Fatal("Refresh kept the old EASE lists")
	}
}

// TestRestartKeepsDenseLists: the snapshot remembers which lists are EASE's
// and that "any" is "bought", so a restarted store neither holds two copies
// nor solves again at the first event.
func TestRestartKeepsDenseLists(t *testing.T) {
	dir := t.TempDir()
	mod := func(o *Options) {
		o.Neighbours = DefaultNeighbourOptions()
		o.Neighbours.DenseMinSupport = 1
		o.DenseInterval = time.Hour
	}
	s := openTestStore(t, dir, mod)
	if _, err := s.Ingest(context.Background(), easeEvents(), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	want := s.Model()
	if !want.dense[BasisBought] || !want.anyAlias {
		t.Fatalf("before the restart: dense %v, any is bought %v", want.dense, want.anyAlias)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, mod)
	got := s.Model()
	if got.dense != want.dense || !got.anyAlias {
		t.Fatalf("after the restart: dense %v (want %v), any is bought %v", got.dense, want.dense, got.anyAlias)
	}
	p0, _ := s.ProductID("p00")
	if &got.Neighbours[BasisAny][p0][0] != &got.Neighbours[BasisBought][p0][0] {
		t.Fatal(`after the restart "any" holds a second copy of the "bought" lists`)
	}
	if !slices.Equal(got.NeighboursOf(BasisBought, p0), want.NeighboursOf(BasisBought, p0)) {
		t.Fatal("the lists changed across the restart")
	}
	if _, err := s.Ingest(context.Background(), []Event{ev("new", "p00", "purchase"), ev("new", "p14", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.refresh(refreshPaced)
	if !slices.Equal(s.Model().NeighboursOf(BasisBought, p0), want.NeighboursOf(BasisBought, p0)) {
		t.Fatal("the first event after the restart solved EASE again")
	}
}
