package features

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// tickEvents is n deterministic events of 30 customers over 20 products,
// as log entries of 10 events each, from stream sequence seq on.
func tickEvents(from, n int, seq uint64) []LogEntry {
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	types := []string{"view", "view", "cart", "purchase"}
	var out []LogEntry
	for i := 0; i < n; i += 10 {
		var evs []Event
		for k := from + i; k < from+min(i+10, n); k++ {
			evs = append(evs, Event{CustomerID: fmt.Sprintf("c%d", k*7%30), ProductID: fmt.Sprintf("p%d", (k*11+k/30)%20),
				Type: types[k%4], Timestamp: base.Add(time.Duration(k) * time.Minute)})
		}
		out = append(out, LogEntry{Seq: seq, Data: EncodeLogEvents(evs)})
		seq++
	}
	return out
}

// TestTickBuildIsAFunctionOfState: the model a tick builds depends on the
// state at the tick, not on how the node got there. One store applies the
// events in six parts with a tick after each (the last part two newcomers
// who bought two products), building at every tick; another the same
// ticks as one batch (building only where a later tick would not replace
// it); a third all the events at once with one tick. The same events give
// the same lists, supports and popularity, for counted similarities (lift:
// its scores depend on every support and on the number of customers) and
// for EASE (solved at the last tick by all). A second schedule solves at
// the fifth tick and not at the sixth: built tick by tick or as a batch,
// the same model. And a build counts the same with 1, 2 or 5 workers.
func TestTickBuildIsAFunctionOfState(t *testing.T) {
	slot := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	solveLast := []time.Time{slot, slot.Add(time.Minute), slot.Add(2 * time.Minute), slot.Add(3 * time.Minute),
		slot.Add(4 * time.Minute), slot.Add(time.Hour)}
	solveFifth := append(append([]time.Time{}, solveLast[:4]...), slot.Add(time.Hour), slot.Add(time.Hour+time.Minute))
	for _, sim := range []Similarity{SimLift, SimCosine, SimEASE} {
		t.Run(string(sim), func(t *testing.T) {
			steps, all := tickStore(t, sim, solveLast, false)
			batched, _ := tickStore(t, sim, solveLast, true)
			once := newTickStore(t, sim)
			ctx := context.Background()
			if err := once.ApplyLog(ctx, all); err != nil {
				t.Fatal(err)
			}
			if err := once.ApplyTick(ctx, all[len(all)-1].Seq+1, Tick{At: solveLast[5], Build: true}, nil); err != nil {
				t.Fatal(err)
			}
			a := steps.Model()
			if len(a.Popular[BasisAny]) == 0 || len(a.Neighbours[BasisAny]) == 0 {
				t.Fatal("an empty model")
			}
			sameModel(t, "six ticks vs one", a, once.Model())
			sameModel(t, "six ticks vs one batch of six", a, batched.Model())
			if got := steps.Now(); !got.Equal(solveLast[5]) {
				t.Fatalf("now %v after the last tick, want its time %v", got, solveLast[5])
			}
			s5, _ := tickStore(t, sim, solveFifth, false)
			b5, _ := tickStore(t, sim, solveFifth, true)
			sameModel(t, "solving at the fifth tick: six ticks vs one batch of six", s5.Model(), b5.Model())
			// The worker count: one build per count, of the same state.
			ref := buildModel(once.idx, nil, nil, once.prod.len(), once.opts.Neighbours, false, 1)
			for _, w := range []int{2, 5} {
				m := buildModel(once.idx, nil, nil, once.prod.len(), once.opts.Neighbours, false, w)
				sameModel(t, fmt.Sprintf("%d workers vs 1", w), m, ref)
			}
		})
	}
}

// newTickStore is a store in stream-tick mode with the wall clock, sim and
// an hour's dense interval, closed with the test.
func newTickStore(t *testing.T, sim Similarity) *Store {
	s := openTestStore(t, "", func(o *Options) {
		o.Neighbours.Similarity = sim
		o.Clock = time.Now // the wall clock, which ticks replace
		o.DenseInterval = time.Hour
	})
	t.Cleanup(func() { s.Close() })
	if err := s.UseStreamTicks(); err != nil {
		t.Fatal(err)
	}
	return s
}

