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

// importSummary is what an import did.
type importSummary struct {
	Read       int
	Accepted   int
	Duplicates int
	Rejected   map[string]int
	Skipped    map[string]int
	Seconds    float64
}

func (s importSummary) print(w io.Writer) {
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
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("AFFINITY_DATA", "./data"), "data directory (Badger)")
	format := fs.String("format", "", "input format: "+strings.Join(eventio.Formats(), "|"))
	config := fs.String("config", "", "JSON config file (event types)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format == "" || fs.NArg() == 0 {
		return errors.New("import needs --format and at least one FILE")
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
	store, err := features.Open(so)
	if err != nil {
		return openErr(err, *data)
	}
	progress := io.Discard
	if f, ok := stderr.(*os.File); ok {
		progress = f
	}
	sum, err := importFiles(ctx, store, *format, fs.Args(), progress)
	if cerr := store.Close(); err == nil && cerr != nil {
		err = cerr
	}
	sum.print(stdout)
	return err
}

// importFiles streams files into the store in batches without a sync per
// batch (one sync at the end), upserts the catalogue the files describe,
// and rebuilds the model once.
func importFiles(ctx context.Context, store *features.Store, format string, files []string, progress io.Writer) (importSummary, error) {
	sum := importSummary{Rejected: map[string]int{}, Skipped: map[string]int{}}
	start := time.Now()
	isTTY := false
	if f, ok := progress.(*os.File); ok {
		isTTY = term.IsTerminal(int(f.Fd()))
	}
	lastShow := time.Now()
	show := func(file string, final bool) {
		if progress == io.Discard {
			return
		}
		el := time.Since(start).Seconds()
		line := fmt.Sprintf("%s: %d read, %d accepted, %d rejected, %.0f events/s", file, sum.Read, sum.Accepted, sum.Read-sum.Accepted-total(sum.Skipped), float64(sum.Read)/max(el, 1e-9))
		if isTTY {
			fmt.Fprintf(progress, "\r\033[K%s", line)
			if final {
				fmt.Fprintln(progress)
			}
		} else if final || time.Since(lastShow) > 5*time.Second {
			fmt.Fprintln(progress, line)
			lastShow = time.Now()
		}
	}
	const batchSize = 10000
	batch := make([]features.Event, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := store.Ingest(ctx, batch, features.IngestOptions{NoSync: true})
		if err != nil {
			return err
		}
		sum.Accepted += res.Accepted
		sum.Duplicates += res.Duplicates
		for _, r := range res.Rejected {
			sum.Rejected["bad_"+r.Field]++
		}
		batch = batch[:0]
		return nil
	}
	for _, file := range files {
		r, err := eventio.Open(file, format)
		if err != nil {
			return sum, err
		}
		for {
			if err := ctx.Err(); err != nil {
				r.Close()
				return sum, err
			}
			e, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var le *eventio.LineError
			if errors.As(err, &le) {
				sum.Read++
				if le.Skipped {
					sum.Skipped[le.Reason]++
				} else {
					sum.Rejected[le.Reason]++
				}
				continue
			}
			if err != nil {
				r.Close()
				return sum, fmt.Errorf("cannot read %s: %w", file, err)
			}
			sum.Read++
			batch = append(batch, e)
			if len(batch) == batchSize {
				if err := flush(); err != nil {
					r.Close()
					return sum, err
				}
				show(file, false)
			}
		}
		if err := flush(); err != nil {
			r.Close()
			return sum, err
		}
		if ps := r.Products(); len(ps) > 0 {
			// Records already set (by PUT /v1/products) win over what a
			// file guesses.
			for id := range ps {
				if _, has, err := store.GetProduct(id); err == nil && has {
					delete(ps, id)
				}
			}
			if err := store.PutProducts(ps); err != nil {
				r.Close()
				return sum, err
			}
		}
		if cs := r.CustomerAttributes(); len(cs) > 0 {
			put := make(map[string]features.Customer, len(cs))
			for id, attrs := range cs {
				cid, ok := store.CustomerID(id)
				if ok && store.CustomerAttributes(cid) != nil {
					continue // attributes set through the API win
				}
				put[id] = features.Customer{Attributes: attrs}
			}
			if err := store.PutCustomers(put); err != nil {
				r.Close()
				return sum, err
			}
		}
		r.Close()
		show(file, true)
	}
	if err := store.Sync(); err != nil {
		return sum, err
	}
	store.Refresh()
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
