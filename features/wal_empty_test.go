package features

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestEmptyLogDoesNotBrickTheStore: a write-ahead log or value log file
// left empty by a kill during its creation (CI met a write-ahead log after
// serve was stopped while Badger opened) made every later open fail with
// Badger's "while opening fid: N err: Create a new file"; the store opens,
// events intact.
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
