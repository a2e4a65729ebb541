package crm

import (
	"context"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// TestFullPassKeepsChangesMadeDuringIt writes between a full evaluation and
// its reconciliation: a customer who joins (an event), leaves (an
// erasure) or appears (attributes only) meanwhile must end up right.
func TestFullPassKeepsChangesMadeDuringIt(t *testing.T) {
	s := openTestStore(t, "", nil)
	ctx := context.Background()
	ts := time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)
	buy := func(c string, v float64) {
		t.Helper()
		if _, err := s.Ingest(ctx, []features.Event{{CustomerID: c, ProductID: "p", Type: "purchase", Value: v, Timestamp: ts}}, features.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	buy("joiner", 10)
	buy("leaver", 500)
	if err := s.PutCustomer("newcomer", features.Customer{Attributes: map[string]any{"vip": true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSegment("big", "monetary > 100 || attributes.vip == true"); err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"refresh", "put"} {
		hook := func() {
			s.afterEval.Store(nil)
			buy("joiner", 200)
			if err := s.EraseCustomer("leaver"); err != nil {
				t.Error(err)
			}
			if err := s.PutCustomer("late", features.Customer{Attributes: map[string]any{"vip": true}}); err != nil {
				t.Error(err)
			}
		}
		s.afterEval.Store(&hook)
		var err error
		if pass == "refresh" {
			err = s.RefreshCustomerValue()
		} else {
			_, err = s.PutSegment("big", "monetary > 100 || attributes.vip == true")
		}
		if err != nil {
			t.Fatal(err)
		}
		bm, _ := s.SegmentMembers("big")
		var got []string
		for _, c := range bm.ToArray() {
			got = append(got, s.CustomerName(c))
		}
		want := []string{"joiner", "newcomer", "late"}
		if len(got) != len(want) {
			t.Fatalf("%s: members %v, want %v", pass, got, want)
		}
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Fatalf("%s: members %v, want %v", pass, got, want)
			}
		}
		// Reset for the second pass.
		buy("leaver", 500)
		if err := s.EraseCustomer("late"); err != nil {
			t.Fatal(err)
		}
		if err := s.EraseCustomer("joiner"); err != nil {
			t.Fatal(err)
		}
		buy("joiner", 10)
	}
}
