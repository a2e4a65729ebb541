package features

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// writeUnchecked commits events the way a store written before values and
// times were bounded did: straight to the writer, past Ingest's checks.
func writeUnchecked(t *testing.T, s *Store, evs ...Event) {
	t.Helper()
	tt := s.types.Load()
	pend := make([]pendingEvent, len(evs))
	for i, e := range evs {
		code, ok := tt.Code(e.Type)
		if !ok {
			t.Fatalf("type %q", e.Type)
		}
		pend[i] = pendingEvent{ev: e, typ: code, class: tt.conf[code].Class}
	}
	if _, err := s.submit(context.Background(), &writeReq{events: pend, sync: true, done: make(chan writeResult, 1)}); err != nil {
		t.Fatal(err)
	}
}

func finite(t *testing.T, what string, vs ...float64) {
	t.Helper()
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s: %v is not finite (%v)", what, v, vs)
		}
	}
}

// TestOldLogWithAbsurdValues: a log that already holds two purchases of
// 1.7e308 (accepted before values were bounded), one at unix 0 and one of
// NaN is replayed, from the log and from a snapshot, into histories whose
// values are finite and clamped to MaxEventValue, with the unix-0 purchase
// kept as a purchase. Customer value reads these histories (features/crm
// tests what it makes of such values: TestValueOfAbsurdHistories).
func TestOldLogWithAbsurdValues(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	at := time.Date(2011, 6, 1, 0, 0, 0, 0, time.UTC)
	writeUnchecked(t, s,
		Event{CustomerID: "whale", ProductID: "p", Type: "purchase", Value: 1.7e308, Timestamp: at},
		Event{CustomerID: "whale", ProductID: "p", Type: "purchase", Value: 1.7e308, Timestamp: at},
		Event{CustomerID: "epoch", ProductID: "p", Type: "purchase", Value: 10, Timestamp: time.Unix(0, 0)},
		Event{CustomerID: "other", ProductID: "q", Type: "purchase", Value: math.NaN(), Timestamp: at},
	)
	for round, snap := range []bool{false, true} {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Fatal(err)
		}
		s = openTestStore(t, dir, nil)
		whale, _ := s.CustomerID("whale")
		h := s.HistoryView(whale)
		if len(h) != 2 || h[0].Value != MaxEventValue || h[1].Value != MaxEventValue {
			t.Fatalf("round %d: whale history %+v, want two purchases clamped to %v", round, h, MaxEventValue)
		}
		epoch, _ := s.CustomerID("epoch")
		if h := s.HistoryView(epoch); len(h) != 1 || h[0].TS != 0 || !s.Types().IsPurchase(h[0].Type) {
			t.Fatalf("round %d: epoch history %+v, want one purchase at unix 0", round, h)
		}
		other, _ := s.CustomerID("other")
		for _, in := range s.HistoryView(other) {
			finite(t, "other", in.Value)
		}
		if snap {
			continue
		}
		// The second round loads the history from a snapshot.
		if err := s.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFutureSkew: timestamps further than MaxFutureSkew past the wall
// clock are refused naming the field, even with a pinned store clock.
func TestFutureSkew(t *testing.T) {
	s := openTestStore(t, "", func(o *Options) { o.MaxFutureSkew = time.Hour })
	now := time.Now()
	res, err := s.Ingest(context.Background(), []Event{
		{CustomerID: "c", ProductID: "p", Type: "view", Timestamp: now.Add(50 * time.Minute)},
		{CustomerID: "c", ProductID: "p", Type: "view", Timestamp: now.Add(70 * time.Minute)},
		{CustomerID: "c", ProductID: "p", Type: "view", Timestamp: time.Date(2105, 1, 1, 0, 0, 0, 0, time.UTC)},
		{CustomerID: "c", ProductID: "p", Type: "view", Timestamp: time.Date(1989, 12, 31, 0, 0, 0, 0, time.UTC)},
		{CustomerID: "c", ProductID: "p", Type: "view"},
	}, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Rejected) != 3 {
		t.Fatalf("accepted %d, rejected %+v", res.Accepted, res.Rejected)
	}
	for i, r := range res.Rejected {
		if r.Index != i+1 || r.Field != "timestamp" {
			t.Fatalf("rejection %+v", r)
		}
	}
	if o := (Options{Dir: "x", EventTypes: DefaultEventTypes(), MaxFutureSkew: -time.Second}); o.Validate() == nil {
		t.Fatal("a negative skew passed Validate")
	}
}

// TestLatestEventTimeIsConfirmed: "now" for historical data does not move
// for a few late events. The demo's reproducer: one view dated far after
// the data moved "now" for every customer (recency of 34,006 days).
func TestLatestEventTimeIsConfirmed(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	ctx := context.Background()
	base := time.Date(2011, 12, 9, 12, 0, 0, 0, time.UTC)
	var evs []Event
	for i := range 3000 {
		evs = append(evs, Event{CustomerID: fmt.Sprint("c", i%300), ProductID: fmt.Sprint("p", i%40), Type: "purchase",
			Value: 1, Timestamp: base.Add(-time.Duration(3000-i) * time.Minute)})
	}
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	// Clean data: the newest event, as before.
	dataNow := base.Add(-time.Minute)
	if got := s.LatestEventTime(); !got.Equal(dataNow) {
		t.Fatalf("LatestEventTime %v, want %v", got, dataNow)
	}
	late := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	for i := range 9 {
		if _, err := s.Ingest(ctx, []Event{{CustomerID: "late", ProductID: fmt.Sprint("p", i), Type: "view", Timestamp: late}}, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := s.LatestEventTime(); !got.Equal(dataNow) {
			t.Fatalf("%d late events moved now to %v", i+1, got)
		}
	}
	// k is 10 here (0.1% of 3000 is 3, below the minimum): the tenth
	// confirms it, the data has moved on.
	if _, err := s.Ingest(ctx, []Event{{CustomerID: "late2", ProductID: "p0", Type: "view", Timestamp: late}}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := s.LatestEventTime(); !got.Equal(late) {
		t.Fatalf("after 10 late events: %v, want %v", got, late)
	}
	// Erasing them takes their times out again, and a restart (snapshot
	// load, then log replay) computes the same.
	if err := s.EraseCustomer("late"); err != nil {
		t.Fatal(err)
	}
	want := dataNow // late2's one event does not confirm its time
	if got := s.LatestEventTime(); !got.Equal(want) {
		t.Fatalf("after erasure: %v, want %v", got, want)
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, []Event{{CustomerID: "c1", ProductID: "p1", Type: "view", Timestamp: base.Add(time.Second)}}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	// Within a day of the bulk an event counts at once: a single event
	// moves "now" by a day at most.
	want = base.Add(time.Second)
	if got := s.LatestEventTime(); !got.Equal(want) {
		t.Fatalf("before restart: %v, want %v", got, want)
	}
	s.Close()
	s = openTestStore(t, dir, nil)
	if got := s.LatestEventTime(); !got.Equal(want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
}

func TestConfirmCount(t *testing.T) {
	for _, c := range []struct{ n, k int }{{0, 10}, {1, 10}, {9999, 10}, {10001, 11}, {30224, 31}, {10_000_000, 1000}} {
		if got := confirmCount(c.n); got != c.k {
			t.Errorf("confirmCount(%d) = %d, want %d", c.n, got, c.k)
		}
	}
	var n newestTimes
	if n.confirmed(0) != 0 {
		t.Fatal("empty")
	}
	for i := range 5000 {
		n.add(uint32(5000 - i)) // newest first: only the first 1000 are kept
	}
	if got := n.confirmed(5000); got != 5000 {
		t.Fatalf("1..5000, one second apart: %d, want the newest", got)
	}
	for _, ts := range []uint32{4990 + confirmGap, 6000 + confirmGap, 1 << 31} {
		n.add(ts)
	}
	// The 10th newest is now 4993: 4990+gap is within a day of it, the
	// two later ones are not.
	if got := n.confirmed(5003); got != 4990+confirmGap {
		t.Fatalf("with late times: %d, want %d", got, 4990+confirmGap)
	}
	// k = 1000: the 1000th newest is 4004, and 4990+gap is past its day.
	if got := n.confirmed(2_000_000); got != 5000 {
		t.Fatalf("k = 1000: %d", got)
	}
}
