package features

import (
	"fmt"
	"sync/atomic"
	"time"
)

// ErrDiskFull is returned by writes refused because the data directory's
// file system has less free space than Options.MinFreeBytes.
var ErrDiskFull = fmt.Errorf("%w: not enough free disk space", ErrReadOnly)

// diskGuard refuses writes before the disk is actually full. Badger writes
// its memtables and tables through mmap, and a write into a mapped page of a
// full file system kills the process with SIGBUS rather than returning an
// error; so the only clean answer to "disk full" is not to get there. Free
// space is read (freeBytes: statfs, or GetDiskFreeSpaceEx on Windows) at most once a second. Safe for concurrent use.
type diskGuard struct {
	dir     string
	min     uint64
	low     atomic.Bool
	checked atomic.Int64
	free    atomic.Uint64
}

func (g *diskGuard) check() error {
	if g == nil || g.min == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if last := g.checked.Load(); now-last > int64(time.Second) && g.checked.CompareAndSwap(last, now) {
		if free, err := freeBytes(g.dir); err == nil {
			g.free.Store(free)
			g.low.Store(free < g.min)
		}
	}
	if g.low.Load() {
		return fmt.Errorf("%w (%d MiB free in %s, %d MiB required)", ErrDiskFull, g.free.Load()>>20, g.dir, g.min>>20)
	}
	return nil
}
