package features

import (
	"context"
	"errors"
	"testing"
)

// A deleted product stays deleted through an import that guesses its
// record and through a restart, keeps its events, and comes back with a
// PUT; a product known only from its events can be deleted as well.
func TestDeletedProductOutlivesImportAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if err := s.PutProduct("p1", Product{Category: "set", Available: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(context.Background(), []Event{ev("c1", "p1", "purchase"), ev("c1", "g1", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "g1"} {
		if err := s.DeleteProduct(id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	a := ev("c2", "p1", "purchase")
	src := sliceSource{{evs: []*Event{&a}, products: map[string]Product{"p1": {Category: "guessed", Available: true}, "g1": {Available: true}}}}
	if _, err := Import(context.Background(), s, &src, ImportOptions{BatchSize: 10}); err != nil {
		t.Fatal(err)
	}
	wantGone := func(when string) {
		t.Helper()
		for _, id := range []string{"p1", "g1"} {
			if p, _, err := s.GetProduct(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %s reads %+v, %v; want ErrNotFound", when, id, p, err)
			}
			if err := s.DeleteProduct(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: a second delete of %s: %v; want ErrNotFound", when, id, err)
			}
			pid, _ := s.ProductID(id)
			if m := s.Catalog().Compile(Filter{IncludeHidden: true}); m.Allows(pid) {
				t.Errorf("%s: browsing allows %s", when, id)
			}
		}
		if n := len(s.HistoryView(mustCust(t, s, "c1"))); n != 2 {
			t.Errorf("%s: c1 has %d events, want 2: a deletion keeps history", when, n)
		}
	}
	wantGone("after an import")
	s.Close()
	s = openTestStore(t, dir, nil)
	wantGone("after a restart")
	if err := s.PutProduct("p1", Product{Category: "set", Available: true}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir, nil)
	if p, has, err := s.GetProduct("p1"); err != nil || !has || p.Category != "set" {
		t.Fatalf("p1 put again reads %+v %v %v after a restart", p, has, err)
	}
}

func mustCust(t *testing.T, s *Store, ext string) uint32 {
	t.Helper()
	id, ok := s.CustomerID(ext)
	if !ok {
		t.Fatalf("unknown customer %s", ext)
	}
	return id
}
