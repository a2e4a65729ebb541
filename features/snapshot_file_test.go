package features

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
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
	// Close snapshots the lists being served without solving them: solve
	// now, so that reopening can be seen to read the lists.
	s.Refresh()
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

// TestSnapshotChecksums: a snapshot whose header has an IEEE CRC and no
// polynomial (written before Castagnoli) still loads; a wrong CRC makes the
// start replay the log instead.
func TestSnapshotChecksums(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), []Event{ev("c1", "p1", "purchase"), ev("c1", "p2", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rewrite := func(edit func(m *snapMeta, file []byte)) {
		t.Helper()
		db, err := openBadger(DefaultOptions(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(txn *badger.Txn) error {
			it, err := txn.Get([]byte(keySnapshotMeta))
			if err != nil {
				return err
			}
			var m snapMeta
			if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
				return err
			}
			file, err := os.ReadFile(filepath.Join(dir, m.File))
			if err != nil {
				return err
			}
			edit(&m, file)
			b, _ := json.Marshal(m)
			return txn.Set([]byte(keySnapshotMeta), b)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reopen := func() Stats {
		t.Helper()
		s := openTestStore(t, dir, func(o *Options) { o.SnapshotInterval = 0 })
		st := s.Stats()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return st
	}
	rewrite(func(m *snapMeta, file []byte) {
		if m.CRCPoly != "castagnoli" || m.CRC != crc32.Checksum(file, castagnoli) {
			t.Errorf("a new snapshot's checksum: %q %x", m.CRCPoly, m.CRC)
		}
		m.CRC, m.CRCPoly = crc32.ChecksumIEEE(file), ""
	})
	if st := reopen(); st.Events != 2 || st.SnapshotSeq == 0 || st.SnapshotSeq != st.LastSeq {
		t.Fatalf("IEEE snapshot not used: %+v", st)
	}
	rewrite(func(m *snapMeta, file []byte) { m.CRC++ })
	if st := reopen(); st.Events != 2 || st.SnapshotSeq != 0 {
		t.Fatalf("a snapshot with a wrong checksum was used: %+v", st)
	}
}