// tickStore applies six parts of events with a tick after each, at times,
// to a new store: each tick on its own, or as one batch (every tick told
// of the ones after it). It returns the store and the event entries.
func tickStore(t *testing.T, sim Similarity, times []time.Time, batch bool) (*Store, []LogEntry) {
	s := newTickStore(t, sim)
	ctx := context.Background()
	var all []LogEntry
	seq := uint64(1)
	for part := 0; part < 6; part++ {
		entries := tickEvents(part*40, 40, seq)
		if part == 5 {
			// Two newcomers with two products: a refresh of what they
			// touched would leave the other lists as they were.
			entries = newcomers(seq)
		}
		all = append(all, entries...)
		seq += uint64(len(entries))
		if err := s.ApplyLog(ctx, entries); err != nil {
			t.Fatal(err)
		}
		var later []Tick
		if batch {
			for _, at := range times[part+1:] {
				later = append(later, Tick{At: at, Build: true})
			}
		}
		if err := s.ApplyTick(ctx, seq, Tick{At: times[part], Build: true}, later); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	return s, all
}

// newcomers is one log entry: two new customers who bought p0 and p1.
func newcomers(seq uint64) []LogEntry {
	at := time.Date(2026, 6, 1, 23, 0, 0, 0, time.UTC)
	var evs []Event
	for _, c := range []string{"n1", "n2"} {
		for _, p := range []string{"p0", "p1"} {
			evs = append(evs, Event{CustomerID: c, ProductID: p, Type: "purchase", Timestamp: at})
		}
	}
	return []LogEntry{{Seq: seq, Data: EncodeLogEvents(evs)}}
}

func sameModel(t *testing.T, what string, a, b *Model) {
	t.Helper()
	if !reflect.DeepEqual(a.Neighbours, b.Neighbours) {
		for p := range a.Neighbours[BasisAny] {
			if p < len(b.Neighbours[BasisAny]) && !reflect.DeepEqual(a.Neighbours[BasisAny][p], b.Neighbours[BasisAny][p]) {
				t.Fatalf("%s: product %d's lists differ:\n%v\n%v", what, p, a.Neighbours[BasisAny][p], b.Neighbours[BasisAny][p])
			}
		}
		t.Fatalf("%s: the neighbour lists differ", what)
	}
	if !reflect.DeepEqual(a.Popular, b.Popular) || !reflect.DeepEqual(a.Support, b.Support) || a.Customers != b.Customers {
		t.Fatalf("%s: popularity or supports differ", what)
	}
}

// TestTickClock: in stream-tick mode the wall clock reads the last tick's
// time, which never goes back (a tick dated before the one before it by a
// node whose clock is behind), moves at a tick without a build too, and
// survives a restart; a pinned clock stays pinned.
func TestTickClock(t *testing.T) {
	dir := t.TempDir()
	wall := func(o *Options) { o.Clock = time.Now }
	s := openTestStore(t, dir, wall)
	if err := s.UseStreamTicks(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t1 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := s.ApplyTick(ctx, 5, Tick{At: t1, Build: true}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyTick(ctx, 6, Tick{At: t1.Add(-time.Second), Build: true}, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Now(); !got.Equal(t1) {
		t.Fatalf("now %v, want %v", got, t1)
	}
	// A tick its sender paced (Build off) moves "now" and keeps the model.
	m := s.Model()
	if err := s.ApplyTick(ctx, 7, Tick{At: t1.Add(time.Second)}, nil); err != nil {
		t.Fatal(err)
	}
	if s.Model() != m || !s.BuildOwed() || !s.Now().Equal(t1.Add(time.Second)) {
		t.Fatalf("a tick without a build: model kept %v, build owed %v, now %v", s.Model() == m, s.BuildOwed(), s.Now())
	}
	t1 = t1.Add(time.Second)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, wall)
	defer s.Close()
	if err := s.UseStreamTicks(); err != nil {
		t.Fatal(err)
	}
	if seq, at := s.LastTick(); seq != 7 || !at.Equal(t1) || !s.Now().Equal(t1) {
		t.Fatalf("after a restart: tick %d at %v, now %v", seq, at, s.Now())
	}
	if seq, _ := s.StreamSeq(); seq != 7 {
		t.Fatalf("stream seq %d after the ticks, want 7", seq)
	}
	pinned := openTestStore(t, "", nil)
	defer pinned.Close()
	if err := pinned.UseStreamTicks(); err != nil {
		t.Fatal(err)
	}
	want := pinned.opts.Clock()
	if err := pinned.ApplyTick(ctx, 1, Tick{At: t1, Build: true}, nil); err != nil {
		t.Fatal(err)
	}
	if got := pinned.Now(); !got.Equal(want) {
		t.Fatalf("a pinned clock reads %v in tick mode, want %v", got, want)
	}
}
