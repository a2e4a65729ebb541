package features

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestDiskFullIsAClearError fills a small tmpfs: writes must be refused with
// ErrDiskFull (a 503 upstream) and readiness must say so, instead of Badger
// dying of SIGBUS on a full mmap; everything acknowledged must survive.
// It needs root to mount a tmpfs and skips otherwise.
func TestDiskFullIsAClearError(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	// Registered first, so it runs after the stores' cleanups close them.
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := dir + "/store"
	mod := func(o *Options) { o.MinFreeBytes = 100 << 20 }
	s := openTestStore(t, path, mod)
	accepted := 0
	var err error
	for i := 0; i < 400 && err == nil; i++ {
		evs := syntheticEvents(5000, 100000, 50000, int64(i), true)
		for j := range evs {
			evs[j].EventID = fmt.Sprintf("%d-%d-%s", i, j, strings.Repeat("x", 150))
			evs[j].OrderID = fmt.Sprintf("order-%d-%d-%s", i, j, strings.Repeat("y", 150))
		}
		var res IngestResult
		res, err = s.Ingest(context.Background(), evs, IngestOptions{})
		accepted += res.Accepted - res.Duplicates
	}
	if err == nil {
		t.Fatal("160 MiB never filled up")
	}
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write error %v is not ErrDiskFull", err)
	}
	if rerr := s.Ready(); !errors.Is(rerr, ErrDiskFull) {
		t.Fatalf("Ready() = %v while the disk is full", rerr)
	}
	s.Close()
	s2 := openTestStore(t, path, func(o *Options) { o.MinFreeBytes = 1 })
	if got := s2.Stats().Events; got != accepted {
		t.Fatalf("after reopening: %d events, %d acknowledged", got, accepted)
	}
}

// TestReadOnlyDirectoryIsAClearError: a store on a file system that became
// read-only does not open half-way or panic; the error says why.
func TestReadOnlyDirectoryIsAClearError(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := dir + "/store"
	o := DefaultOptions(path)
	o.MinFreeBytes = 1
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(context.Background(), []Event{{CustomerID: "c", ProductID: "p", Type: "view"}}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	_, err = Open(o)
	if err == nil {
		t.Fatal("opened a store on a read-only file system")
	}
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("error does not say the store cannot write: %v", err)
	}
}
