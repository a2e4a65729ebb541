//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// backupFixture imports n events into a store under parent and backs it
// up: the store's directory and the backup file.
func backupFixture(t *testing.T, parent string, n int) (string, string) {
	t.Helper()
	csv, store, bak := filepath.Join(parent, "ev.csv"), filepath.Join(parent, "src"), filepath.Join(parent, "full.bak")
	writeImportCSV(t, csv, n)
	if out, err := exec.Command(affinityBinary(t), "import", "--data", store, "--format", "csv", csv).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := exec.Command(affinityBinary(t), "backup", "--data", store, "--out", bak).CombinedOutput(); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	return store, bak
}

func storeEvents(t *testing.T, dir string) int {
	t.Helper()
	o := features.DefaultOptions(dir)
	o.Logger = quietLogger()
	s, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Stats().Events
}

// TestKilledRestoreLeavesNoStore kills `affinity restore` with SIGKILL
// while it reads its file (from a named pipe, so the point is the bytes
// fed, not a timing): with none of it, half of it, and all of it fed but
// the end of the file not yet reached. Each time the target must hold no
// store (restore loaded into it in place: the half-loaded store served as
// ready and a second restore refused it as not empty), and a fresh restore
// must then succeed with every event.
func TestKilledRestoreLeavesNoStore(t *testing.T) {
	parent := t.TempDir()
	src, bak := backupFixture(t, parent, 60000)
	full, err := os.ReadFile(bak)
	if err != nil {
		t.Fatal(err)
	}
	want := storeEvents(t, src)
	for i, fed := range []int{0, len(full) / 2, len(full)} {
		target := filepath.Join(parent, "target")
		fifo := filepath.Join(parent, "fifo")
		os.Remove(fifo)
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(affinityBinary(t), "restore", "--data", target, fifo)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until restore opens it
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(full[:fed]); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		// The writes returned: restore has read all but the pipe's buffer.
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		w.Close()
		if _, err := os.Stat(filepath.Join(target, "MANIFEST")); err == nil {
			t.Errorf("point %d (%d of %d bytes fed): the killed restore left a store at %s", i, fed, len(full), target)
		}
		os.RemoveAll(target) // keep the next point independent of this one's failure
	}
	// The killed restores left their directories beside the target; once
	// a minute old (aged here) the next restore removes them, and it
	// succeeds.
	leftovers, _ := filepath.Glob(filepath.Join(parent, ".target.restoring-*"))
	if len(leftovers) == 0 {
		t.Fatal("the killed restores left no directory: the sweep below tests nothing")
	}
	for _, l := range leftovers {
		ageLeftover(t, l)
	}
	target := filepath.Join(parent, "target")
	out, err := exec.Command(affinityBinary(t), "restore", "--data", target, bak).CombinedOutput()
	if err != nil {
		t.Fatalf("fresh restore: %v\n%s", err, out)
	}
	if got := storeEvents(t, target); got != want {
		t.Fatalf("restored %d events, the source has %d", got, want)
	}
	if still, _ := filepath.Glob(filepath.Join(parent, ".target.restoring-*")); len(still) > 0 {
		t.Errorf("the fresh restore left %v of the killed ones\n%s", still, out)
	}
	if !strings.Contains(string(out), "interrupted restore") {
		t.Errorf("the fresh restore did not say what it removed:\n%s", out)
	}
}

// ageLeftover makes a killed run's temporary look old enough to sweep
// (features/leftover sweeps only those a minute old).
func ageLeftover(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// TestKilledBackupPartialIsSwept: `kill -9` of a backup part-way leaves
// its partial file (a SIGINT removes it; a SIGKILL cannot), and the next
// backup to the same --out removes it, says so, and writes the backup.
func TestKilledBackupPartialIsSwept(t *testing.T) {
	b := startStoppedBackup(t)
	src, outDir, out, partial := b.src, b.outDir, b.out, b.partial
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.done
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("the killed backup wrote %s", out)
	}
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("the killed backup left no partial file: %v", err)
	}
	ageLeftover(t, partial)
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"backup", "--data", src, "--out", out}, io.Discard, &stderr); err != nil {
		t.Fatalf("the next backup: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("the next backup left %s: %v", partial, err)
	}
	if !strings.Contains(stderr.String(), "removed "+partial) {
		t.Errorf("the next backup did not say what it removed: %q", stderr.String())
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
		t.Errorf("%d entries in %s after the next backup, want the backup alone", len(entries), outDir)
	}
}

