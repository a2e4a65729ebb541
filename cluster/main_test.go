package cluster

import (
	"os"
	"testing"
)

// TestMain shuts the shared cluster down (and removes its store) after all
// tests and benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared3 != nil {
		shared3.Shutdown()
	}
	os.Exit(code)
}
