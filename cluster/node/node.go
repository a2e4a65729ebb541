// Package node joins one Affinity store to the cluster stream: it is the
// store's features.EventLog (validated events are published, not committed
// locally) and runs the follower that applies the stream, in order, into the
// store. The cluster package knows nothing of Affinity's records and
// features nothing of NATS; this is where the two meet.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/features"
)

// Config is a node's cluster settings.
type Config struct {
	URLs   string               // NATS servers, comma-separated
	Name   string               // this node's name in the servers' connection lists
	Stream cluster.StreamConfig // stream name, subject prefix, replicas
	MaxLag uint64               // /readyz is 503 while more messages than this are unapplied
	// MaxSilence: /readyz is 503 while the stream has not answered for
	// longer (a node cut off from NATS cannot know its lag).
	MaxSilence time.Duration
	MinSeq     time.Duration // bound of a read's X-Affinity-Min-Seq wait
	// Hold: Start does not apply the stream yet; Follow starts it. serve
	// holds until its services exist, so that none misses a change applied
	// before it registered its hooks (an erasure applied before the offer
	// service registered its journal left that customer's showings open).
	Hold bool
	Poll time.Duration // how often the stream head is asked for (lag); 1 s when 0
	Tick time.Duration // stream tick interval (tick.go); DefaultTick when 0
	Log  *slog.Logger  // apply failures are logged here
	Ops  OpsConfig     // registry entry and bootstrap snapshots (registry.go)
}

// Defaults of Config.
const (
	DefaultMaxLag     = 10000
	DefaultMinSeq     = time.Second
	DefaultMaxSilence = 5 * time.Second
)

// Node is a running cluster member.
type Node struct {
	cfg    Config
	store  *features.Store
	nc     *nats.Conn
	st     *cluster.Stream
	pub    *cluster.Publisher
	fol    *cluster.Follower
	from   uint64
	cancel context.CancelFunc
	ops    *ops // registry heartbeat, snapshot publisher (registry.go)

	runCtx     context.Context // the follower's, cancelled by Close
	followOnce sync.Once
	following  atomic.Bool
}

