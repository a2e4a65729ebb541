package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// requireStore refuses a data directory that holds no store: opening it
// would create an empty one, and a backup or an export of that succeeds
// with nothing in it (a typo in --data went unnoticed).
func requireStore(data, what string) error {
	if _, err := os.Stat(filepath.Join(data, "MANIFEST")); err != nil {
		return fmt.Errorf("%s holds no affinity store (no Badger MANIFEST): nothing to %s", data, what)
	}
	return nil
}
