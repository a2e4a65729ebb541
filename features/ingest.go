package features

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// IngestResult says what happened to a batch of events.
type IngestResult struct {
	Accepted   int
	Duplicates int // accepted, already stored (same event id): not applied twice
	Rejected   []Rejection
	// Seq is, in cluster mode, the stream sequence of the last message
	// published (read-your-writes); 0 in single-node mode. Duplicates then
	// counts the events the stream already had (a retried request); an id
	// seen again at apply time is not applied twice, but is not counted.
	Seq uint64
}

// Rejection is one rejected event of a batch.
type Rejection struct {
	Index  int
	Field  string // the field at fault, when one is
	Detail string
}

// eventKey is the idempotency key of an event id.
func eventKey(id string) [16]byte {
	h := fnv.New128a()
	h.Write([]byte(id))
	var k [16]byte
	h.Sum(k[:0])
	return k
}

// IngestOptions tune one Ingest call.
type IngestOptions struct {
	// NoSync skips the fsync (bulk import syncs once at the end with Sync).
	NoSync bool
	// Bulk marks every neighbour list stale instead of tracking which
	// products each event touched: the next Refresh rebuilds all lists,
	// which is cheaper than tracking when most products change (an import
	// calls Refresh once at the end).
	Bulk bool
}

// Ingest validates, stores and applies events. It returns after every
// accepted event is committed to Badger (and synced, with SyncWrites). A bad
// event rejects that event only. An error means nothing of the batch was
// committed.
func (s *Store) Ingest(ctx context.Context, events []Event, opts IngestOptions) (IngestResult, error) {
	var res IngestResult
	tt := s.types.Load()
	now := s.opts.Clock().UTC()
	wall := time.Now()
	pend := make([]pendingEvent, 0, len(events))
	for i := range events {
		e := events[i]
		if err := ValidateEvent(&e); err != nil {
			res.Rejected = append(res.Rejected, rejection(i, err))
			continue
		}
		code, ok := tt.Code(e.Type)
		if !ok {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Field: "type",
				Detail: fmt.Sprintf("type %q is not a configured event type (%v)", e.Type, tt.Configured())})
			continue
		}
		if err := tt.checkValue(code, e.Value); err != nil {
			res.Rejected = append(res.Rejected, rejection(i, err))
			continue
		}
		if e.Timestamp.IsZero() {
			e.Timestamp = now
		} else if err := CheckFuture(e.Timestamp, wall, s.opts.MaxFutureSkew); err != nil {
			res.Rejected = append(res.Rejected, rejection(i, err))
			continue
		}
		pe := pendingEvent{ev: e, typ: code, class: tt.ClassOf(code, e.Value)}
		if e.EventID != "" {
			pe.dedup, pe.hasDedup = eventKey(e.EventID), true
		}
		pend = append(pend, pe)
	}
	if len(pend) == 0 {
		return res, nil
	}
	if s.evLog != nil {
		seq, dups, err := s.appendToLog(ctx, pend)
		if err != nil {
			return IngestResult{}, err
		}
		res.Accepted, res.Duplicates, res.Seq = len(pend), dups, seq
		return res, nil
	}
	r := &writeReq{events: pend, sync: s.opts.SyncWrites && !opts.NoSync, bulk: opts.Bulk, done: make(chan writeResult, 1)}
	wr, err := s.submit(ctx, r)
	if err != nil {
		return IngestResult{}, err
	}
	res.Accepted = len(pend)
	res.Duplicates = wr.dups
	return res, nil
}

func rejection(i int, err error) Rejection {
	return Rejection{Index: i, Field: FieldOf(err), Detail: err.Error()}
}

// FieldOf returns the field a FieldError in err names ("" when none): the
// field of a rejection, here and in the HTTP layer's own decoding errors.
func FieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
