package features

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// mergeFixture stores an anonymous visitor and a customer with histories
// and attributes, plus others so that products co-occur.
func mergeFixture(t *testing.T, s *Store) {
	t.Helper()
	at := func(d int) time.Time { return time.Date(2023, 6, 1+d, 0, 0, 0, 0, time.UTC) }
	evs := []Event{
		{CustomerID: "alice", ProductID: "p3", Type: "purchase", Value: 5, OrderID: "o1", Timestamp: at(0)},
		{CustomerID: "anon-7f3", ProductID: "p1", Type: "view", Timestamp: at(2), EventID: "ev-anon-1"},
		{CustomerID: "alice", ProductID: "p4", Type: "view", Timestamp: at(3)},
		{CustomerID: "anon-7f3", ProductID: "p2", Type: "purchase", Value: 7, OrderID: "o-anon", Timestamp: at(1), RecommendationID: "rec-anon"},
	}
	for i := range 6 {
		c := []string{"u1", "u2", "u3"}[i%3]
		evs = append(evs, Event{CustomerID: c, ProductID: []string{"p1", "p2", "p3", "p4"}[i%4], Type: "purchase", Timestamp: at(i)})
	}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer("anon-7f3", Customer{Attributes: map[string]any{"country": "FR", "lang": "fr"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer("alice", Customer{Attributes: map[string]any{"country": "DE"}}); err != nil {
		t.Fatal(err)
	}
}

// crashStore stops s without the snapshot a Close writes.
func crashStore(t *testing.T, s *Store) {
	t.Helper()
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
}

// A merge moves the visitor's events, attributes they lack and bitmaps onto
// the customer at once, leaves nothing under the visitor's id, is a no-op
// when repeated, and the same history comes back after a crash that
// replays it from an older snapshot, after a clean restart and from a full
// replay of the log.
func TestMergeCustomers(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	mergeFixture(t, s)
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// After the snapshot: a replay must move these too.
	if _, err := s.Ingest(context.Background(), []Event{{CustomerID: "anon-7f3", ProductID: "p4", Type: "cart",
		Timestamp: time.Date(2023, 6, 5, 0, 0, 0, 0, time.UTC)}}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	anon, _ := s.CustomerID("anon-7f3")
	alice, _ := s.CustomerID("alice")
	want := append(append([]Interaction(nil), s.HistoryView(alice)...), s.HistoryView(anon)...)
	res, err := s.MergeCustomers("anon-7f3", "alice")
	if err != nil || res != (MergeResult{Moved: 3}) {
		t.Fatalf("merge: %+v %v", res, err)
	}
	got := s.HistoryView(alice)
	if len(got) != 5 || !sameInteractions(got, want) {
		t.Fatalf("alice's history %v, want the 5 of %v", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].TS < got[i-1].TS {
			t.Fatalf("merged history out of time order: %v", got)
		}
	}
	checkMergedCustomer(t, s, "live", anon, alice, got)

	// Repeats, and the merges that are refused.
	checkRefusedMerges(t, s)

	// A full replay of the log (the events are alice's there already).
	s.idx = newIndex()
	if _, err := s.replay(0, false); err != nil {
		t.Fatal(err)
	}
	checkMergedCustomer(t, s, "full replay", anon, alice, got)

	// A crash: the snapshot is from before the merge.
	crashStore(t, s)
	s = openTestStore(t, dir, nil)
	if s.snapSeq.Load() >= s.seq.Load() {
		t.Fatalf("setup: the snapshot (%d) is not older than the merge (%d)", s.snapSeq.Load(), s.seq.Load())
	}
	checkMergedCustomer(t, s, "after a crash", anon, alice, got)
	s.Close()
	s = openTestStore(t, dir, nil)
	checkMergedCustomer(t, s, "after a clean restart", anon, alice, got)
}

// checkMergedCustomer checks s after the merge of anon-7f3 (id anon) into
// alice: the visitor's id no longer resolves and is suppressed, nothing is
// left under it in memory, in the bitmaps, in any key or value or in the
// log, and alice has the history got and the merged attributes. what names
// the state in failures.
func checkMergedCustomer(t *testing.T, s *Store, what string, anon, alice uint32, got []Interaction) {
	t.Helper()
	if _, ok := s.CustomerID("anon-7f3"); ok || !s.Erased("anon-7f3") {
		t.Fatalf("%s: the visitor's id still resolves, or is not suppressed", what)
	}
	if h := s.HistoryView(anon); len(h) != 0 {
		t.Fatalf("%s: history left under the visitor: %v", what, h)
	}
	if h := s.HistoryView(alice); !reflect.DeepEqual(h, got) {
		t.Fatalf("%s: alice's history\n%v, want\n%v", what, h, got)
	}
	if a := s.CustomerAttributes(alice); !reflect.DeepEqual(a, map[string]any{"country": "DE", "lang": "fr"}) {
		t.Fatalf("%s: alice's attributes %v", what, a)
	}
	p1, _ := s.ProductID("p1")
	bm := s.ProductCustomers(BasisAny, p1)
	if bm.Contains(anon) || !bm.Contains(alice) {
		t.Fatalf("%s: p1's customers %v (anon %d, alice %d)", what, bm.ToArray(), anon, alice)
	}
	if err := s.scanAll(func(k, v []byte) {
		if bytes.Contains(k, []byte("anon-7f3")) || bytes.Contains(v, []byte("anon-7f3")) {
			t.Errorf("%s: the visitor's id is still readable under key %q", what, k)
		}
	}); err != nil {
		t.Fatal(err)
	}
	var rep CheckReport
	if err := s.db.View(func(txn *badger.Txn) error {
		return checkDB(txn, func(c uint32, _ uint8) {
			if c == anon {
				t.Errorf("%s: a logged event is still the visitor's", what)
			}
		}, &rep)
	}); err != nil || rep.OrphanEvents != 0 {
		t.Fatalf("%s: check: %+v %v", what, rep, err)
	}
}

// checkRefusedMerges checks that repeating the merge of anon-7f3 into alice
// is a no-op, and that merges into another customer, from an unknown id or
// into itself are refused without creating their target.
func checkRefusedMerges(t *testing.T, s *Store) {
	t.Helper()
	if res, err := s.MergeCustomers("anon-7f3", "alice"); err != nil || res != (MergeResult{Repeated: true}) {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	if _, err := s.MergeCustomers("anon-7f3", "bob"); !errors.Is(err, ErrMergedElsewhere) {
		t.Fatalf("into another: %v", err)
	}
	if _, err := s.MergeCustomers("nobody", "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown from: %v", err)
	}
	var fe *FieldError
	if _, err := s.MergeCustomers("alice", "alice"); !errors.As(err, &fe) || fe.Field != "from" {
		t.Fatalf("from == id: %v", err)
	}
	if _, ok := s.CustomerID("bob"); ok {
		t.Fatal("a refused merge created its target")
	}
}

// sameInteractions reports whether a and b hold the same interactions in
// any order.
func sameInteractions(a, b []Interaction) bool {
	if len(a) != len(b) {
		return false
	}
	left := append([]Interaction(nil), b...)
	for _, x := range a {
		i := -1
		for j, y := range left {
			if x == y {
				i = j
				break
			}
		}
		if i < 0 {
			return false
		}
		left = append(left[:i], left[i+1:]...)
	}
	return true
}

// A merge into an unknown customer creates them; erasing them afterwards
// leaves nothing of either, and a merge of an erased id is refused.
func TestMergeThenEraseLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	mergeFixture(t, s)
	res, err := s.MergeCustomers("anon-7f3", "carol-new")
	if err != nil || res != (MergeResult{Moved: 2, Created: true}) {
		t.Fatalf("merge: %+v %v", res, err)
	}
	carol, ok := s.CustomerID("carol-new")
	if !ok || len(s.HistoryView(carol)) != 2 || s.CustomerAttributes(carol)["lang"] != "fr" {
		t.Fatalf("carol: %v %v", s.HistoryView(carol), s.CustomerAttributes(carol))
	}
	if err := s.EraseCustomer("carol-new"); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseCustomer("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MergeCustomers("alice", "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("merge of an erased id: %v", err)
	}
	check := func(s *Store) {
		t.Helper()
		if _, ok := s.CustomerID("dave"); ok {
			t.Fatal("a merge of an erased id created its target")
		}
		for _, secret := range []string{"anon-7f3", "carol-new", "o-anon", "rec-anon", "ev-anon"} {
			if err := s.scanAll(func(k, v []byte) {
				if bytes.Contains(k, []byte(secret)) || bytes.Contains(v, []byte(secret)) {
					t.Errorf("%q is still readable under key %q", secret, k)
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
		if st := s.Stats(); st.Events != 6 {
			t.Fatalf("%d events left, want the 6 of u1, u2, u3", st.Events)
		}
	}
	check(s)
	s.Close()
	check(openTestStore(t, dir, nil))
}

// An event type no longer configured leaves events in the log that the
// memory skipped: the merge reads the whole log and moves them too, so
// none stays under the visitor's id (the log holds the wish as c1's).
func TestMergeMovesEventsOfUnconfiguredTypes(t *testing.T) {
	dir := t.TempDir()
	wish := func(o *Options) { o.EventTypes["wish"] = EventType{Weight: 1, Class: ClassViewed} }
	s := openTestStore(t, dir, wish)
	ctx := context.Background()
	if _, err := s.Ingest(ctx, []Event{ev("anon", "p1", "wish"), ev("c1", "p1", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 100 { // a log long enough that the wish is not in the newest block
		if _, err := s.Ingest(ctx, []Event{ev("c1", "p2", "view")}, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Ingest(ctx, []Event{ev("anon", "p2", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	anon, _ := s.CustomerID("anon")
	s.Close()
	s = openTestStore(t, dir, nil)
	if res, err := s.MergeCustomers("anon", "c1"); err != nil || res.Moved != 2 {
		t.Fatalf("merge: %+v %v", res, err)
	}
	c1, _ := s.CustomerID("c1")
	var rep CheckReport
	theirs := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		return checkDB(txn, func(c uint32, _ uint8) {
			if c == anon {
				t.Error("an event is still the visitor's")
			}
			if c == c1 {
				theirs++
			}
		}, &rep)
	}); err != nil {
		t.Fatal(err)
	}
	if theirs != 103 {
		t.Fatalf("the log holds %d events of c1, want 103 (the wish too)", theirs)
	}
}