// Start connects, sets up (or checks) the stream, switches store to publish
// its events, and follows the stream from the sequence the store has
// applied. Close stops it.
func Start(ctx context.Context, store *features.Store, cfg Config) (*Node, error) {
	if cfg.MaxLag == 0 {
		cfg.MaxLag = DefaultMaxLag
	}
	if cfg.MinSeq <= 0 {
		cfg.MinSeq = DefaultMinSeq
	}
	if cfg.MaxSilence <= 0 {
		cfg.MaxSilence = DefaultMaxSilence
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	from, err := store.StreamSeq()
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the applied stream sequence: %w", err)
	}
	nc, js, err := cluster.Connect(cfg.URLs, cfg.Name)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := cluster.Setup(sctx, js, cfg.Stream)
	cancel()
	if err != nil {
		nc.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, store: store, nc: nc, st: st, pub: cluster.NewPublisher(st), from: from}
	n.fol = cluster.NewFollower(st, cluster.FollowerConfig{From: from, ApplyBatch: n.apply, MaxBatch: 512, Poll: cfg.Poll})
	if err := n.startOps(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	store.SetEventLog(n)
	store.SetOpLog(n)
	rctx, rcancel := context.WithCancel(context.Background())
	n.cancel = rcancel
	if err := n.startTicks(rctx); err != nil {
		rcancel()
		nc.Close()
		return nil, err
	}
	n.runCtx = rctx
	if !cfg.Hold {
		n.Follow()
	}
	return n, nil
}

// Follow starts applying the stream (once; Start does it unless
// Config.Hold).
func (n *Node) Follow() {
	n.followOnce.Do(func() {
		n.following.Store(true)
		go n.run(n.runCtx)
		n.cfg.Log.Info("following the cluster stream", "stream", n.st.Name, "replicas", n.st.Replicas, "from_seq", n.from)
	})
}

func (n *Node) run(ctx context.Context) {
	err := n.fol.Run(ctx)
	if err == nil || ctx.Err() != nil {
		return // closed (a consumer being created when Close came fails with ctx's error)
	}
	st := n.fol.Status()
	// Loud: the node stops applying, /readyz turns 503, the stalled
	// sequence shows in /metrics, and this names it.
	n.cfg.Log.Error("cluster apply stopped", "stalled_at_seq", st.StalledAt, "applied_seq", st.Applied, "err", err)
}

// apply is the follower's ApplyBatch: each run of consecutive messages of
// one kind goes to that kind's applier (dispatch.go), in order.
func (n *Node) apply(msgs []cluster.Message) error {
	for len(msgs) > 0 {
		if msgs[0].Subject == n.tickSubject() {
			// Ticks (tick.go) do not parse as subjects of a kind: a run
			// ends before one, and it is applied alone, told of the ticks
			// after it in the batch.
			if err := n.applyTick(nil, msgs[0], msgs[1:]); err != nil {
				return err
			}
			msgs = msgs[1:]
			continue
		}
		p, err := n.st.Subjects.Parse(msgs[0].Subject)
		ap, known := appliers[p.Kind]
		if err == nil && !known {
			err = fmt.Errorf("message kind %q is not applied by this version", p.Kind)
		}
		if err != nil {
			return &cluster.BadMessage{Seq: msgs[0].Seq, Err: err}
		}
		run := 1
		for run < len(msgs) {
			q, err := n.st.Subjects.Parse(msgs[run].Subject)
			if err != nil || q.Kind != p.Kind {
				break
			}
			run++
		}
		entries := make([]features.LogEntry, run)
		for i, m := range msgs[:run] {
			entries[i] = features.LogEntry{Seq: m.Seq, Data: m.Data}
		}
		err = ap(n, entries)
		var bad *features.BadLogEntry
		if errors.As(err, &bad) {
			return &cluster.BadMessage{Seq: bad.Seq, Err: bad.Err}
		}
		if err != nil {
			return err
		}
		msgs = msgs[run:]
	}
	return nil
}

// Append is the store's EventLog: one message per customer run, on the
// customer's subject, acknowledged by a quorum of the stream's replicas.
func (n *Node) Append(ctx context.Context, msgs []features.LogMessage) (uint64, []bool, error) {
	batch := make([]cluster.Msg, len(msgs))
	for i, m := range msgs {
		batch[i] = cluster.Msg{Subject: n.st.Subjects.Customer(m.Customer, kindEvents), Data: m.Data, ID: m.ID}
	}
	ack, err := n.pub.Publish(ctx, batch)
	if err != nil {
		return 0, nil, err
	}
	return ack.LastSeq, ack.Duplicate, nil
}

// Status is the follower's status (applied, lag, rate, stall).
func (n *Node) Status() cluster.Status { return n.fol.Status() }

// WaitFor waits, at most the configured bound, until seq is applied here.
func (n *Node) WaitFor(ctx context.Context, seq uint64) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.MinSeq)
	defer cancel()
	if err := n.fol.WaitFor(ctx, seq); err != nil {
		return err
	}
	// Applied, and the services' reloads of what it changed done too (a
	// segment defined through another node is served, not only stored).
	if n.store.WaitWatched(ctx, seq) != nil {
		return &cluster.LagError{Want: seq, Applied: seq - 1}
	}
	return nil
}

// Ready says why the node should not take traffic, or nil: its apply has
// stopped, it is more than MaxLag messages behind, or the stream has not
// answered for longer than MaxSilence. Each clears by itself (but a stall)
// once the cause does.
func (n *Node) Ready() error {
	st := n.fol.Status()
	switch {
	case st.StalledAt != 0:
		return fmt.Errorf("cluster apply stopped at stream sequence %d: %w", st.StalledAt, st.Err)
	case st.Silent > n.cfg.MaxSilence:
		return fmt.Errorf("the cluster stream has not answered for %.1f s (more than %s): lag unknown", st.Silent.Seconds(), n.cfg.MaxSilence)
	case st.LagMsgs > n.cfg.MaxLag:
		return fmt.Errorf("%d messages (%.1f s) behind the cluster stream, more than max_lag %d", st.LagMsgs, st.LagSecs, n.cfg.MaxLag)
	}
	return nil
}

// From is the stream sequence the store had applied when the node started:
// it follows from the next one.
func (n *Node) From() uint64 { return n.from }

// Stream is the set-up stream (its name and replicas, for reports).
func (n *Node) Stream() *cluster.Stream { return n.st }

// Close stops following and disconnects; the store stays open (its owner
// closes it after).
func (n *Node) Close() {
	n.cancel()
	n.closeBounded()
}
