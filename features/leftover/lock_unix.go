//go:build unix

package leftover

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive flock on path (a file or a directory) without
// waiting. It opens path anew: flock belongs to an open file description,
// so this lock also excludes the owner's own writing descriptor from a
// second lock, and stays while the owner closes that descriptor (a backup
// closes its file before the rename). busy says another holds it.
func lock(path string) (f *os.File, busy bool, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, true, nil
		}
		return nil, false, err
	}
	return f, false, nil
}

// supported says whether Claim and Sweep do anything here.
const supported = true
