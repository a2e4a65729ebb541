package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/affinity-rec/affinity/features/leftover"
)

// atomicFile is an output file that appears under its name only when it is
// whole: it is written as a temporary file beside it and renamed into place
// after an fsync. A process killed part-way (kill -9, a lost machine)
// leaves at most a *.partial file, never a short file under the real name
// that a script would take for a complete one; an existing file of that
// name stays as it was until the new one replaces it.
type atomicFile struct {
	*os.File
	path    string
	release func() // lets go of the temporary's claim (features/leftover)
}

// createAtomic starts the output file path. It first removes the partial
// files of path that killed runs left (leftover.Sweep: unclaimed, a minute
// old), saying so on note, and claims its own so that no other run removes
// it.
func createAtomic(path string, note io.Writer) (*atomicFile, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	for _, old := range leftover.Sweep(dir, "."+leftover.Escape(base)+".*.partial") {
		fmt.Fprintf(note, "removed %s, the partial output of an interrupted run\n", old)
	}
	f, err := os.CreateTemp(dir, "."+base+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	return &atomicFile{File: f, path: path, release: leftover.Claim(f.Name())}, nil
}

// finish makes the file whole when err is nil (sync, close, rename) and
// throws it away otherwise; it returns err or the first error of its own.
func (a *atomicFile) finish(err error) error {
	defer a.release()
	tmp := a.File.Name()
	if err == nil {
		err = a.File.Sync()
	}
	if cerr := a.File.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		if err = os.Rename(tmp, a.path); err != nil {
			err = fmt.Errorf("cannot write %s: %w", a.path, err)
		}
	}
	if err == nil {
		err = syncParent(a.path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// syncParent makes the rename of path durable.
func syncParent(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
