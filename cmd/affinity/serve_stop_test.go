package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServeStopsWhileLoading: SIGTERM to a server still loading a store
// that has no snapshot (it rebuilds the model, which took 41-115 s after
// an interrupted import) ends it at once with status 0, instead of after
// the load and a start of listening; the store then loads again.
func TestServeStopsWhileLoading(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	bin := affinityBinary(t)
	dir := t.TempDir()
	if out, err := exec.Command(bin, "import", "--data", dir, "--format", "online-retail",
		"../../testdata/demo/online_retail_sample.csv.gz").CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshot-*"))
	if len(snaps) == 0 {
		t.Fatal("the import left no snapshot to remove")
	}
	for _, s := range snaps {
		os.RemoveAll(s)
	}
	cmd := exec.Command(bin, "serve", "--data", dir, "--addr", freeAddr(t))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "loading the store") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("never started loading:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "serving") {
		t.Fatalf("the load was finished and the server started before the stop was honoured:\n%s", out.String())
	}
	c := startChild(t, dir) // the abandoned load leaves a store that opens
	c.kill()
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
