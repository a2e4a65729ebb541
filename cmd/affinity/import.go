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
	// UnknownTypes counts the rejected events per event type that is not
	// configured, for a hint naming the option that configures them.
	UnknownTypes map[string]int
	Seconds      float64
	// ModelSeconds is the part of Seconds spent building the model at the
	// end (it depends on the similarity, not on the number of events).
	ModelSeconds float64
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
	sum, err := importFiles(ctx, store, *format, fs.Args(), progress)
	if cerr := store.Close(); err == nil && cerr != nil {
		err = cerr
	}
	sum.print(stdout)
	if err == nil && len(sum.UnknownTypes) > 0 {
		fmt.Fprintln(stderr, "import: "+unknownTypesHint(sum.UnknownTypes, so.EventTypes, *config))
	}
	return err
}

// importFiles streams files into the store in batches without a sync per
// batch (one sync at the end), upserts the catalogue the files describe,
// and rebuilds the model once.
func importFiles(ctx context.Context, store *features.Store, format string, files []string, progress io.Writer) (importSummary, error) {
	sum := importSummary{Rejected: map[string]int{}, Skipped: map[string]int{}, UnknownTypes: map[string]int{}}
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
	flush := func(batch []features.Event) error {
		if len(batch) == 0 {
			return nil
		}
		// Bulk: the model is rebuilt once at the end rather than tracking
		// each event's stale lists.
		res, err := store.Ingest(ctx, batch, features.IngestOptions{NoSync: true, Bulk: true})
		if err != nil {
			return err
		}
		sum.Accepted += res.Accepted
		sum.Duplicates += res.Duplicates
		for _, r := range res.Rejected {
			sum.Rejected["bad_"+r.Field]++
			if r.Field == "type" && r.Index < len(batch) {
				if _, ok := store.Types().Code(batch[r.Index].Type); !ok {
					sum.UnknownTypes[batch[r.Index].Type]++
				}
			}
		}
		return nil
	}
	for _, file := range files {
		r, err := eventio.Open(file, format)
		if err != nil {
			return sum, err
		}
		// Reading (gunzip, parse, content ids) runs in its own goroutine
		// while the store commits the previous batch: on two cores this
		// nearly doubles the import rate.
		readBefore := sum.Read
		rd := readBatches(ctx, r, batchSize)
		for b := range rd.batches {
			sum.Read = readBefore + b.read
			err := flush(b.events)
			rd.free <- b.events[:0]
			if err != nil {
				rd.stop()
				r.Close()
				return sum, err
			}
			show(file, false)
		}
		sum.Read = readBefore + rd.read
		for k, v := range rd.skipped {
			sum.Skipped[k] += v
		}
		for k, v := range rd.rejected {
			sum.Rejected[k] += v
		}
		if rd.err != nil {
			r.Close()
			if errors.Is(rd.err, ctx.Err()) {
				return sum, rd.err
			}
			return sum, fmt.Errorf("cannot read %s: %w", file, rd.err)
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
	modelStart := time.Now()
	store.Refresh()
	sum.ModelSeconds = time.Since(modelStart).Seconds()
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// batchReader reads events in batches in its own goroutine. After batches
// is closed, read, skipped, rejected and err are final.
type batchReader struct {
	batches  chan readBatch
	free     chan []features.Event
	done     chan struct{}
	read     int
	skipped  map[string]int
	rejected map[string]int
	err      error
}

type readBatch struct {
	events []features.Event
	read   int // lines read so far, for the progress line
}

func readBatches(ctx context.Context, r *eventio.Reader, size int) *batchReader {
	rd := &batchReader{
		batches:  make(chan readBatch, 1),
		free:     make(chan []features.Event, 3),
		done:     make(chan struct{}),
		skipped:  map[string]int{},
		rejected: map[string]int{},
	}
	for range 2 {
		rd.free <- make([]features.Event, 0, size)
	}
	go func() {
		defer close(rd.batches)
		batch := <-rd.free
		send := func() bool {
			select {
			case rd.batches <- readBatch{events: batch, read: rd.read}:
			case <-rd.done:
				return false
			}
			select {
			case batch = <-rd.free:
			case <-rd.done:
				return false
			}
			return true
		}
		for {
			if err := ctx.Err(); err != nil {
				rd.err = err
				return
			}
			e, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var le *eventio.LineError
			if errors.As(err, &le) {
				rd.read++
				if le.Skipped {
					rd.skipped[le.Reason]++
				} else {
					rd.rejected[le.Reason]++
				}
				continue
			}
			if err != nil {
				rd.err = err
				return
			}
			rd.read++
			batch = append(batch, e)
			if len(batch) == size && !send() {
				return
			}
		}
		if len(batch) > 0 {
			send()
		}
	}()
	return rd
}

// stop makes the reading goroutine end and waits for it.
func (rd *batchReader) stop() {
	close(rd.done)
	for range rd.batches {
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
