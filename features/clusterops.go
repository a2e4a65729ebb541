package features

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cluster mode for every write that is not an event (products, customers,
// erasure, and the records of the services beside ranking): the receiving
// node validates as in single-node mode, publishes an op message
// (clusterops_codec.go) and waits until it has applied that message
// itself, so its reply reflects the write (read-your-writes for the
// writer) and carries the apply's result (a PATCH answers with the record
// as merged in stream order). Every node applies the same ops in the same
// order through the writer goroutine, and each op's commit records its
// stream sequence, as an event batch's does.

// OpLog is where ops go in cluster mode (the cluster node).
type OpLog interface {
	// AppendOp stores m in the log (a quorum of its replicas) and returns
	// its sequence.
	AppendOp(ctx context.Context, m OpMessage) (uint64, error)
	// PurgeCustomer removes customer's messages below sequence before
	// from the log itself (erasure); the erasure op stays.
	PurgeCustomer(ctx context.Context, customer string, before uint64) error
}

// OpMessage is one encoded op and where it goes: a customer's subject (so
// erasure purges it), the erasure subject (never purged), or the
// definitions' subject when neither is set.
type OpMessage struct {
	Customer string
	Erasure  bool
	Data     []byte
}

// ErrNotApplied: the write is in the cluster log (it will be applied on
// every node) but this node has not applied it within the bound, so the
// reply cannot say what it did. The client may read it back later.
var ErrNotApplied = errors.New("written to the cluster log, but not yet applied on this node")

// Bounds of an op's publish and of the writer's wait for its own apply.
const (
	opAppendTimeout = 30 * time.Second
	opApplyWait     = 30 * time.Second
)

// clusterOps is the store's cluster-mode op state.
type clusterOps struct {
	log   OpLog
	token string // this process's origin prefix
	n     atomic.Uint64

	mu    sync.Mutex
	waits map[string]chan opResult

	// applying is the stream sequence of the op being applied and written
	// says whether a commit recorded it yet; writer goroutine only.
	applying uint64
	written  bool

	applied atomic.Uint64 // last stream sequence applied here (ops and events)
	watch   watchers
	retries appendRetries // failed appends' splits (applog_retry.go)
}

// opResult is what applying an op did, for the writer waiting on it.
type opResult struct {
	err     error // the op's own outcome (e.g. ErrNotFound): same on every node
	seq     uint64
	product Product
	attrs   map[string]any
	first   uint64 // first append-log sequence of a record append
	merge   MergeResult
	// merged names the ids merged into an erased customer (their subjects
	// are purged too); erasedAny says the erasure erased someone here.
	merged    []string
	erasedAny bool
}

// SetOpLog switches every write but events (SetEventLog) to publish to l
// and wait for its own apply. It is set once, before the store takes
// writes.
func (s *Store) SetOpLog(l OpLog) {
	var t [8]byte
	_, _ = rand.Read(t[:])
	o := &clusterOps{log: l, token: hex.EncodeToString(t[:]), waits: map[string]chan opResult{}}
	o.watch.init()
	s.ops = o
	go o.watch.run(s.stop)
}

// AppliedStreamSeq is the last cluster stream sequence this node has
// applied through ApplyLog or ApplyOp in this process (0 in single-node
// mode): a write's reply carries it, as the sequence to read one's writes at.
func (s *Store) AppliedStreamSeq() uint64 {
	if s.ops == nil {
		return 0
	}
	return s.ops.applied.Load()
}

func (o *clusterOps) noteApplied(seq uint64) {
	for {
		cur := o.applied.Load()
		if seq <= cur || o.applied.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// await registers a new origin for an op this node is about to publish:
// the apply of the op carrying it sends its result on ch. done forgets it.
func (o *clusterOps) await() (origin string, ch chan opResult, done func()) {
	origin = o.token + "/" + fmt.Sprint(o.n.Add(1))
	ch = make(chan opResult, 1)
	o.mu.Lock()
	o.waits[origin] = ch
	o.mu.Unlock()
	return origin, ch, func() {
		o.mu.Lock()
		delete(o.waits, origin)
		o.mu.Unlock()
	}
}

// submitOp publishes op and waits until this node has applied it; the
// result is the apply's. after runs between the log's ack and the wait
// (erasure purges there).
func (s *Store) submitOp(kind OpKind, customer string, fields [][]byte, after func(ctx context.Context, seq uint64) error) (opResult, error) {
	o := s.ops
	origin, ch, done := o.await()
	defer done()
	m := OpMessage{Customer: customer, Erasure: kind == OpCustomerErase,
		Data: EncodeOp(Op{Kind: kind, Origin: origin, Fields: fields})}
	if m.Erasure {
		m.Customer = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), opAppendTimeout)
	defer cancel()
	seq, err := o.log.AppendOp(ctx, m)
	if err != nil {
		return opResult{}, fmt.Errorf("%w: %w", ErrNotLogged, err)
	}
	if after != nil {
		if err := after(ctx, seq); err != nil {
			return opResult{seq: seq}, err
		}
	}
	t := time.NewTimer(opApplyWait)
	defer t.Stop()
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

// deliver hands r to the writer of origin if it waits in this process.
func (o *clusterOps) deliver(origin string, r opResult) {
	if !strings.HasPrefix(origin, o.token+"/") {
		return
	}
	o.mu.Lock()
	ch := o.waits[origin]
	o.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// own says whether an op came from this process.
func (o *clusterOps) own(origin string) bool { return strings.HasPrefix(origin, o.token+"/") }

// ApplyOp applies one op message at stream sequence seq, in log order
// after everything before it (ApplyLog included). An op at or below the
// applied sequence is skipped (a restarted follower). A message that
// cannot be decoded is a *BadLogEntry and nothing is applied. An op's own
// failure (a patch of a product deleted meanwhile) is its result, the same
// on every node, not an error of the apply; a storage failure is.
func (s *Store) ApplyOp(ctx context.Context, seq uint64, data []byte) error {
	o := s.ops
	if o == nil {
		return errors.New("ApplyOp needs SetOpLog first")
	}
	done, err := s.StreamSeq()
	if err != nil {
		return fmt.Errorf("cannot read the applied stream sequence: %w", err)
	}
	if seq <= done {
		return nil
	}
	op, err := DecodeOp(data)
	if err != nil {
		return &BadLogEntry{Seq: seq, Err: err}
	}
	var res opResult
	var changes []Change
	err = s.do(func() error {
		o.applying, o.written = seq, false
		defer func() { o.applying = 0 }()
		var err error
		res, changes, err = s.applyOpLocked(op)
		if err == nil && !o.written {
			err = s.stampOnly()
		}
		if err == nil && len(changes) > 0 {
			o.watch.runSync(changes)
		}
		if op.Kind == OpRecordAppend && o.own(op.Origin) {
			changes = nil // Watch: the writer counted its own entries
		}
		return err
	})
	if err != nil {
		return err
	}
	o.noteApplied(seq)
	if op.Kind == OpCustomerErase && res.erasedAny {
		if err := s.afterErase(); err != nil {
			s.log.Error("erasure applied; rewriting the snapshot failed", "seq", seq, "err", err)
		}
	}
	if len(changes) > 0 {
		o.watch.enqueue(changes)
	}
	o.deliver(op.Origin, res)
	return nil
}

// stampStreamSeq adds the sequence of the op being applied to wb, so the
// op's commit records it (flush calls it); nothing in single-node mode or
// outside an apply.
func (s *Store) stampStreamSeq(set func(k, v []byte) error) {
	o := s.ops
	if o == nil || o.applying == 0 {
		return
	}
	_ = set(keyStr(keyStreamSeq, ""), binary.BigEndian.AppendUint64(nil, o.applying))
	o.written = true
}

// stampOnly records the applied sequence of an op that wrote nothing (its
// result was a refusal): a restart must not apply it again.
func (s *Store) stampOnly() error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	return s.flush(wb)
}