// TestInterruptedBackupLeavesNoFile sends SIGINT to `affinity backup`
// while it writes (stopped with SIGSTOP once bytes are on disk, so it
// cannot finish first): it must exit non-zero with nothing at --out. It
// ignored the signal and said "written".
func TestInterruptedBackupLeavesNoFile(t *testing.T) {
	b := startStoppedBackup(t)
	src, outDir, out, cmd, done, log := b.src, b.outDir, b.out, b.cmd, b.done, &b.log
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Process.Signal(syscall.SIGCONT)
	err := <-done
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("interrupted backup exited %v:\n%s", err, log.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("interrupted backup left %s:\n%s", out, log.String())
	}
	if entries, _ := os.ReadDir(outDir); len(entries) > 0 {
		t.Errorf("interrupted backup left %d files in %s", len(entries), outDir)
	}
	// A backup written into the store's own directory is refused.
	inside := filepath.Join(src, "b.bak")
	err = run(context.Background(), []string{"backup", "--data", src, "--out", inside}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "inside the data directory") {
		t.Errorf("backup into the data directory: %v", err)
	}
	if _, err := os.Stat(inside); err == nil {
		t.Errorf("backup into the data directory wrote %s", inside)
	}
}

// TestBackupAndRestoreRefuseNothing: a backup of a directory that holds no
// store created an empty store there and wrote a backup of it; a restore
// of an empty file made an empty store.
func TestBackupAndRestoreRefuseNothing(t *testing.T) {
	parent := t.TempDir()
	typo := filepath.Join(parent, "typo-dir")
	err := run(context.Background(), []string{"backup", "--data", typo, "--out", filepath.Join(parent, "typo.bak")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no affinity store") {
		t.Errorf("backup of a missing store: %v", err)
	}
	if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup of a missing store created %s", typo)
	}
	if _, err := os.Stat(filepath.Join(parent, "typo.bak")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup of a missing store wrote a file")
	}
	empty := filepath.Join(parent, "empty.bak")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(parent, "rE")
	err = run(context.Background(), []string{"restore", "--data", target, empty}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("restore of an empty file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, "MANIFEST")); err == nil {
		t.Errorf("restore of an empty file left a store")
	}
}

// stoppedBackup is `affinity backup` of a fresh 60k-event store into an
// empty directory, stopped (SIGSTOP) once its partial file has bytes, so
// that it cannot finish before the test signals it.
type stoppedBackup struct {
	src, outDir, out, partial string
	cmd                       *exec.Cmd
	log                       bytes.Buffer
	done                      chan error // the backup's exit
}

func startStoppedBackup(t *testing.T) *stoppedBackup {
	t.Helper()
	parent := t.TempDir()
	b := &stoppedBackup{done: make(chan error, 1)}
	b.src, _ = backupFixture(t, parent, 60000)
	b.outDir = filepath.Join(parent, "out")
	if err := os.Mkdir(b.outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.out = filepath.Join(b.outDir, "b.bak")
	b.cmd = exec.Command(affinityBinary(t), "backup", "--data", b.src, "--out", b.out)
	b.cmd.Stdout, b.cmd.Stderr = &b.log, &b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	for b.partial == "" {
		select {
		case err := <-b.done:
			t.Fatalf("backup finished before it could be stopped (%v):\n%s", err, b.log.String())
		default:
		}
		entries, _ := os.ReadDir(b.outDir)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Size() > 0 {
				b.partial = filepath.Join(b.outDir, e.Name())
			}
		}
		time.Sleep(time.Millisecond)
	}
	b.cmd.Process.Signal(syscall.SIGSTOP)
	return b
}
