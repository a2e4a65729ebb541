package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// atomicFile is an output file that appears under its name only when it is
// whole: it is written as a temporary file beside it and renamed into place
// after an fsync. A process killed part-way (kill -9, a lost machine)
// leaves at most a *.partial file, never a short file under the real name
// that a script would take for a complete one; an existing file of that
// name stays as it was until the new one replaces it.
type atomicFile struct {
	*os.File
	path string
}

func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	return &atomicFile{File: f, path: path}, nil
}

// finish makes the file whole when err is nil (sync, close, rename) and
// throws it away otherwise; it returns err or the first error of its own.
func (a *atomicFile) finish(err error) error {
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
