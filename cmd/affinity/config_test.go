package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// TestConfigMaxFutureSkew: the max_future_skew key reaches the store
// options, defaults to a day, and a bad duration is a clear error.
func TestConfigMaxFutureSkew(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		body string
		want time.Duration
		bad  bool
	}{
		{`{}`, features.DefaultMaxFutureSkew, false},
		{`{"max_future_skew":"90m"}`, 90 * time.Minute, false},
		{`{"max_future_skew":"-1h"}`, 0, true},
		{`{"max_future_skew":"1d"}`, 0, true},
	} {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		fc, err := readConfig(path)
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		o, err := fc.storeOptions(t.TempDir(), quiet)
		if c.bad {
			if err == nil {
				t.Errorf("%s: accepted", c.body)
			}
			continue
		}
		if err != nil || o.MaxFutureSkew != c.want {
			t.Errorf("%s: %v, %v; want %v", c.body, o.MaxFutureSkew, err, c.want)
		}
	}
}
