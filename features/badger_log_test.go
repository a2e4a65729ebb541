package features

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// logLines runs f with a badgerLogger over a JSON handler at level and
// returns the records it wrote.
func logLines(t *testing.T, level slog.Level, f func(badgerLogger)) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	f(badgerLogger{slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))})
	var out []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestBadgerLoggerLevels(t *testing.T) {
	// The format strings are Badger's own (levels.go).
	stall := func(b badgerLogger) { b.Infof("L0 was stalled for %s\n", "1.234s") }
	compact := func(b badgerLogger) { b.Infof("[%d] LOG Compact %d->%d", 0, 0, 5) }

	got := logLines(t, slog.LevelInfo, stall)
	if len(got) != 1 || got[0]["level"] != "WARN" || got[0]["msg"] != "badger: L0 was stalled for 1.234s" {
		t.Fatalf("level-0 stall at info level: %v, want one warning", got)
	}
	if got := logLines(t, slog.LevelInfo, compact); len(got) != 0 {
		t.Fatalf("compaction at info level: %v, want nothing", got)
	}
	got = logLines(t, slog.LevelDebug, compact)
	if len(got) != 1 || got[0]["level"] != "DEBUG" || got[0]["msg"] != "badger: [0] LOG Compact 0->5" {
		t.Fatalf("compaction at debug level: %v, want one debug line", got)
	}
	// Stores opened without a logger (some tests) drop Badger's log.
	for _, f := range []func(badgerLogger){stall, compact} {
		f(badgerLogger{})
	}
	badgerLogger{}.Errorf("x %d", 1)
}
