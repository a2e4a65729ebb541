package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

// printImportSummary writes the summary `affinity import` ends with.
func printImportSummary(w io.Writer, s features.ImportSummary) {
	fmt.Fprintf(w, "lines read   %d\naccepted     %d (of which %d already stored)\n", s.Read, s.Accepted, s.Duplicates)
	print := func(title string, m map[string]int) {
		total := 0
		keys := make([]string, 0, len(m))
		for k, v := range m {
			keys = append(keys, k)
			total += v
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "%-12s %d\n", title, total)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-24s %d\n", k, m[k])
		}
	}
	print("skipped", s.Skipped)
	print("rejected", s.Rejected)
	rate := 0.0
	if s.Seconds > 0 {
		rate = float64(s.Read) / s.Seconds
	}
	fmt.Fprintf(w, "took         %.2fs (%.0f events/s)\n", s.Seconds, rate)
	if s.ModelSeconds > 0 && s.Seconds > s.ModelSeconds {
		fmt.Fprintf(w, "  model      %.2fs; events alone %.0f events/s\n", s.ModelSeconds, float64(s.Read)/(s.Seconds-s.ModelSeconds))
	}
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("AFFINITY_DATA", "./data"), "data directory (Badger)")
	format := fs.String("format", "", "input format: "+strings.Join(eventio.Formats(), "|"))
	config := fs.String("config", "", "serve config (JSON): its event types (custom ones with their weights) and model options")
	returns := fs.Bool("returns", false, "online-retail: import cancellations (invoices starting with C) as return events instead of skipping them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format == "" || fs.NArg() == 0 {
		return errors.New("import needs --format and at least one FILE")
	}
	if err := checkImportArgs(*format, fs.Args()); err != nil {
		return err
	}
	fc, err := readConfig(*config)
	if err != nil {
		return err
	}
	so, err := fc.storeOptions(*data, quietLogger())
	if err != nil {
		return err
	}
	// One fsync at the end instead of one per batch: an import that dies
	// half-way is simply re-run (event ids make it idempotent).
	so.SyncWrites = false
	// The import rebuilds the model once at the end; background refreshes
	// meanwhile would take a third of the CPU for lists about to be redone.
	so.RefreshInterval = time.Hour
	so.BulkLoad = true
	store, err := features.Open(so)
	if err != nil {
		return openErr(err, *data)
	}
	progress := io.Discard
	if f, ok := stderr.(*os.File); ok {
		progress = f
	}
	sum, err := features.Import(ctx, store, &fileSource{format: *format, files: fs.Args(), returns: *returns},
		features.ImportOptions{Progress: progressLine(progress)})
	if cerr := store.Close(); err == nil && cerr != nil {
		err = cerr
	}
	printImportSummary(stdout, sum)
	if err == nil && len(sum.UnknownTypes) > 0 {
		fmt.Fprintln(stderr, "import: "+unknownTypesHint(sum.UnknownTypes, so.EventTypes, *config))
	}
	return importOutcome(err, sum, *format)
}

// checkImportArgs refuses an unknown format and input files that cannot be
// read before the store is opened, so a typo does not create a data
// directory or print a summary of nothing.
func checkImportArgs(format string, files []string) error {
	if err := eventio.CheckFormat(format); err != nil {
		return err
	}
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", name, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("cannot read %s: it is a directory", name)
		}
	}
	return nil
}

// importOutcome is the import's error: an interrupted one says how to
// finish it, and one that read lines but accepted none of them fails (an
// exit status of 0 would let a script carry on with an empty store; the
// usual cause is the wrong --format).
func importOutcome(err error, sum features.ImportSummary, format string) error {
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("import interrupted after %d lines: run the same import again to finish it (events already stored are recognised and not stored twice)", sum.Read)
	case err != nil:
		return err
	case sum.Read > 0 && sum.Accepted == 0 && sum.RejectedTotal() > 0 && len(sum.UnknownTypes) > 0:
		return fmt.Errorf("none of %d lines was accepted (%d rejected): their event types are not configured (see the hint above)", sum.Read, sum.RejectedTotal())
	case sum.Read > 0 && sum.Accepted == 0 && sum.RejectedTotal() > 0:
		return fmt.Errorf("none of %d lines was accepted (%d rejected): is the input really --format %s?", sum.Read, sum.RejectedTotal(), format)
	}
	return nil
}

// importFiles imports files of one format into store (features.Import),
// writing progress lines to progress: one rewritten line on a terminal,
// one every 5 seconds otherwise.
func importFiles(ctx context.Context, store *features.Store, format string, files []string, progress io.Writer) (features.ImportSummary, error) {
	return features.Import(ctx, store, &fileSource{format: format, files: files},
		features.ImportOptions{Progress: progressLine(progress)})
}

// fileSource opens files in one format, one at a time; returns turns
// Online Retail cancellations into return events.
type fileSource struct {
	format  string
	files   []string
	returns bool
}

var _ features.ImportReader = (*eventio.Reader)(nil)

func (f *fileSource) Open() (string, features.ImportReader, error) {
	if len(f.files) == 0 {
		return "", nil, io.EOF
	}
	name := f.files[0]
	f.files = f.files[1:]
	r, err := eventio.Open(name, f.format)
	if err != nil {
		return name, nil, err
	}
	r.SetCancellationsAsReturns(f.returns)
	return name, r, nil
}

// progressLine returns Import's progress callback for w (nil for
// io.Discard).
func progressLine(w io.Writer) func(string, *features.ImportSummary, bool) {
	if w == io.Discard {
		return nil
	}
	isTTY := false
	if f, ok := w.(*os.File); ok {
		isTTY = term.IsTerminal(int(f.Fd()))
	}
	start := time.Now()
	lastShow := time.Now()
	return func(file string, sum *features.ImportSummary, final bool) {
		el := time.Since(start).Seconds()
		line := fmt.Sprintf("%s: %d read, %d accepted, %d rejected, %.0f events/s", file, sum.Read, sum.Accepted, sum.RejectedTotal(), float64(sum.Read)/max(el, 1e-9))
		if isTTY {
			fmt.Fprintf(w, "\r\033[K%s", line)
			if final {
				fmt.Fprintln(w)
			}
		} else if final || time.Since(lastShow) > 5*time.Second {
			fmt.Fprintln(w, line)
			lastShow = time.Now()
		}
	}
}
