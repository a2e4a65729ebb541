package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestAtomicFileAppearsOnlyWhole: while an output is written (and so after
// a kill -9 part-way), its name holds nothing new: no file, or the old one
// untouched; a failed write leaves no trace; a finished one is whole.
func TestAtomicFileAppearsOnlyWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	a, err := createAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteString("line 1\n")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the name exists before the file is whole: %v", err)
	}
	if err := a.finish(nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "line 1\n" {
		t.Fatalf("finished file holds %q", b)
	}

	a, err = createAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteString("half of a second export")
	if b, _ := os.ReadFile(path); string(b) != "line 1\n" {
		t.Fatalf("the old file changed while the new one was written: %q", b)
	}
	failed := errors.New("export failed")
	if err := a.finish(failed); err != failed {
		t.Fatalf("finish: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "line 1\n" {
		t.Fatalf("a failed export replaced the old file: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}
