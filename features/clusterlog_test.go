package features

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestLogEventsRoundTrip(t *testing.T) {
	evs := []Event{
		{EventID: "e1", CustomerID: "c 1", ProductID: "p/1", Type: "view", Timestamp: time.Unix(1700000000, 123456789).UTC()},
		{CustomerID: "c1", ProductID: "p2", Type: "purchase", Value: 12.5, Quantity: 3, OrderID: "o1", RecommendationID: "r1", Timestamp: time.Unix(0, 0).UTC()},
	}
	got, err := DecodeLogEvents(EncodeLogEvents(evs))
	if err != nil || !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, got, evs)
	}
	enc := EncodeLogEvents(evs)
	for _, bad := range [][]byte{nil, {2}, enc[:len(enc)-1], append(append([]byte{}, enc...), 0), {1, 0}, {1, 200, 1}} {
		if _, err := DecodeLogEvents(bad); err == nil {
			t.Errorf("decoded %v", bad)
		}
	}
}

// TestApplyLogResumes: applied entries are committed with their stream
// sequence, which survives a reopen; entries handed in again are skipped;
// an undecodable one is named and nothing from it on is applied.
func TestApplyLogResumes(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	msg := func(c string, ids ...string) []byte {
		var evs []Event
		for _, id := range ids {
			evs = append(evs, Event{EventID: id, CustomerID: c, ProductID: "p" + id, Type: "view", Timestamp: ts})
		}
		return EncodeLogEvents(evs)
	}
	noID := EncodeLogEvents([]Event{{CustomerID: "c3", ProductID: "p9", Type: "view", Timestamp: ts}})
	entries := []LogEntry{{1, msg("c1", "a", "b")}, {2, msg("c2", "c")}, {3, noID}}
	if err := s.ApplyLog(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	defer s.Close()
	if seq, err := s.StreamSeq(); err != nil || seq != 3 {
		t.Fatalf("stream seq after reopen %d, %v", seq, err)
	}
	// Again, from the start: nothing is applied twice, even the event
	// without an id.
	if err := s.ApplyLog(context.Background(), append(entries, LogEntry{4, msg("c1", "d")})); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Events; n != 5 {
		t.Fatalf("%d events, want 5", n)
	}
	err := s.ApplyLog(context.Background(), []LogEntry{{5, msg("c4", "e")}, {6, []byte{7, 7}}, {7, msg("c4", "f")}})
	var bad *BadLogEntry
	if !errors.As(err, &bad) || bad.Seq != 6 {
		t.Fatalf("bad entry: %v", err)
	}
	if seq, _ := s.StreamSeq(); seq != 5 || s.Stats().Events != 6 {
		t.Fatalf("after a bad entry: seq %d, %d events; want 5 and 6", seq, s.Stats().Events)
	}
}

// BenchmarkApplyLog is the store's side of a cluster node's apply, without
// NATS: runs of 512 messages of 1 or 20 events (one customer's each)
// through ApplyLog into a real Badger store, 20k customers, 5k products.
func BenchmarkApplyLog(b *testing.B) {
	for _, per := range []int{1, 20} {
		b.Run(fmt.Sprintf("events_per_msg=%d", per), func(b *testing.B) {
			s := openTestStore(b, "", nil)
			defer s.Close()
			ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			const run = 512
			var seq uint64
			b.ResetTimer()
			for i := 0; i < b.N; i += run * per {
				b.StopTimer()
				entries := make([]LogEntry, 0, run)
				for m := 0; m < run; m++ {
					k := i + m*per
					c := fmt.Sprint("c", (k/per)%20000)
					evs := make([]Event, per)
					for j := range evs {
						evs[j] = Event{EventID: fmt.Sprint("e", k+j), CustomerID: c, ProductID: fmt.Sprint("p", (k+j)*7%5000), Type: "view", Timestamp: ts}
					}
					seq++
					entries = append(entries, LogEntry{Seq: seq, Data: EncodeLogEvents(evs)})
				}
				b.StartTimer()
				if err := s.ApplyLog(context.Background(), entries); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(s.Stats().Events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
