package features

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestEmptyWALDoesNotBrickTheStore: a write-ahead log file left empty by
// a kill during its creation (CI met one after serve was stopped while
// Badger opened) made every later open fail with Badger's "while opening
// fid: N err: Create a new file"; the store opens, events intact.
func TestEmptyWALDoesNotBrickTheStore(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(300, 40, 30, 2, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, "00099.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := openTestStore(t, dir, nil)
	if got := r.Stats().Events; got != 300 {
		t.Fatalf("%d events after the reopen, want 300", got)
	}
}
