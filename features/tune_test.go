package features

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// driftEvents is a shop whose customers change taste: 8 groups of 5
// products; each customer buys 4 products of an old group over their
// first 100 days, then 3 of a new group from day 300 on (the next group).
// What a customer buys next is the rest of the new group, which only a
// half-life well under a year ranks first: the old group has more
// products in the history.
func driftEvents(ncust int, seed uint64) []Event {
	r := rand.New(rand.NewPCG(seed, 3))
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []Event
	for c := range ncust {
		old := r.IntN(8)
		cur := (old + 1) % 8
		cust := fmt.Sprintf("c%03d", c)
		for i, k := range r.Perm(5)[:4] {
			evs = append(evs, Event{CustomerID: cust, ProductID: fmt.Sprintf("g%d-%d", old, k), Type: "purchase",
				Timestamp: t0.Add(time.Duration(i*25) * 24 * time.Hour)})
		}
		for i, k := range r.Perm(5)[:3] {
			evs = append(evs, Event{CustomerID: cust, ProductID: fmt.Sprintf("g%d-%d", cur, k), Type: "purchase",
				Timestamp: t0.Add(time.Duration(300+i*30) * 24 * time.Hour)})
		}
	}
	return evs
}

func tuneStore(t *testing.T, evs []Event, mod func(*Options)) *Store {
	t.Helper()
	s := openTestStore(t, "", func(o *Options) {
		o.Neighbours.Tune = true
		o.Neighbours.TuneHoldout = HoldoutTemporal
		if mod != nil {
			mod(o)
		}
	})
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	return s
}

// TestTuneFindsRecency: with a default half-life of a year the ranking
// follows the old taste; the temporal slice shows that the latest products
// say what comes next, and the tuner picks a short half-life, by a margin
// well beyond noise.
func TestTuneFindsRecency(t *testing.T) {
	s := tuneStore(t, driftEvents(300, 1), func(o *Options) { o.TuneDefaults.HalfLifeDays = 365 })
	tn := s.Model().Tuned
	if tn == nil {
		t.Fatal("no tuning recorded")
	}
	t.Logf("tuned: %+v", *tn)
	if tn.KeptDefault || tn.HalfLifeDays == 0 || tn.HalfLifeDays >= 365 {
		t.Errorf("half-life %v days (kept default %v), want a shorter one than the year", tn.HalfLifeDays, tn.KeptDefault)
	}
	if tn.NDCG < tn.DefaultNDCG+0.05 {
		t.Errorf("validation nDCG %.3f against the default's %.3f: no clear gain", tn.NDCG, tn.DefaultNDCG)
	}
	if tn.Holdout != HoldoutTemporal || tn.Users < 20 || tn.Tried < 10 {
		t.Errorf("slice %s of %d customers, %d settings tried", tn.Holdout, tn.Users, tn.Tried)
	}
}

// TestTuneKeepsDefaultOnNoise: on purchases at random there is nothing to
// learn, and the best of the grid beats the default by chance only: the
// default is kept.
func TestTuneKeepsDefaultOnNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	var evs []Event
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for c := range 300 {
		for i, p := range r.Perm(60)[:6] {
			evs = append(evs, Event{CustomerID: fmt.Sprintf("c%d", c), ProductID: fmt.Sprintf("p%d", p), Type: "purchase",
				Timestamp: t0.Add(time.Duration(r.IntN(300)+i) * time.Hour)})
		}
	}
	s := tuneStore(t, evs, nil)
	tn := s.Model().Tuned
	if tn == nil {
		t.Fatal("no tuning recorded")
	}
	def := DefaultNeighbourOptions()
	if !tn.KeptDefault || tn.Lambda != def.Lambda || tn.K != def.K || tn.HalfLifeDays != 30 || tn.Repeat != RepeatLinear {
		t.Errorf("on noise the tuner moved off the default: %+v", *tn)
	}
}

