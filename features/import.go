package features

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Import is the bulk load of `affinity import` (and of serve's demo data):
// events in large batches without a sync per batch, the catalogue each
// input describes, one sync and one full model build at the end. Event ids
// make it idempotent, so an import that dies half-way is simply re-run.

// ImportSource hands Import its inputs in order (the files of an import),
// each opened only when reached.
type ImportSource interface {
	// Open returns the next input and its name (for progress and errors),
	// or io.EOF after the last. Import closes each input.
	Open() (name string, r ImportReader, err error)
}

// ImportReader is one input: its events, then the catalogue they describe.
// *eventio.Reader is one.
type ImportReader interface {
	// Next returns the next event, io.EOF at the end, a LineIssue for a
	// line that did not become an event (counted, and reading goes on), or
	// a fatal error.
	Next() (Event, error)
	// Products and CustomerAttributes return what the input said of the
	// products and customers it names (nil when nothing); called after
	// Next returned io.EOF.
	Products() map[string]Product
	CustomerAttributes() map[string]map[string]any
	Close() error
}

// LineIssue is an error an ImportReader returns for a line that did not
// become an event: Import counts it under its reason, as skipped (the
// format leaves such lines out on purpose) or rejected. *eventio.LineError
// is one.
type LineIssue interface {
	error
	LineIssue() (reason string, skipped bool)
}

// ImportOptions tune Import.
type ImportOptions struct {
	// BatchSize is the number of events per commit (10,000 when 0).
	BatchSize int
	// Progress, when set, is called after each batch and at the end of
	// each input (final), with the input's name and the summary so far.
	Progress func(name string, sum *ImportSummary, final bool)
}

// ImportSummary is what an import did.
type ImportSummary struct {
	Read       int
	Accepted   int
	Duplicates int            // accepted, already stored (same event id)
	Rejected   map[string]int // lines and events by reason ("bad_type")
	Skipped    map[string]int // lines the format leaves out, by reason
	// UnknownTypes counts the rejected events per event type that is not
	// configured, for a hint naming the option that configures them.
	UnknownTypes map[string]int
	Seconds      float64
	// ModelSeconds is the part of Seconds spent building the model at the
	// end (it depends on the similarity, not on the number of events).
	ModelSeconds float64
}

// RejectedTotal is the number of lines and events rejected.
func (sum *ImportSummary) RejectedTotal() int { return sum.Read - sum.Accepted - total(sum.Skipped) }

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Import streams every input of src into s (see above). The summary counts
// what was done also when an error stops it.
func Import(ctx context.Context, s *Store, src ImportSource, o ImportOptions) (ImportSummary, error) {
	sum := ImportSummary{Rejected: map[string]int{}, Skipped: map[string]int{}, UnknownTypes: map[string]int{}}
	if o.BatchSize <= 0 {
		o.BatchSize = 10000
	}
	start := time.Now()
	for {
		name, r, err := src.Open()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sum, err
		}
		err = importInput(ctx, s, name, r, o, &sum)
		r.Close()
		if err != nil {
			return sum, err
		}
		if o.Progress != nil {
			o.Progress(name, &sum, true)
		}
	}
	if err := s.Sync(); err != nil {
		return sum, err
	}
	modelStart := time.Now()
	s.Refresh()
	sum.ModelSeconds = time.Since(modelStart).Seconds()
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// importInput commits r's events and then the catalogue it describes.
func importInput(ctx context.Context, s *Store, name string, r ImportReader, o ImportOptions, sum *ImportSummary) error {
	// Reading (gunzip, parse, content ids) runs in its own goroutine while
	// the store commits the previous batch: on two cores this nearly
	// doubles the import rate.
	readBefore := sum.Read
	rd := readBatches(ctx, r, o.BatchSize)
	for b := range rd.batches {
		sum.Read = readBefore + b.read
		err := ingestBatch(ctx, s, b.events, sum)
		rd.free <- b.events[:0]
		if err != nil {
			rd.stop()
			return err
		}
		if o.Progress != nil {
			o.Progress(name, sum, false)
		}
	}
	sum.Read = readBefore + rd.read
	for k, v := range rd.skipped {
		sum.Skipped[k] += v
	}
	for k, v := range rd.rejected {
		sum.Rejected[k] += v
	}
	if rd.err != nil {
		if errors.Is(rd.err, ctx.Err()) {
			return rd.err
		}
		return fmt.Errorf("cannot read %s: %w", name, rd.err)
	}
	return importCatalogue(s, r)
}

// ingestBatch commits one batch in bulk: the model is rebuilt once at the
// end rather than tracking each event's stale lists.
func ingestBatch(ctx context.Context, s *Store, batch []Event, sum *ImportSummary) error {
	if len(batch) == 0 {
		return nil
	}
	res, err := s.Ingest(ctx, batch, IngestOptions{NoSync: true, Bulk: true})
	if err != nil {
		return err
	}
	sum.Accepted += res.Accepted
	sum.Duplicates += res.Duplicates
	for _, r := range res.Rejected {
		sum.Rejected["bad_"+r.Field]++
		if r.Field == "type" && r.Index < len(batch) {
			if _, ok := s.Types().Code(batch[r.Index].Type); !ok {
				sum.UnknownTypes[batch[r.Index].Type]++
			}
		}
	}
	return nil
}

// importCatalogue upserts the products and customer attributes r described.
// Records already set (through the API) win over what a file guesses, and
// so does a deletion: a file's old lines do not bring a product back.
func importCatalogue(s *Store, r ImportReader) error {
	if ps := r.Products(); len(ps) > 0 {
		for id := range ps {
			if s.productSettled(id) {
				delete(ps, id)
			}
		}
		if err := s.PutProducts(ps); err != nil {
			return err
		}
	}
	if cs := r.CustomerAttributes(); len(cs) > 0 {
		put := make(map[string]Customer, len(cs))
		for id, attrs := range cs {
			cid, ok := s.CustomerID(id)
			if ok && s.CustomerAttributes(cid) != nil {
				continue
			}
			put[id] = Customer{Attributes: attrs}
		}
		if err := s.PutCustomers(put); err != nil {
			return err
		}
	}
	return nil
}
