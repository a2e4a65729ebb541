//go:build windows

package features

import "golang.org/x/sys/windows"

// freeBytes is the space the calling user may still use on dir's volume
// (quotas included), as GetDiskFreeSpaceEx reports it.
func freeBytes(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, err
	}
	return avail, nil
}
