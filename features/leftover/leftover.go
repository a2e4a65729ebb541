package leftover

import (
	"os"
	"path/filepath"
	"time"
)

// minAge is how old a temporary must be before Sweep removes it even when
// unlocked: an owner makes its temporary and then Claims it, and a sweep
// in between must not take it.
const minAge = time.Minute

// Claim locks the temporary at path for as long as the caller works on it
// and returns the function that lets it go (call it after the rename or
// removal). Where locks are not supported, or the lock fails, it returns a
// function that does nothing: the temporary is then never swept while it
// is younger than minAge, and the work goes on as before.
func Claim(path string) (release func()) {
	release, _ = Hold(path)
	return release
}

// Hold takes the lock an owner of path holds (a running Badger holds it on
// its directory) for the caller, for a change only an owner may make. ok
// is false when another process holds it; release lets it go. Where locks
// are not supported, or the lock fails for another reason, ok is true and
// release does nothing: the caller goes on as it would have without.
func Hold(path string) (release func(), ok bool) {
	if !supported {
		return func() {}, true
	}
	f, busy, err := lock(path)
	if busy {
		return func() {}, false
	}
	if err != nil || f == nil {
		return func() {}, true
	}
	return func() { f.Close() }, true
}

// Sweep removes the entries of dir whose names match pattern
// (filepath.Match) that no process holds and that are at least minAge old,
// and returns the names it removed. Errors are not returned: a leftover that cannot be
// removed stays, as it would have without Sweep.
func Sweep(dir, pattern string) []string {
	if !supported {
		return nil
	}
	// The directory is read, not globbed: a '[' or '*' in its path would
	// make Glob look in other directories.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if ok, err := filepath.Match(pattern, e.Name()); !ok || err != nil {
			continue
		}
		if name := filepath.Join(dir, e.Name()); sweepOne(name) {
			removed = append(removed, name)
		}
	}
	return removed
}

func sweepOne(name string) bool {
	fi, err := os.Lstat(name)
	if err != nil || time.Since(fi.ModTime()) < minAge || fi.Mode()&os.ModeSymlink != 0 {
		return false
	}
	f, busy, err := lock(name)
	if busy || err != nil {
		return false
	}
	defer f.Close()
	return os.RemoveAll(name) == nil
}

// Escape quotes the characters of name that filepath.Match would read as a
// pattern, so that a pattern built around an output's name matches only
// that name.
func Escape(name string) string {
	var b []byte
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '*', '?', '[', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
