package features

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/dgraph-io/badger/v4"
)

// Cluster mode splits Ingest in two. The receiving node validates (as in
// single-node mode) and hands the valid events to an EventLog, which
// publishes them to the replicated stream; every node then applies the
// stream, in order, with ApplyLog, through the same writer and commit as a
// single node's own writes. Every other write (products, customers,
// erasure, the services' records) goes through the same log as an op
// (clusterops.go).

// EventLog is where validated events go in cluster mode instead of the
// local writer. Append returns once the log has stored every message (a
// quorum of its replicas), with the log position of the last one and, per
// message, whether the log already had it (a retry with the same id). A
// retry grouped differently gets other ids: the apply-time dedup by
// event_id still stores each event once.
type EventLog interface {
	Append(ctx context.Context, msgs []LogMessage) (seq uint64, dupMsgs []bool, err error)
}

// LogMessage is one customer's events of one request, encoded.
type LogMessage struct {
	Customer string // the customer whose events these are (the subject)
	ID       string // idempotency id (a hash of the events' event ids); "" when one has none
	Data     []byte
	events   int
}

// LogEntry is a message read back from the log: its position and bytes.
type LogEntry struct {
	Seq  uint64
	Data []byte
}

// ErrNotLogged wraps an EventLog's failure: the events are not known to be
// stored, and the client may retry (with event ids, without doubles).
var ErrNotLogged = errors.New("events not acknowledged by the cluster log")

// SetEventLog switches Ingest to publish to l (cluster mode). It is set
// once, before the store takes writes.
func (s *Store) SetEventLog(l EventLog) { s.evLog = l }

// appendToLog encodes pend as one message per customer, in the order the
// customers first appear, and appends them.
func (s *Store) appendToLog(ctx context.Context, pend []pendingEvent) (uint64, int, error) {
	msgs := groupByCustomer(pend)
	seq, dupMsgs, err := s.evLog.Append(ctx, msgs)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrNotLogged, err)
	}
	dups := 0
	for i, d := range dupMsgs {
		if d {
			dups += msgs[i].events
		}
	}
	return seq, dups, nil
}

func groupByCustomer(pend []pendingEvent) []LogMessage {
	order := []string{}
	by := map[string][]Event{}
	for i := range pend {
		c := pend[i].ev.CustomerID
		if _, ok := by[c]; !ok {
			order = append(order, c)
		}
		by[c] = append(by[c], pend[i].ev)
	}
	msgs := make([]LogMessage, 0, len(order))
	for _, c := range order {
		evs := by[c]
		for len(evs) > 0 {
			part := evs[:min(len(evs), maxMessageEvents)]
			evs = evs[len(part):]
			msgs = append(msgs, LogMessage{Customer: c, ID: messageID(part), Data: EncodeLogEvents(part), events: len(part)})
		}
	}
	return msgs
}

// messageID is the event id of a single event, or a hash of the sorted ids
// of several when every one has an id: a retry of the same request through
// any node gets the same id and JetStream stores it once. With an id
// missing there is no stream-level dedup (apply-time dedup still holds for
// the events that have one).
func messageID(evs []Event) string {
	if len(evs) == 1 {
		return evs[0].EventID
	}
	ids := make([]string, len(evs))
	for i := range evs {
		if evs[i].EventID == "" {
			return ""
		}
		ids[i] = evs[i].EventID
	}
	sort.Strings(ids)
	h := fnv.New128a()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("ev-%x", h.Sum(nil))
}

// maxMessageEvents bounds the events of one message, so that any message
// fits one atomic apply (maxAtomicEvents).
const maxMessageEvents = 1024

// maxAtomicEvents bounds the events of one stream apply: with the serving
// memtable (32 MB) Badger takes up to about 4.8 MB or 50k entries in one
// transaction, and an event writes at most about six entries of under 100
// bytes (dictionary entries for new ids, its event-id key, its share of a
// log block). Under it, a stream batch commits as one Badger transaction,
// all or nothing, with the stream sequence it reaches.
const maxAtomicEvents = 4096

// BadLogEntry is ApplyLog's error for a message it cannot decode.
type BadLogEntry struct {
	Seq uint64
	Err error
}

func (e *BadLogEntry) Error() string { return fmt.Sprintf("log entry %d: %v", e.Seq, e.Err) }
func (e *BadLogEntry) Unwrap() error { return e.Err }

// ApplyLog applies entries (consecutive, in log order, after StreamSeq)
// through the writer: each run of whole messages of up to maxAtomicEvents
// events is one Badger transaction that also records the last entry's
// sequence, so a restart resumes exactly after what is on disk and no
// message is applied twice. Nothing is read from a clock: the timestamps
// are those the receiving node filled in. An entry that cannot be decoded
// is a *BadLogEntry, and none of the entries from it on are applied.
// Entries at or below StreamSeq are already here and skipped, so handing
// the same entries in again (a follower restarted from an older position)
// is harmless. One follower calls it at a time.
func (s *Store) ApplyLog(ctx context.Context, entries []LogEntry) error {
	done, err := s.StreamSeq()
	if err != nil {
		return fmt.Errorf("cannot read the applied stream sequence: %w", err)
	}
	tt := s.types.Load()
	var pend []pendingEvent
	var last uint64
	flush := func() error {
		if len(pend) == 0 && last == 0 {
			return nil
		}
		// No fsync (sync false, whatever SyncWrites says): the stream is
		// the durable copy, and the recorded sequence commits in the same
		// Badger transaction as the events it covers, so a crash that
		// loses an unsynced tail loses both and the node re-applies that
		// tail from the stream. An fsync per batch cost ~2 ms a message
		// while following live traffic (BenchmarkApplyLogTail).
		r := &writeReq{events: pend, streamSeq: last, sync: false, done: make(chan writeResult, 1)}
		_, err := s.submit(ctx, r)
		if err == nil && s.ops != nil {
			s.ops.noteApplied(last)
		}
		pend, last = nil, 0
		return err
	}
	for _, en := range entries {
		if en.Seq <= done {
			continue
		}
		evs, err := DecodeLogEvents(en.Data)
		if err == nil && len(pend) > 0 && len(pend)+len(evs) > maxAtomicEvents {
			err = flush()
			if err != nil {
				return err
			}
		}
		if err == nil {
			pend, err = appendPending(pend, tt, evs)
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return &BadLogEntry{Seq: en.Seq, Err: err}
		}
		last = en.Seq
	}
	return flush()
}

// appendPending turns decoded events into the writer's form. The receiving
// node validated them; a type this node does not know (configs differ) is
// an error, not a skip.
func appendPending(pend []pendingEvent, tt *TypeTable, evs []Event) ([]pendingEvent, error) {
	for _, e := range evs {
		code, ok := tt.Code(e.Type)
		if !ok {
			return pend, fmt.Errorf("event type %q is not configured on this node (%v)", e.Type, tt.Configured())
		}
		pe := pendingEvent{ev: e, typ: code, class: tt.ClassOf(code, e.Value)}
		if e.EventID != "" {
			pe.dedup, pe.hasDedup = eventKey(e.EventID), true
		}
		pend = append(pend, pe)
	}
	return pend, nil
}

// StreamSeq is the last cluster stream sequence this store has applied (0
// when none): a restarted node follows the stream from the next one.
func (s *Store) StreamSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(keyStr(keyStreamSeq, ""))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("stream sequence value of %d bytes", len(v))
			}
			seq = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return seq, err
}
