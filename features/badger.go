package features

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/dgraph-io/badger/v4"

	"github.com/affinity-rec/affinity/features/leftover"
)

// Badger's memtable sizes. Every process that opens a store must be able
// to replay the write-ahead logs (*.mem) another left behind, whatever size
// that one used: see openBadger.
const (
	memTableSize = 32 << 20
	// bulkMemTableSize: fewer, larger level-0 tables during a bulk import
	// (Badger's compactions took a fifth of a 10M-event import's CPU with
	// 32 MB memtables).
	bulkMemTableSize = 128 << 20
)

func badgerOptions(o Options) badger.Options {
	bo := badger.DefaultOptions(o.Dir).
		WithLogger(badgerLogger{o.Logger}).
		WithSyncWrites(false).
		WithInMemory(o.InMemory).
		// Small caches keep the resident set low; the hot data lives in the
		// derived in-memory state, not in Badger's block cache.
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(32 << 20).
		WithMemTableSize(memTableSize).
		WithNumMemtables(3).
		WithValueThreshold(1 << 10).
		WithNumVersionsToKeep(1).
		// Four compactors (Badger's default) on a 2-core machine took both
		// cores and 0.5-0.75 GB of table-builder buffers at once when the
		// deep levels of a 10M-event store were compacted under writes,
		// and ingestion stalled for 10 s. One per core, at least the two
		// Badger needs.
		WithNumCompactors(min(4, max(2, runtime.GOMAXPROCS(0))))
	if o.BulkLoad {
		bo = bo.WithMemTableSize(bulkMemTableSize)
	}
	if o.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	return bo
}

// openBadger opens o's Badger directory. A process killed with unflushed
// memtables leaves their write-ahead logs, which Badger replays on open into
// memtables of the opener's size: a 128 MB import's log does not fit the
// 32 MB ones of serve ("Arena too small"), and the store would open only
// in another import. So when a log was written with larger memtables than
// o asks for, the store is first opened with that size, which replays the
// logs and flushes them to tables on close, then opened as asked.
func openBadger(o Options) (*badger.DB, error) {
	bo := badgerOptions(o)
	if !o.InMemory {
		removed, err := removeEmptyLogs(o.Dir)
		if err != nil {
			return nil, err
		}
		for _, name := range removed {
			o.Logger.Warn("removed an empty Badger log an interrupted run left", "dir", o.Dir, "file", name)
		}
		size, err := walMemTableSize(o.Dir)
		if err != nil {
			return nil, err
		}
		if size > bo.MemTableSize {
			o.Logger.Warn("replaying write-ahead logs of an interrupted run with its memtable size",
				"dir", o.Dir, "memtable_bytes", size)
			db, err := badger.Open(bo.WithMemTableSize(size))
			if err != nil {
				return nil, err
			}
			if err := db.Close(); err != nil {
				return nil, fmt.Errorf("cannot flush the write-ahead logs: %w", err)
			}
		}
	}
	return badger.Open(bo)
}

// openBadgerDir opens dir's Badger with the default options, for the
// commands that read or load Badger's keys without opening the store
// (backup, restore).
func openBadgerDir(dir string, log *slog.Logger) (*badger.DB, error) {
	o := DefaultOptions(dir)
	o.Logger = log
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return openBadger(o.withDefaults())
}

// walMemTableSize returns the memtable size the largest write-ahead log in
// dir was made for (0 when there is none). Badger creates each log file at
// twice its memtable size and never shrinks it, so the file records the
// size whatever build or options wrote it (also stores of builds before
// this check).
func walMemTableSize(dir string) (int64, error) {
	var size int64
	err := eachLog(dir, func(name string, bytes int64) error {
		if strings.HasSuffix(name, ".mem") {
			size = max(size, bytes/2)
		}
		return nil
	})
	return size, err
}

// removeEmptyLogs removes dir's empty write-ahead and value logs and
// returns their names. A log whose creation was cut short (a kill, or serve
// stopped while Badger opened) has no header and no entry: Badger creates
// the file, then sizes it. Badger takes an empty file for a new one and
// refuses to open the store ("while opening fid: 1 err: Create a new
// file"; TestServeStopsWhileLoading met it in CI), so it goes; no key can
// point into an empty value log. Nothing is removed while another process
// has the store open: that one may have created a log a moment ago, and
// its lock stops this open anyway.
func removeEmptyLogs(dir string) ([]string, error) {
	release, owner := leftover.Hold(dir)
	defer release()
	if !owner {
		return nil, nil
	}
	var removed []string
	err := eachLog(dir, func(name string, bytes int64) error {
		if bytes > 0 {
			return nil
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
		removed = append(removed, name)
		return nil
	})
	return removed, err
}

// eachLog calls f with the name and size of each of dir's Badger logs
// (*.mem, *.vlog); a missing dir has none.
func eachLog(dir string, f func(name string, bytes int64) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !(strings.HasSuffix(name, ".mem") || strings.HasSuffix(name, ".vlog")) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if err := f(name, fi.Size()); err != nil {
			return err
		}
	}
	return nil
}

// classifyErr maps low-level write failures to ErrReadOnly so callers can
// answer "not ready" rather than crash.
func classifyErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EPERM) || errors.Is(err, badger.ErrBlockedWrites) {
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	// Some of Badger's errors carry the system error only in their text.
	msg := err.Error()
	for _, t := range []string{syscall.EROFS.Error(), syscall.ENOSPC.Error(), syscall.EACCES.Error()} {
		if strings.Contains(msg, t) {
			return fmt.Errorf("%w: %w", ErrReadOnly, err)
		}
	}
	return err
}

// badgerLogger passes Badger's log to the store's logger (none: dropped).
// Its info lines (compactions, "L0 was stalled") are at debug level
// (log_level "debug"), where they can be lined up with a write that
// waited; a stall of level 0 held every write, so it is a warning.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a) }
func (b badgerLogger) Debugf(string, ...any)       {}

func (b badgerLogger) Infof(f string, a ...any) {
	if strings.HasPrefix(f, "L0 was stalled") {
		b.log(slog.LevelWarn, f, a)
		return
	}
	b.log(slog.LevelDebug, f, a)
}

func (b badgerLogger) log(level slog.Level, f string, a []any) {
	if b.l == nil || !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, "badger: "+strings.TrimSpace(fmt.Sprintf(f, a...)))
}
