package features

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func snapFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "snapshot-*"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func TestSnapshotFileGenerations(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(ctx, []Event{ev("c1", "p1", "purchase"), ev("c1", "p2", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	first := snapFiles(t, dir)
	if len(first) != 1 {
		t.Fatalf("after one snapshot: %v", first)
	}
	if _, err := s.Ingest(ctx, []Event{ev("c2", "p1", "purchase"), ev("c2", "p2", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	second := snapFiles(t, dir)
	if len(second) != 1 || second[0] == first[0] {
		t.Fatalf("after the snapshot on close: %v (before %v): the old generation should be gone", second, first)
	}
	// A crash between writing a file and switching the header leaves a
	// stray file; it is removed on open, the current one is used.
	for _, stray := range []string{"snapshot-999.bin", "snapshot-1000.bin.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, stray), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s2 := openTestStore(t, dir, nil)
	if got := snapFiles(t, dir); len(got) != 1 || got[0] != second[0] {
		t.Fatalf("after reopening: %v, want only %v", got, second)
	}
	st := s2.Stats()
	if st.Events != 4 || st.SnapshotSeq != st.LastSeq {
		t.Fatalf("reopened from the snapshot: %+v", st)
	}
	p1, _ := s2.ProductID("p1")
	if l := s2.Model().NeighboursOf(BasisBought, p1); len(l) == 0 || s2.ProductName(l[0].Product) != "p2" {
		t.Fatalf("neighbours of p1 after reopening: %+v", l)
	}
	// A damaged file means no snapshot: the log is replayed, nothing lost.
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, second[0])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s3 := openTestStore(t, dir, nil)
	if st := s3.Stats(); st.Events != 4 {
		t.Fatalf("after a damaged snapshot: %+v", st)
	}
}
