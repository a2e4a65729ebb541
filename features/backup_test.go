package features

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestBackupRestoreServesTheSame(t *testing.T) {
	s := openTestStore(t, "", nil)
	evs := syntheticEvents(3000, 200, 100, 3, true)
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProduct("p1", Product{Category: "cups", Price: 2, Available: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Records().Put("segment", "vip", []byte(`{"rule":"monetary > 100"}`)); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	r := openTestStore(t, restoredCopy(t, s), nil)
	if a, b := s.Stats().Events, r.Stats().Events; a != b {
		t.Fatalf("events %d vs restored %d", a, b)
	}
	for _, name := range []string{"p1", "p2", "p7"} {
		pa, _ := s.ProductID(name)
		pb, ok := r.ProductID(name)
		if !ok || pa != pb {
			t.Fatalf("product %s id %d vs %d", name, pa, pb)
		}
		if !reflect.DeepEqual(s.Model().NeighboursOf(BasisBought, pa), r.Model().NeighboursOf(BasisBought, pb)) {
			t.Fatalf("neighbours of %s differ after restore", name)
		}
	}
	if p, _, err := r.GetProduct("p1"); err != nil || p.Category != "cups" {
		t.Fatalf("restored product: %+v %v", p, err)
	}
	if v, err := r.Records().Get("segment", "vip"); err != nil || string(v) != `{"rule":"monetary > 100"}` {
		t.Fatalf("restored record: %q %v", v, err)
	}
	// A restored store accepts the same event ids as duplicates.
	res, err := r.Ingest(context.Background(), evs[:10], IngestOptions{})
	if err != nil || res.Duplicates != 10 {
		t.Fatalf("re-ingest after restore: %+v %v", res, err)
	}
}

func TestEraseCustomerLeavesNothingReadable(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	ctx := context.Background()
	secret := "erase-me-7c1f"
	evs := []Event{
		{CustomerID: secret, ProductID: "p1", Type: "purchase", OrderID: "order-of-" + secret, RecommendationID: "rec-" + secret},
		{CustomerID: secret, ProductID: "p2", Type: "purchase"},
		{CustomerID: "other", ProductID: "p1", Type: "purchase"},
		{CustomerID: "other", ProductID: "p2", Type: "purchase"},
		{CustomerID: "third", ProductID: "p1", Type: "purchase"},
		{CustomerID: "third", ProductID: "p3", Type: "purchase"},
	}
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer(secret, Customer{Attributes: map[string]any{"email": secret + "@example.com"}}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	cid, _ := s.CustomerID(secret)
	p1, _ := s.ProductID("p1")
	if err := s.EraseCustomer(secret); err != nil {
		t.Fatal(err)
	}
	// The supports below are the model's, rebuilt without them in the
	// background (erase_followup.go).
	s.settleErasures()
	check := func(s *Store) {
		t.Helper()
		if _, ok := s.CustomerID(secret); ok {
			t.Fatal("id still resolves")
		}
		if h := s.HistoryView(cid); len(h) != 0 {
			t.Fatalf("history left: %v", h)
		}
		if s.CustomerAttributes(cid) != nil {
			t.Fatal("attributes left")
		}
		s.idx.mu.RLock()
		for c := range s.idx.prodCust {
			for p, bm := range s.idx.prodCust[c] {
				if bm != nil && bm.Contains(cid) {
					t.Errorf("still in the %v bitmap of product %d", Class(c), p)
				}
			}
		}
		s.idx.mu.RUnlock()
		// p1 and p2 co-occurred for two customers; now for one.
		if sup := s.Model().SupportOf(BasisBought, p1); sup != 2 {
			t.Errorf("p1 support %d after erasure, want 2", sup)
		}
		// Every key and value readable from the store, snapshots included.
		if err := s.scanAll(func(k, v []byte) {
			if bytes.Contains(k, []byte(secret)) || bytes.Contains(v, []byte(secret)) {
				t.Errorf("the erased id is still readable under key %q", k)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	check(s)
	s.Close()
	check(openTestStore(t, dir, nil))
}

// restoredCopy backs s up and restores the backup into a new directory,
// which it returns.
func restoredCopy(t *testing.T, s *Store) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Restore(dir, &buf, s.log); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBackupClosedMatchesBackup: the backup of a closed store, read from
// Badger alone (no load, no model build), is byte for byte the backup the
// open store writes, restores, and is refused for a directory whose
// Badger holds no store.
func TestBackupClosedMatchesBackup(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(2000, 150, 80, 7, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close() // writes the snapshot: its header is a key
	s = openTestStore(t, dir, nil)
	var open bytes.Buffer
	if _, err := s.Backup(&open); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var closed bytes.Buffer
	n, err := BackupClosed(dir, &closed, s.log)
	if err != nil || n != int64(closed.Len()) {
		t.Fatalf("BackupClosed: %d bytes, %v", n, err)
	}
	if !bytes.Equal(open.Bytes(), closed.Bytes()) {
		t.Fatalf("the closed store's backup (%d bytes) differs from the open store's (%d)", closed.Len(), open.Len())
	}
	r := t.TempDir()
	if err := Restore(r, &closed, s.log); err != nil {
		t.Fatal(err)
	}
	if got := openTestStore(t, r, nil).Stats().Events; got != 2000 {
		t.Fatalf("restored %d events", got)
	}
	// A Badger directory that is not an Affinity store.
	bare := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(bare).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := BackupClosed(bare, io.Discard, s.log); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a bare Badger directory: %v", err)
	}
}
