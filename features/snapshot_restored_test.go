package features

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRestoredStoreSaysWhyItReplays: a restored backup holds the header
// naming the source's snapshot file but not the file; its first start
// replays the log and says so plainly, not as a warning that a snapshot was
// unusable (which sent operators looking for a corruption).
func TestRestoredStoreSaysWhyItReplays(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(500, 60, 40, 3, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close() // writes the snapshot and its header
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
	out := logs.String()
	if !strings.Contains(out, "the snapshot file is not in the directory") {
		t.Errorf("the first start did not say why it replays:\n%s", out)
	}
	if strings.Contains(out, "level=WARN") {
		t.Errorf("the first start of a restored store warned:\n%s", out)
	}
}
