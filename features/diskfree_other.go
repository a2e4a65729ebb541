//go:build !(linux || darwin || freebsd || windows)

package features

import "errors"

// freeBytes is not implemented here (the other BSDs name statfs's fields
// differently, and Plan 9 has none): the disk guard then never refuses a
// write, as with Options.MinFreeBytes = 0, rather than the build failing.
func freeBytes(string) (uint64, error) {
	return 0, errors.ErrUnsupported
}
