package features

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Idempotent appends in cluster mode. A caller whose append failed may
// append the same entries again (the experiments flusher keeps a failed
// batch for its next flush), and the failure may have come after the log
// stored them (an ack lost, or stored but not applied here in time:
// ErrNotApplied). Each append message of AppendFor therefore carries an
// id derived from its content (kind, customer, entries) as its
// Nats-Msg-Id: JetStream stores a message whose id it stored within its
// dedup window (2 minutes) once. That relies on the callers' entries
// being distinct writes exactly when their bytes differ: exposures and
// showings carry a fresh recommendation id, and two identical responses
// are the same answer (two nodes expiring one exposure), which every node
// counts once anyway. A retry's batch may have grown (new entries after
// the failed ones), so the customer's message boundaries of the failed
// attempt are kept and the retry splits there: its first messages are
// byte for byte the failed attempt's.

// DedupOpLog is an OpLog that stores a message with an idempotency id
// once: a repeat within the log's dedup window is acknowledged with its
// first copy's sequence and dup set. The cluster node provides it.
type DedupOpLog interface {
	AppendOpID(ctx context.Context, m OpMessage, id string) (seq uint64, dup bool, err error)
}

// appendRetries remembers, per log kind and customer, where a failed
// AppendFor split that customer's entries; the next AppendFor of the same
// kind and customer consumes it.
type appendRetries struct {
	mu   sync.Mutex
	cuts map[string][]int
}

// maxAppendRetries bounds the remembered failures: a caller that does not
// retry (offers answer the error) leaves its entry behind.
const maxAppendRetries = 4096

func (a *appendRetries) take(kind, customer string) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := kind + "\x00" + customer
	c := a.cuts[k]
	delete(a.cuts, k)
	return c
}

func (a *appendRetries) keep(kind, customer string, cuts []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cuts == nil || len(a.cuts) >= maxAppendRetries {
		a.cuts = map[string][]int{}
	}
	a.cuts[kind+"\x00"+customer] = cuts
}

// appendID is a message's idempotency id: 128 bits of a hash of its
// customer and fields (kind first), each with its length.
func appendID(customer string, fields [][]byte) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(customer)))])
	h.Write([]byte(customer))
	for _, f := range fields {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write(f)
	}
	return "ap-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// appendChunks splits the sizes of one customer's entries into messages:
// greedily up to MaxAppendBytes, but never across a cut (a failed
// attempt's boundary) that lies within them. It returns the end of each.
func appendChunks(sizes []int, cuts []int) []int {
	var ends []int
	start := 0
	for start < len(sizes) {
		limit := len(sizes)
		for _, c := range cuts {
			if c > start && c < limit {
				limit = c
			}
		}
		n, size := start, 0
		for n < limit && (n == start || size+sizes[n] <= MaxAppendBytes) {
			size += sizes[n]
			n++
		}
		ends = append(ends, n)
		start = n
	}
	return ends
}

// submitAppend publishes one append message with its idempotency id and
// waits for its own apply, as submitOp does. A message the log had stored
// already (an earlier attempt's) was applied under that attempt's origin:
// it waits until this node has applied it and returns no first sequence.
func (s *Store) submitAppend(customer string, fields [][]byte) (opResult, error) {
	o := s.ops
	dl, ok := o.log.(DedupOpLog)
	if !ok {
		return s.submitOp(OpRecordAppend, customer, fields, nil)
	}
	origin, ch, done := o.await()
	defer done()
	m := OpMessage{Customer: customer, Data: EncodeOp(Op{Kind: OpRecordAppend, Origin: origin, Fields: fields})}
	ctx, cancel := context.WithTimeout(context.Background(), opAppendTimeout)
	defer cancel()
	seq, dup, err := dl.AppendOpID(ctx, m, appendID(customer, fields))
	if err != nil {
		return opResult{}, fmt.Errorf("%w: %w", ErrNotLogged, err)
	}
	t := time.NewTimer(opApplyWait)
	defer t.Stop()
	if dup {
		return opResult{seq: seq}, s.waitAppliedSeq(seq, t.C)
	}
	select {
	case r := <-ch:
		r.seq = seq
		return r, r.err
	case <-t.C:
		return opResult{seq: seq}, fmt.Errorf("%w: sequence %d, waited %s", ErrNotApplied, seq, opApplyWait)
	case <-s.stop:
		return opResult{seq: seq}, ErrClosed
	}
}

// waitAppliedSeq waits until this node has applied seq, or timeout fires.
func (s *Store) waitAppliedSeq(seq uint64, timeout <-chan time.Time) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.ops.applied.Load() < seq {
		select {
		case <-tick.C:
		case <-timeout:
			return fmt.Errorf("%w: sequence %d, waited %s", ErrNotApplied, seq, opApplyWait)
		case <-s.stop:
			return ErrClosed
		}
	}
	return nil
}
