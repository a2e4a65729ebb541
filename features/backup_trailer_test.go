package features

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordEnds are the offsets where each record of a backup file ends.
func recordEnds(b []byte) []int {
	var ends []int
	for off := 0; off+8 <= len(b); {
		off += 8 + int(binary.LittleEndian.Uint64(b[off:]))
		ends = append(ends, off)
	}
	return ends
}

// TestRestoreRefusesATruncatedBackup cuts a backup at several offsets
// (nothing, the header alone, every record boundary before the trailer,
// inside a record, one byte short) and checks that each is refused and
// leaves no store behind. Badger's stream alone has no end marker: a file
// cut between two records restored as a smaller store, and an empty file
// as an empty one.
func TestRestoreRefusesATruncatedBackup(t *testing.T) {
	if testing.Short() {
		// Ten restores of a 5 MB file, one goroutine's work: 3 s, but 30 s
		// under the race detector, whose pass (make test) is -short.
		t.Skip("ten restores; runs without -short")
	}
	s := openTestStore(t, "", nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(80000, 6000, 500, 3, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	ends := recordEnds(full)
	if len(ends) < 4 || ends[len(ends)-1] != len(full) {
		t.Fatalf("want a header, at least two data records and a trailer; record ends %v of %d bytes", ends, len(full))
	}
	cuts := append([]int{0, 5}, ends[:len(ends)-1]...)
	cuts = append(cuts, ends[1]+100, len(full)-1)
	parent := t.TempDir()
	for i, n := range cuts {
		dir := filepath.Join(parent, "r", strings.Repeat("x", i+1))
		err := Restore(dir, bytes.NewReader(full[:n]), s.log)
		if !errors.Is(err, ErrBackupIncomplete) {
			t.Errorf("cut at %d of %d bytes: restore says %v, want incomplete", n, len(full), err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("cut at %d: the refused restore left %d entries in %s", n, len(entries), dir)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(parent, "r")); len(left) > 0 {
		t.Errorf("refused restores left %d directories (temporary ones?)", len(left))
	}
	// Altered bytes, and two files joined, are refused too.
	bad := append([]byte(nil), full...)
	bad[ends[1]+50] ^= 1
	if err := Restore(filepath.Join(parent, "bad"), bytes.NewReader(bad), s.log); !errors.Is(err, ErrBackupIncomplete) {
		t.Errorf("altered byte: restore says %v", err)
	}
	joined := append(append([]byte(nil), full...), full[:ends[0]]...)
	if err := Restore(filepath.Join(parent, "joined"), bytes.NewReader(joined), s.log); !errors.Is(err, ErrBackupIncomplete) {
		t.Errorf("joined files: restore says %v", err)
	}
	// The whole file restores.
	if err := Restore(filepath.Join(parent, "ok"), bytes.NewReader(full), s.log); err != nil {
		t.Fatal(err)
	}
	r := openTestStore(t, filepath.Join(parent, "ok"), nil)
	if a, b := s.Stats().Events, r.Stats().Events; a != b {
		t.Fatalf("events %d vs restored %d", a, b)
	}
}

// TestRestoreRefusesALegacyBackup: a file in Badger's bare format (what
// backups were before the header and trailer) cannot be checked for
// completeness, so it is refused with a message saying what to do.
func TestRestoreRefusesALegacyBackup(t *testing.T) {
	s, _, legacy := legacyBackup(t)
	dir := filepath.Join(t.TempDir(), "r")
	err := Restore(dir, bytes.NewReader(legacy), s.log)
	if !errors.Is(err, ErrBackupLegacy) || !strings.Contains(err.Error(), "badger restore") {
		t.Fatalf("legacy file: restore says %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused legacy restore left %s: %v", dir, err)
	}
}

// TestRestoreSnapshotLoadsALegacyBackup: a cluster bootstrap snapshot
// published by an older node (a bare Badger stream, checked whole by the
// object store's digest) is loaded by RestoreSnapshot, so a new node can
// join during a rolling upgrade; Restore keeps refusing it.
func TestRestoreSnapshotLoadsALegacyBackup(t *testing.T) {
	s, full, legacy := legacyBackup(t)
	ends := recordEnds(full)
	dir := filepath.Join(t.TempDir(), "r")
	if err := RestoreSnapshot(dir, bytes.NewReader(legacy), s.log); err != nil {
		t.Fatalf("legacy snapshot: %v", err)
	}
	r := openTestStore(t, dir, nil)
	if got, want := r.Stats().Events, s.Stats().Events; got != want || got == 0 {
		t.Fatalf("restored %d events, want %d", got, want)
	}
	// A whole current backup loads through it too, and a cut one does not.
	for _, c := range []struct {
		name string
		b    []byte
		ok   bool
	}{{"current", full, true}, {"cut", full[:ends[len(ends)-2]], false}} {
		err := RestoreSnapshot(filepath.Join(t.TempDir(), c.name), bytes.NewReader(c.b), s.log)
		if (err == nil) != c.ok {
			t.Errorf("%s backup: %v", c.name, err)
		}
	}
}

// legacyBackup backs up a store of 2,000 events and returns the store, the
// whole backup, and its data records alone: a file in Badger's bare format,
// as backups were before the header and trailer.
func legacyBackup(t *testing.T) (*Store, []byte, []byte) {
	t.Helper()
	s := openTestStore(t, "", nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(2000, 100, 50, 3, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(buf.Bytes())
	return s, buf.Bytes(), buf.Bytes()[ends[0]:ends[len(ends)-2]]
}
