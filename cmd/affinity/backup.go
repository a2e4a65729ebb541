package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// runBackup writes the backup to a temporary file beside --out, syncs it
// and renames it into place only when the whole store (and the trailer)
// is in it: an interrupted, failed or killed backup never leaves a file at
// --out, and never truncates one that was there.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("AFFINITY_DATA", "./data"), "data directory (Badger)")
	out := fs.String("out", "", "backup file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup needs --out FILE")
	}
	if err := checkBackupPaths(*data, *out); err != nil {
		return err
	}
	f, err := createAtomic(*out, stderr)
	if err != nil {
		return err
	}
	// Badger alone: opening the store would load it, and rebuild its
	// model when the snapshot is not current, for nothing.
	n, err := features.BackupClosed(*data, ctxWriter{ctx, f}, quietLogger())
	if err = f.finish(err); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("backup interrupted, nothing written to %s", *out)
		}
		return openErr(err, *data)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s (%d bytes)\n", *data, *out, n)
	return nil
}

// checkBackupPaths refuses a data directory that holds no store (opening
// it would create an empty one, and back that up) and an --out inside it.
func checkBackupPaths(data, out string) error {
	if err := requireStore(data, "back up"); err != nil {
		return err
	}
	d, err1 := filepath.EvalSymlinks(data)
	o, err2 := filepath.EvalSymlinks(filepath.Dir(out))
	if err2 != nil {
		return fmt.Errorf("cannot write the backup in %s: %w", filepath.Dir(out), err2)
	}
	if err1 == nil {
		d, _ = filepath.Abs(d)
		o, _ = filepath.Abs(o)
		if o == d || strings.HasPrefix(o, d+string(filepath.Separator)) {
			return fmt.Errorf("--out %s is inside the data directory %s: write the backup elsewhere", out, data)
		}
	}
	return nil
}

// ctxWriter and ctxReader stop a backup or restore at SIGINT/SIGTERM: the
// next write or read fails, the store's backup or load returns, and the
// partial file or directory is removed.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("AFFINITY_DATA", "./data"), "data directory (Badger) to restore into; must be empty or absent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("restore needs exactly one backup FILE")
	}
	if entries, err := os.ReadDir(*data); err == nil && len(entries) > 0 {
		return fmt.Errorf("refusing to restore into %s: it is not empty", *data)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("cannot open backup: %w", err)
	}
	defer f.Close()
	if err := features.Restore(*data, ctxReader{ctx, f}, quietLogger()); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("restore interrupted, nothing restored into %s", *data)
		}
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", fs.Arg(0), *data)
	return nil
}
