package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// A bootstrap snapshot object is
//
//	"AFFBOOT1" | u16 name length | name | u64 size | the derived-state file (size bytes) | Badger backup
//
// or, when the writer had no derived-state file, the header with an empty
// name and size 0. The derived file comes first because its size is known
// (the backup's is not until it is written), so the object streams in one
// pass both ways. An object without the magic is a bare Badger backup.
var bootMagic = []byte("AFFBOOT1")

// writeBootstrap writes view (and its derived-state file, if any) to w.
func writeBootstrap(w io.Writer, view *features.BackupView) error {
	name, f := view.Derived()
	var size int64
	if f != nil {
		st, err := f.Stat()
		if err != nil {
			name, f = "", nil
		} else {
			size = st.Size()
		}
	}
	hdr := append([]byte(nil), bootMagic...)
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(name)))
	hdr = append(hdr, name...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(size))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if f != nil {
		if _, err := io.CopyN(w, io.NewSectionReader(f, 0, size), size); err != nil {
			return fmt.Errorf("copying the derived-state file: %w", err)
		}
	}
	_, err := view.WriteTo(w)
	return err
}

// restoreBootstrap restores a bootstrap object from r into the empty dir:
// the derived-state file goes to a temporary file beside dir while the
// backup is loaded, then into dir under its name.
func restoreBootstrap(dir string, r io.Reader, log *slog.Logger) error {
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(len(bootMagic))
	if err != nil || !bytes.Equal(head, bootMagic) {
		return features.RestoreSnapshot(dir, br, log)
	}
	br.Discard(len(bootMagic))
	var n uint16
	if err := binary.Read(br, binary.BigEndian, &n); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	nameB := make([]byte, n)
	var size uint64
	if _, err := io.ReadFull(br, nameB); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	if err := binary.Read(br, binary.BigEndian, &size); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	name := string(nameB)
	if name != "" && (filepath.Base(name) != name || !strings.HasPrefix(name, "snapshot-")) {
		return fmt.Errorf("snapshot header names %q, not a derived-state file", name)
	}
	tmp := ""
	if name != "" {
		tmp = filepath.Clean(dir) + ".derived.tmp"
		if err := copyToFile(tmp, io.LimitReader(br, int64(size)), int64(size)); err != nil {
			return err
		}
		defer os.Remove(tmp)
	}
	if err := features.RestoreSnapshot(dir, br, log); err != nil {
		return err
	}
	if tmp != "" {
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("placing the derived-state file: %w", err)
		}
	}
	return nil
}

func copyToFile(path string, r io.Reader, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("derived-state file: %w", err)
	}
	n, err := io.Copy(f, r)
	if err == nil && n != size {
		err = fmt.Errorf("snapshot truncated: %d of %d bytes of the derived-state file", n, size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