// TestTunedModelIsServed: the published lists are those of the tuned
// options (the same as a store configured with them by hand), the model
// keeps the configured options for its snapshot, and a refresh soon after
// does not tune again.
func TestTunedModelIsServed(t *testing.T) {
	evs := driftEvents(300, 2)
	s := tuneStore(t, evs, func(o *Options) { o.TuneDefaults.HalfLifeDays = 365 })
	m := s.Model()
	tn := m.Tuned
	if tn == nil {
		t.Fatal("no tuning recorded")
	}
	if m.Options != s.opts.Neighbours {
		t.Errorf("model options %+v, want the configured %+v", m.Options, s.opts.Neighbours)
	}
	ref := openTestStore(t, "", func(o *Options) {
		o.Neighbours.Lambda, o.Neighbours.K = tn.Lambda, tn.K
		if tn.MinSupport > 0 {
			o.Neighbours.DenseMinSupport = tn.MinSupport
		}
	})
	if _, err := ref.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	ref.Refresh()
	for p := range uint32(s.NumProducts()) {
		got, want := m.NeighboursOf(BasisAny, p), ref.Model().NeighboursOf(BasisAny, p)
		if !slices.Equal(got, want) {
			t.Fatalf("product %s: served %v, want the tuned options' %v", s.ProductName(p), got, want)
		}
	}
	if _, err := s.Ingest(context.Background(), driftEvents(5, 9), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if s.Model().Tuned != tn {
		t.Error("a refresh right after tuning tuned again")
	}
}

// TestHoldout: the slice is cut from the validation copy only (the store's
// index keeps every event), a fifth of each chosen customer's products,
// the latest ones for the temporal mode.
func TestHoldout(t *testing.T) {
	x := newIndex()
	for c := range uint32(30) {
		for p := range uint32(10) {
			x.applyLocked(c, Interaction{Product: p + c%3, TS: 1000 + p, Class: ClassBought, Type: 0}, false)
		}
	}
	events := x.events
	vx, vs := holdout(x, BasisAny, HoldoutTemporal)
	if x.events != events || len(x.hist[0]) != 10 {
		t.Fatalf("the store's index changed: %d events", x.events)
	}
	if len(vs.hist) != 30 || vx.events != events-30*2 {
		t.Fatalf("%d customers in the slice, %d events left in the copy", len(vs.hist), vx.events)
	}
	for i, held := range vs.held {
		c := uint32(i) // customers are in id order
		want := []uint32{8 + c%3, 9 + c%3}
		slices.Sort(held)
		if !slices.Equal(held, want) {
			t.Errorf("customer %d: held out %v, want the latest %v", c, held, want)
		}
		for _, in := range vs.hist[i] {
			if slices.Contains(held, in.Product) {
				t.Errorf("customer %d keeps held-out %d", c, in.Product)
			}
		}
		for _, p := range held {
			if vx.prodCust[ClassBought][p].Contains(c) {
				t.Errorf("customer %d still in held-out %d's bitmap", c, p)
			}
		}
	}
	_, vr := holdout(x, BasisAny, HoldoutRandom)
	_, vr2 := holdout(x, BasisAny, HoldoutRandom)
	if !slices.EqualFunc(vr.held, vr2.held, slices.Equal) {
		t.Error("the random slice is not reproducible")
	}
}

func TestApplyRepeat(t *testing.T) {
	for _, tc := range []struct {
		r    Repeat
		in   float32
		want float32
	}{{RepeatLinear, 9, 9}, {RepeatSqrt, 9, 3}, {RepeatLog, 7, 3}, {"", 4, 4}} {
		if got := ApplyRepeat(tc.r, tc.in); got != tc.want {
			t.Errorf("%s(%v) = %v, want %v", tc.r, tc.in, got, tc.want)
		}
	}
}

// TestBlendPopularity by hand: scores are scaled by the largest
// candidate's, then pw x support/supMax is added; excluded products and
// (sparse) products outside the candidates keep their score.
func TestBlendPopularity(t *testing.T) {
	score := []float32{2, 4, -1, 0, 8}
	mark := []uint8{0, 0, 0, 0, 2} // product 4 excluded
	sup := []uint32{10, 0, 5, 20, 1}
	BlendPopularity(score, mark, 2, nil, true, sup, 20, 1)
	want := []float32{0.5 + 0.5, 1, -0.25 + 0.25, 0 + 1, 8}
	if !slices.Equal(score, want) {
		t.Errorf("dense: %v, want %v", score, want)
	}
	score = []float32{2, 4, -1, 0, 8}
	BlendPopularity(score, []bool{false, false, false, true, false}, true, []uint32{0, 2, 3}, false, sup, 20, 2)
	want = []float32{1 + 1, 4, -0.5 + 0.5, 0, 8} // max over candidates 0, 2 is 2
	if !slices.Equal(score, want) {
		t.Errorf("sparse: %v, want %v", score, want)
	}
	score = []float32{-1, -2}
	BlendPopularity(score, []bool{false, false}, true, nil, true, []uint32{1, 2}, 2, 1)
	if want := []float32{-1 + 0.5, -2 + 1}; !slices.Equal(score, want) {
		t.Errorf("no positive score: %v, want %v (max taken as 1)", score, want)
	}
	score = []float32{3}
	BlendPopularity(score, []bool{false}, true, nil, true, []uint32{1}, 1, 0)
	if score[0] != 3 {
		t.Error("weight 0 changed the scores")
	}
}

// TestRestartKeepsTheTuning: a start does not tune (it must be quick), nor
// does it forget the tuning its model was served with: the snapshot keeps
// it (snapshot_model.go), so personal lists, which use it, are the same
// across a restart; the store tunes again on its usual schedule.
func TestRestartKeepsTheTuning(t *testing.T) {
	dir := t.TempDir()
	s, mod := tunedStore(t, dir, driftEvents(300, 3), nil)
	served := s.Model().Tuned
	s.Close()
	s = openTestStore(t, dir, mod)
	// A tuning made again would differ at least in its Seconds.
	wantJSON, _ := json.Marshal(served)
	restored := s.Model().Tuned
	if restored == nil || string(must(json.Marshal(restored))) != string(wantJSON) {
		t.Fatalf("the reopened store's tuning %+v, served %+v", restored, served)
	}
	if s.denseStale {
		t.Fatal("the reopened model is marked for a rebuild although nothing changed")
	}
	// Its schedule goes on: once TuneInterval has passed and the events
	// grew by a tenth, the next dense solve tunes again.
	if _, err := s.Ingest(context.Background(), driftEvents(60, 4), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.tuner.at = time.Now().Add(-2 * s.opts.TuneInterval)
	s.Refresh()
	if got := s.Model().Tuned; got == nil || got == restored {
		t.Error("the store did not tune again on its schedule")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRestoredBackupKeepsTheTuning: a backup carries the tuning (the
// snapshot holding it is not in a backup), so the restored store builds
// its model with the source's tuning and serves the same lists at once; it
// rebuilt untuned and served other personal lists until it tuned again.
func TestRestoredBackupKeepsTheTuning(t *testing.T) {
	s, mod := tunedStore(t, t.TempDir(), driftEvents(300, 5), func(o *Options) {
		o.TuneDefaults.HalfLifeDays = 365 // driftEvents' tuning moves it
	})
	served := s.Model().Tuned
	r := openTestStore(t, restoredCopy(t, s), mod)
	got := r.Model().Tuned
	if got == nil || string(must(json.Marshal(got))) != string(must(json.Marshal(served))) {
		t.Fatalf("the restored store's tuning %+v, the source's %+v", got, served)
	}
	for _, name := range []string{"g0-0", "g3-2", "g7-4"} {
		pa, _ := s.ProductID(name)
		pb, _ := r.ProductID(name)
		if !reflect.DeepEqual(s.Model().NeighboursOf(BasisAny, pa), r.Model().NeighboursOf(BasisAny, pb)) {
			t.Errorf("the neighbours of %s differ after the restore", name)
		}
	}
	// Restored under other options (a changed similarity), the kept
	// tuning is not taken: it was chosen for the old ones.
	o := openTestStore(t, restoredCopy(t, s), func(o *Options) {
		mod(o)
		o.Neighbours.Similarity = SimCosine
	})
	if got := o.Model().Tuned; got != nil && got.At.Equal(served.At) {
		t.Fatalf("a store restored under other options took the kept tuning %+v", got)
	}
}

// TestSnapshotTuningIsKept: a store whose snapshot holds a tuning that
// Badger lacks (upgraded from a version that kept it only there) writes
// it under m/tuning on load, so its next backup carries it.
func TestSnapshotTuningIsKept(t *testing.T) {
	dir := t.TempDir()
	s, mod := tunedStore(t, dir, driftEvents(200, 6), nil)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(keyTuning)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir, mod)
	if got := s.loadTuning(); got == nil || got.At != s.Model().Tuned.At {
		t.Fatalf("after a load from the snapshot the kept tuning is %+v", got)
	}
}

// tunedStore opens a store in dir with the tuner on (more adds options),
// ingests evs and builds, failing the test unless the build tuned. It
// returns the store and the options function, for reopening alike.
func tunedStore(t *testing.T, dir string, evs []Event, more func(*Options)) (*Store, func(*Options)) {
	t.Helper()
	mod := func(o *Options) {
		o.Neighbours.Tune = true
		o.DenseInterval = time.Hour
		if more != nil {
			more(o)
		}
	}
	s := openTestStore(t, dir, mod)
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if s.Model().Tuned == nil {
		t.Fatal("no tuning on the first build")
	}
	return s, mod
}
