package features

import (
	"context"
	"testing"
)

// TestErasureFreesEventIDsAndRemembersTheID: an erased customer's event
// ids leave the idempotency index (another customer's event carrying one is
// stored, not dropped as a duplicate) while other customers' ids stay; the
// erased id is on the erased list across a restart, and a new event for it
// takes it off, also across a restart.
func TestErasureFreesEventIDsAndRemembersTheID(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTestStore(t, dir, nil)
	evs := []Event{
		{EventID: "e1", CustomerID: "gone", ProductID: "p1", Type: "purchase"},
		{EventID: "e2", CustomerID: "gone", ProductID: "p2", Type: "view"},
		{EventID: "e3", CustomerID: "stays", ProductID: "p1", Type: "purchase"},
	}
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseCustomer("gone"); err != nil {
		t.Fatal(err)
	}
	if !s.Erased("gone") || s.Erased("stays") || s.Erased("never") {
		t.Fatalf("erased: gone %v, stays %v, never %v", s.Erased("gone"), s.Erased("stays"), s.Erased("never"))
	}
	res, err := s.Ingest(ctx, []Event{
		{EventID: "e1", CustomerID: "other", ProductID: "p3", Type: "purchase"},
		{EventID: "e3", CustomerID: "other", ProductID: "p3", Type: "purchase"},
	}, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 1 {
		t.Fatalf("e1 (erased with its customer) and e3 (kept) re-posted: %d duplicates, want 1 (e3)", res.Duplicates)
	}
	o, _ := s.CustomerID("other")
	if n := len(s.HistoryView(o)); n != 1 {
		t.Fatalf("other has %d events, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	if !s.Erased("gone") {
		t.Fatal("the erased list was lost across a restart")
	}
	if _, err := s.Ingest(ctx, []Event{ev("gone", "p1", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if s.Erased("gone") {
		t.Fatal("a new event for the id left it on the erased list")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	if s.Erased("gone") {
		t.Fatal("back on the erased list after a restart")
	}
	// A PUT of the customer brings them back too.
	if err := s.EraseCustomer("stays"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer("stays", Customer{}); err != nil {
		t.Fatal(err)
	}
	if s.Erased("stays") {
		t.Fatal("a PUT of the customer left them on the erased list")
	}
}
