//go:build !linux

package features

// readSnapshotFile reads the snapshot into memory (Linux maps it instead).
func readSnapshotFile(path string) ([]byte, func(), error) { return readSnapshotCopy(path) }
