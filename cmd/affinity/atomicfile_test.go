package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAtomicFileAppearsOnlyWhole: while an output is written (and so after
// a kill -9 part-way), its name holds nothing new: no file, or the old one
// untouched; a failed write leaves no trace; a finished one is whole.
func TestAtomicFileAppearsOnlyWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	a, err := createAtomic(path, io.Discard)
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

	a, err = createAtomic(path, io.Discard)
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

// TestExportOfNoStoreIsRefused: export --data of a directory without a
// store (a typo) is an error and creates nothing; it exported empty lists
// for every id of the file from a store it had just created.
func TestExportOfNoStoreIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	ids := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(ids, []byte("c1\nc2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.ndjson")
	var buf bytes.Buffer
	err := run(context.Background(), []string{"export", "--data", dir, "--customers", ids, "--out", out}, &buf, &buf)
	if err == nil || !strings.Contains(err.Error(), "no affinity store") {
		t.Fatalf("export of no store: %v\n%s", err, buf.String())
	}
	for _, p := range []string{dir, out} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was created", p)
		}
	}
}
