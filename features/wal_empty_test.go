package features

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/affinity-rec/affinity/features/leftover"
)

// TestEmptyLogDoesNotBrickTheStore: a write-ahead log or value log file
// left empty by a kill during its creation (CI met a write-ahead log after
// serve was stopped while Badger opened) made the next open fail with
// Badger's "while opening fid: N err: Create a new file" (for a value log
// that failed open sized the file, and the one after it worked; CI's
// failed test was the first); the store opens at once, events intact.
func TestEmptyLogDoesNotBrickTheStore(t *testing.T) {
	for _, name := range []string{"00099.mem", "000099.vlog", "000002.vlog"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestStore(t, dir, nil)
			if _, err := s.Ingest(context.Background(), syntheticEvents(300, 40, 30, 2, true), IngestOptions{}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			r := openTestStore(t, dir, nil)
			if got := r.Stats().Events; got != 300 {
				t.Fatalf("%d events after the reopen, want 300", got)
			}
		})
	}
}

// TestEmptyLogKeptWhileTheStoreIsOpen: an empty log in a directory another
// process holds (Badger's lock) may be one that process created a moment
// ago, so it stays; the open that finds the lock fails anyway. Once the
// lock is free the next open removes it, and says so.
func TestEmptyLogKeptWhileTheStoreIsOpen(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no advisory locks here: leftover.Hold cannot see the holder")
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "000099.vlog")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	release, ok := leftover.Hold(dir)
	if !ok {
		t.Fatal("the test could not take the directory's lock")
	}
	if removed, err := removeEmptyLogs(dir); err != nil || len(removed) > 0 {
		t.Fatalf("with the directory held by another: removed %v (%v)", removed, err)
	}
	if _, err := os.Stat(empty); err != nil {
		t.Fatalf("the empty log went while the directory was held: %v", err)
	}
	release()
	if removed, err := removeEmptyLogs(dir); err != nil || len(removed) != 1 || removed[0] != "000099.vlog" {
		t.Fatalf("with the directory free: removed %v (%v)", removed, err)
	}
}
