package features

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Stream ticks (cluster mode, issue 16 point 4: two nodes that applied the
// same stream sequence serve the same lists). Every input of a served list
// must then be a function of the applied stream: the histories and the
// catalogue are, but a single node's model is rebuilt when its own timer
// fires, from whatever its writer had applied by then, and "now" (recency,
// windows, value) is its own clock. In stream-tick mode both come from the
// stream instead: a tick message carries a wall time, and applying the tick
// at sequence S is where every node (a) moves "now" to the tick's time and
// (b) rebuilds the model from the state at S. The node's timers change no
// list: the background refresh and the self-tuner are off.
//
// The rebuild is a function of the state alone, not of the node's history
// of rebuilds: every counted list is counted again (a partial refresh
// recounts only the products touched since the node's previous build, and
// a list it keeps may score a neighbour whose support changed since, so
// two nodes that built at different points would disagree). The dense
// (EASE) lists are the exception, as a solve costs seconds of every core:
// they are solved at the first tick of each DenseInterval slot of tick
// time (the slot of a tick and of the one before it are both in the
// stream, so every node solves at the same ticks) and kept in between.

// tickState is the stream clock and what the dense schedule needs.
type tickState struct {
	on atomic.Bool
	// wall: the configured clock is the wall clock, which ticks replace
	// (a pinned or event-based clock is already a function of the data).
	wall bool
	// at is the last applied tick's time (unix ns; 0: none yet) and seq
	// its stream sequence.
	at  atomic.Int64
	seq atomic.Uint64
	// solveOwed: a tick built without a solve, so the dense lists lack
	// messages the counted ones have; a tick in a later dense slot pays
	// it (SolveDue). It steers when ticks are sent, never what one does.
	solveOwed atomic.Bool
	// buildOwed: the last tick did not build (BuildOwed). builtAt (wall
	// unix ns) and buildDur are this node's last build, for BuildPaced.
	// Like solveOwed they steer the ticks this node sends only.
	buildOwed atomic.Bool
	builtAt   atomic.Int64
	buildDur  atomic.Int64
}

// UseStreamTicks switches the store to stream-tick mode (cluster mode):
// the wall clock reads the last applied tick's time, and the model changes
// only at ApplyTick (and at an explicit Refresh, which a node runs at a
// stream position too: an erasure). It reads the last tick this store
// applied, so that a restarted node's "now" and dense schedule carry on
// where they were. Call it once, before the node follows the stream.
func (s *Store) UseStreamTicks() error {
	seq, at, err := s.lastTick()
	if err != nil {
		return fmt.Errorf("cannot read the last stream tick: %w", err)
	}
	s.tick.seq.Store(seq)
	s.tick.at.Store(at)
	s.tick.wall = isWallClock(s.opts.Clock)
	s.tick.on.Store(true)
	return nil
}

// StreamTicks reports whether the store is in stream-tick mode.
func (s *Store) StreamTicks() bool { return s.tick.on.Load() }

// LastTick is the stream sequence and time of the last tick applied (0
// and the zero time before the first).
func (s *Store) LastTick() (uint64, time.Time) {
	at := s.tick.at.Load()
	if at == 0 {
		return s.tick.seq.Load(), time.Time{}
	}
	return s.tick.seq.Load(), time.Unix(0, at).UTC()
}

// IndexSeq is the log sequence the in-memory state includes: a cache of
// something computed from that state is exact while it is unchanged.
func (s *Store) IndexSeq() uint64 { return s.idx.seqNow() }

// isWallClock reports whether clock is time.Now. Options keep the clock as
// a function, and only the wall clock is replaced by ticks.
func isWallClock(clock func() time.Time) bool {
	return clock == nil || reflect.ValueOf(clock).Pointer() == reflect.ValueOf(time.Now).Pointer()
}

// WallTime is the wall clock the store's "now" is judged against: the last
// tick's time in stream-tick mode (the Unix epoch before the first tick:
// a fixed value every node shares), time.Now otherwise.
func (s *Store) WallTime() time.Time {
	if !s.tick.on.Load() {
		return time.Now()
	}
	return time.Unix(0, s.tick.at.Load()).UTC()
}

// now is Store.Now: the configured clock, with the wall clock replaced by
// the stream's in stream-tick mode.
func (s *Store) now() time.Time {
	if s.tick.on.Load() && s.tick.wall {
		return s.WallTime()
	}
	return s.opts.Clock()
}

// Tick is a stream tick as a node applies it: its time, and whether it
// rebuilds the counted lists (its sender leaves that off while the last
// build is recent for its duration: see BuildPaced).
type Tick struct {
	At    time.Time
	Build bool
}

// ApplyTick applies the tick at stream sequence seq (after every message
// before it, which the caller applied first): "now" moves to its time,
// and the model is rebuilt from the state at seq: with a solve when the
// tick starts a dense slot (whatever Build says), else the counted lists
// when Build is set. later are the ticks that the caller applies right
// after this one, before any read can see the store at a sequence in
// between (the rest of a batch, when catching up): a build that a later
// one would replace is skipped. The counted lists are a function of the
// state alone, so only the last building tick's build counts for them;
// the dense lists are solved at the ticks that start a dense slot and
// kept at the others, so only the last such tick's solve counts. A
// tick's sequence and time are stored with the applied stream sequence,
// in one transaction. A tick at or below the applied sequence is already
// here and ignored.
func (s *Store) ApplyTick(ctx context.Context, seq uint64, tk Tick, later []Tick) error {
	done, err := s.StreamSeq()
	if err != nil {
		return fmt.Errorf("cannot read the applied stream sequence: %w", err)
	}
	if seq <= done {
		return nil
	}
	// Nodes' clocks differ a little, so a tick may be dated before the
	// one before it: "now" never goes back.
	ns := max(tk.At.UnixNano(), s.tick.at.Load())
	solve := s.slotStarts(ns, s.tick.at.Load())
	laterSolve, laterBuild, prev := false, false, ns
	for _, t := range later {
		cur := max(t.At.UnixNano(), prev)
		st := s.slotStarts(cur, prev)
		laterSolve, laterBuild = laterSolve || st, laterBuild || st || t.Build
		prev = cur
	}
	// The model first: a crash before the sequence is stored applies
	// the tick again after the restart, which rebuilds the same model.
	prevNS := s.tick.at.Load()
	s.tick.at.Store(ns)
	s.tick.seq.Store(seq)
	switch {
	case solve && !laterSolve || !solve && tk.Build && !laterBuild:
		start := time.Now()
		s.refreshTick(solve)
		s.tick.builtAt.Store(time.Now().UnixNano())
		s.tick.buildDur.Store(int64(time.Since(start)))
		s.tick.solveOwed.Store(!solve)
		s.tick.buildOwed.Store(false)
	case !solve && !tk.Build:
		s.tick.buildOwed.Store(true)
	}
	s.tickHooks(ns, prevNS, later)
	return s.do(func() error { return s.storeTick(seq, ns) })
}

// tickHooks runs the OnTick hooks of a tick at ns after one at prevNS (0:
// none).
func (s *Store) tickHooks(ns, prevNS int64, later []Tick) {
	var prev time.Time
	if prevNS != 0 {
		prev = time.Unix(0, prevNS).UTC()
	}
	at := time.Unix(0, ns).UTC()
	var times []time.Time
	p := ns
	for _, t := range later {
		p = max(p, t.At.UnixNano()) // "now" never goes back (ApplyTick)
		times = append(times, time.Unix(0, p).UTC())
	}
	s.runHooks(func(h Hooks) {
		if h.OnTick != nil {
			h.OnTick(at, prev, times)
		}
	})
}

// BuildOwed reports whether the last tick applied did not rebuild (its
// sender paced it): a tick is worth sending although no message came
// since, so that the lists catch up with the messages.
func (s *Store) BuildOwed() bool { return s.tick.buildOwed.Load() }

// BuildPaced says whether a tick sent at now should rebuild the counted
// lists: once twice the last build's duration has passed since it ended
// (as the single-node refresh paces itself), so that under a write load
// whose builds take longer than the tick interval the apply is not all
// builds. It reads this node's own builds; the answer goes into the tick,
// so every node builds at the same ticks.
func (s *Store) BuildPaced(now time.Time) bool {
	at := s.tick.builtAt.Load()
	return at == 0 || now.Sub(time.Unix(0, at)) >= 2*time.Duration(s.tick.buildDur.Load())
}

// SolveDue reports whether a tick sent at now would solve the dense lists
// again and they lack messages: then a tick is worth sending although no
// message came since the last one, or the last writes before a quiet
// spell would wait for the next write to reach the dense lists.
func (s *Store) SolveDue(now time.Time) bool {
	return s.tick.solveOwed.Load() && s.slotStarts(now.UnixNano(), s.tick.at.Load())
}

// SolveOwed reports whether the dense lists lack messages the last tick
// applied (a tick in a later dense slot will solve them).
func (s *Store) SolveOwed() bool { return s.tick.solveOwed.Load() }

// slotStarts reports whether a tick at ns (unix ns) is the first of its
// DenseInterval slot: the tick before it, at prev, was in an earlier one,
// or there was none (prev 0).
func (s *Store) slotStarts(ns, prev int64) bool {
	if prev == 0 {
		return true
	}
	d := int64(max(s.opts.DenseInterval, time.Second))
	return ns/d != prev/d
}

// refreshTick builds the model from the index as it is: every counted list
// counted again, the dense lists solved when solve is set and otherwise
// kept, with the configured options (no tuning: the tuner's schedule is
// the node's own). The caller makes sure no stream message is applied
// meanwhile (the follower applies one batch at a time and waits for this).
func (s *Store) refreshTick(solve bool) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	_, _, seq := s.idx.takeDirty()
	prev := s.model.Load()
	o := s.opts.Neighbours
	m := buildModel(s.idx, prev, nil, s.prod.len(), o, !solve, buildWorkers(true))
	m.Options = o
	m.Seq = seq
	if solve {
		s.denseAt, s.denseDur, s.denseStale = time.Now(), m.BuildDuration, false
	}
	s.model.Store(m)
}

// storeTick records the tick and the applied stream sequence; writer
// goroutine only (s.do).
func (s *Store) storeTick(seq uint64, ns int64) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		v := make([]byte, 16)
		binary.BigEndian.PutUint64(v, seq)
		binary.BigEndian.PutUint64(v[8:], uint64(ns))
		if err := txn.Set(keyStr(keyStreamTick, ""), v); err != nil {
			return err
		}
		return txn.Set(keyStr(keyStreamSeq, ""), v[:8])
	})
	if err != nil {
		err = fmt.Errorf("cannot store stream tick %d: %w", seq, classifyErr(err))
		s.setErr(err)
	}
	return err
}

// lastTick reads the stored tick (zeros when none).
func (s *Store) lastTick() (seq uint64, ns int64, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(keyStr(keyStreamTick, ""))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 16 {
				return fmt.Errorf("stream tick value of %d bytes", len(v))
			}
			seq, ns = binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:]))
			return nil
		})
	})
	return seq, ns, err
}
