//go:build linux || darwin || freebsd

package features

import "golang.org/x/sys/unix"

// freeBytes is the space an unprivileged writer may still use on dir's file
// system (statfs's available blocks, not the free ones root keeps for itself).
// The field types differ between the Unixes (FreeBSD's Bavail is signed), so
// both are converted rather than multiplied as they come.
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
