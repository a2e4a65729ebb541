package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/affinity-rec/affinity/recommend"
)

// TestConfigScatterBudget checks that personal_scatter_budget reaches the
// engine, 0 included (no bound), and that its absence keeps the default.
func TestConfigScatterBudget(t *testing.T) {
	for _, c := range []struct {
		body string
		want int
	}{
		{`{}`, recommend.DefaultOptions().ScatterBudget},
		{`{"personal_scatter_budget": 0}`, 0},
		{`{"personal_scatter_budget": 2048}`, 2048},
	} {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		fc, err := readConfig(path)
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if got := fc.engineOptions().ScatterBudget; got != c.want {
			t.Errorf("%s: budget %d, want %d", c.body, got, c.want)
		}
	}
}
