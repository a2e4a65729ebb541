package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/affinity-rec/affinity/features"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

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
	o := features.DefaultOptions(*data)
	o.Logger = quietLogger()
	store, err := features.Open(o)
	if err != nil {
		return openErr(err, *data)
	}
	defer store.Close()
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("cannot create backup: %w", err)
	}
	n, err := store.Backup(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "backup of %s written to %s (%d bytes)\n", *data, *out, n)
	return nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("AFFINITY_DATA", "./data"), "data directory (Badger) to restore into; must be empty")
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
	if err := features.Restore(*data, f, quietLogger()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", fs.Arg(0), *data)
	return nil
}
