package features

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestRestoredStoreReplaysWithoutWarning: a backup holds the header naming
// the source's snapshot file but not the file. The restore drops the
// header, so the first start replays the log as a store without a
// snapshot does, and keeps its warning for a file that goes missing from a
// store that had it (which means someone removed it).
func TestRestoredStoreReplaysWithoutWarning(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(500, 60, 40, 3, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close() // writes the snapshot file and its header
	s = openTestStore(t, dir, nil)
	restored := restoredCopy(t, s)
	var logs bytes.Buffer
	r := openTestStore(t, restored, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if got, want := r.Stats().Events, s.Stats().Events; got != want {
		t.Fatalf("restored store has %d events, the source %d", got, want)
	}
	r.Close() // no background goroutine logs while the buffer is read
	if out := logs.String(); strings.Contains(out, "level=WARN") {
		t.Errorf("the first start of a restored store warned:\n%s", out)
	}

	// The source, its snapshot file removed behind its back, still warns.
	var meta snapMeta
	if err := s.readSnapMeta(&meta); err != nil || meta.File == "" {
		t.Fatalf("the source has no snapshot file to remove (%v, %+v)", err, meta)
	}
	s.Close()
	if err := removeSnapshotFiles(dir); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	w := openTestStore(t, dir, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	w.Close()
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "snapshot unusable") {
		t.Errorf("a store whose snapshot file went missing did not warn:\n%s", out)
	}
}

// TestRestoreSnapshotKeepsTheHeader: a cluster bootstrap brings the file
// beside the backup, so RestoreSnapshot keeps the header that names it.
func TestRestoreSnapshotKeepsTheHeader(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(300, 40, 30, 2, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir, nil)
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		restore func(string) error
		header  bool
	}{
		{"Restore", func(d string) error { return Restore(d, bytes.NewReader(buf.Bytes()), s.log) }, false},
		{"RestoreSnapshot", func(d string) error { return RestoreSnapshot(d, bytes.NewReader(buf.Bytes()), s.log) }, true},
	} {
		d := t.TempDir()
		if err := c.restore(d); err != nil {
			t.Fatal(err)
		}
		db, err := badger.Open(badger.DefaultOptions(d).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(func(txn *badger.Txn) error { _, err := txn.Get([]byte(keySnapshotMeta)); return err })
		db.Close()
		if has := err == nil; has != c.header {
			t.Errorf("%s: snapshot header present %v, want %v (%v)", c.name, has, c.header, err)
		}
	}
}

// removeSnapshotFiles removes dir's snapshot files, as an operator or a
// cleaner might.
func removeSnapshotFiles(dir string) error {
	names, err := filepath.Glob(filepath.Join(dir, "snapshot-*.bin"))
	if err != nil || len(names) == 0 {
		return fmt.Errorf("no snapshot file in %s (%v)", dir, err)
	}
	for _, n := range names {
		if err := os.Remove(n); err != nil {
			return err
		}
	}
	return nil
}
