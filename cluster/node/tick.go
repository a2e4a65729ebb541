package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/features"
)

// Ticks put time and model rebuilds into the stream (issue 16 point 4:
// nodes that applied the same sequence serve the same lists; see
// features/clustertick.go and docs/cluster.md, "Same answers on every
// node"). Every node publishes a tick to <prefix>.tick once per tick
// interval when it has applied messages since the last tick. Its
// Nats-Msg-Id is "tick-" and the interval's number (wall time divided by
// the interval), so JetStream's dedup window keeps one tick per interval
// whichever nodes send it and however many; any node can send it, so
// ticks go on while any node is up. Applying the tick at sequence S moves
// every node's "now" to the tick's time and rebuilds its model from the
// state at S.

// DefaultTick is the tick interval when Config.Tick is 0: a write shows in
// the lists (popularity, neighbours) within about this long plus a build.
const DefaultTick = time.Second

// tickVersion is the first byte of a tick message; a node stops on any
// other (a newer format) rather than guess.
const tickVersion = 1

// tickSize is a tick message's length: the version, the time (unix ns,
// big endian) and the build flag (features.Tick.Build: 1 or 0).
const tickSize = 10

// tickSubject is the subject ticks are published on.
func (n *Node) tickSubject() string { return n.st.Subjects.Prefix + ".tick" }

// encodeTick is a tick message's body.
func encodeTick(tk features.Tick) []byte {
	b := make([]byte, tickSize)
	b[0] = tickVersion
	binary.BigEndian.PutUint64(b[1:], uint64(tk.At.UnixNano()))
	if tk.Build {
		b[9] = 1
	}
	return b
}

func decodeTick(b []byte) (features.Tick, error) {
	if len(b) != tickSize || b[0] != tickVersion || b[9] > 1 {
		return features.Tick{}, fmt.Errorf("a tick of %d bytes, version %d (this version reads %d bytes, version %d)", len(b), firstByte(b), tickSize, tickVersion)
	}
	return features.Tick{At: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:]))).UTC(), Build: b[9] == 1}, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// startTicks switches the store to the stream's clock and rebuilds (before
// the follower applies anything) and starts publishing ticks until ctx ends.
func (n *Node) startTicks(ctx context.Context) error {
	if n.cfg.Tick <= 0 {
		n.cfg.Tick = DefaultTick
	}
	if err := n.store.UseStreamTicks(); err != nil {
		return err
	}
	go n.tickLoop(ctx)
	return nil
}

// tickLoop publishes a tick every interval while there are messages since
// the last one this node applied, and once more when the last one did not
// build (features.BuildOwed) or the dense lists owe a solve that the next
// dense slot would bring (features.SolveDue). A tick rebuilds the counted
// lists unless this node's last build is recent for its duration
// (features.BuildPaced). A failed publish is retried at the next
// interval (the log shows it at debug level: an outage shows elsewhere).
func (n *Node) tickLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last, _ := n.store.LastTick()
		now := time.Now()
		if n.fol.Status().Applied <= last && !n.store.BuildOwed() && !n.store.SolveDue(now) {
			continue // nothing since the last tick (or nothing at all)
		}
		tk := features.Tick{At: now, Build: n.store.BuildPaced(now)}
		if err := n.publishTick(ctx, tk); err != nil && ctx.Err() == nil {
			n.cfg.Log.Debug("cluster tick not published", "err", err)
		}
	}
}

// publishTick publishes the tick of the interval its time falls in.
func (n *Node) publishTick(ctx context.Context, tk features.Tick) error {
	id := "tick-" + strconv.FormatInt(tk.At.UnixNano()/int64(n.cfg.Tick), 10)
	_, err := n.pub.Publish(ctx, []cluster.Msg{{Subject: n.tickSubject(), Data: encodeTick(tk), ID: id}})
	return err
}

// applyTick applies the events before the tick (entries), then the tick m.
// rest are the messages after it in the batch, applied before any read
// sees this one's state: their ticks let the store skip builds that
// theirs replace (features.Store.ApplyTick).
func (n *Node) applyTick(entries []features.LogEntry, m cluster.Message, rest []cluster.Message) error {
	if err := n.applyEntries(entries); err != nil {
		return err
	}
	tk, err := decodeTick(m.Data)
	if err != nil {
		return &cluster.BadMessage{Seq: m.Seq, Err: err}
	}
	var later []features.Tick
	for _, r := range rest {
		if r.Subject == n.tickSubject() {
			t, err := decodeTick(r.Data)
			if err != nil {
				break // applying it stops the batch there
			}
			later = append(later, t)
		}
	}
	return n.store.ApplyTick(context.Background(), m.Seq, tk, later)
}

// applyEntries applies event messages, naming a message the store cannot
// decode.
func (n *Node) applyEntries(entries []features.LogEntry) error {
	err := n.store.ApplyLog(context.Background(), entries)
	var bad *features.BadLogEntry
	if errors.As(err, &bad) {
		return &cluster.BadMessage{Seq: bad.Seq, Err: bad.Err}
	}
	return err
}
