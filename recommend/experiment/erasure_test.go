package experiment

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestErasureFinishesAfterACrash: the store erases a customer while the
// experiments service is not running (as if the process died right after
// EraseCustomer, before the service's background erasure); the next start
// of the service finishes the erasure from the journal, and the journal
// empties.
func TestErasureFinishesAfterACrash(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	prods := seedProducts(t, st, 3)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("gdpr", StatusRunning, 1, 1))
	ctx := context.Background()
	for _, u := range []string{"alice", "carol"} {
		v, _, _ := x.Enrol(ctx, "gdpr", "", u)
		for k := range 2 {
			x.Expose("gdpr", v, fmt.Sprintf("%s-%d", u, k), u, false, prods)
		}
	}
	if _, err := st.Ingest(ctx, []features.Event{{CustomerID: "carol", ProductID: prods[0], Type: "view"}}, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	// The service is down; the journal it registered is the store's record
	// of what it still has to do.
	if err := st.EraseCustomer("carol"); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Records().Pending(experimentJournal); len(p) != 1 || p[0] != "carol" {
		t.Fatalf("pending erasures %v, want [carol]", p)
	}
	if n := countMatches(t, st.Records(), exposureLogKind, "carol"); n == 0 {
		t.Fatal("test setup: carol's exposures should still be logged while the service is down")
	}
	x2 := expTestService(t, st, nil)
	mustFlush(t, x2)
	if n := countMatches(t, st.Records(), exposureLogKind, "carol"); n != 0 {
		t.Fatalf("%d of carol's exposures left after the restart", n)
	}
	if n := countMatches(t, st.Records(), exposureLogKind, "alice"); n != 2 {
		t.Fatalf("alice's exposures: %d, want 2", n)
	}
	if p, _ := st.Records().Pending(experimentJournal); len(p) != 0 {
		t.Fatalf("journal not emptied: %v", p)
	}
}

func countMatches(t *testing.T, st interface {
	Scan(string, uint64, func(uint64, []byte) error) error
}, kind, s string) int {
	t.Helper()
	n := 0
	if err := st.Scan(kind, 0, func(_ uint64, v []byte) error {
		if bytes.Contains(v, []byte(s)) {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
