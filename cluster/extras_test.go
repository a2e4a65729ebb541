package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSnapshotsNewestStreams(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "SNAP"})
	// A bound, not a timing check: three snapshots into a 3-replica bucket
	// took most of 20 s on a busy 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	snaps, err := OpenSnapshots(ctx, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := snaps.Newest(ctx); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty bucket: %v", err)
	}
	// 1 MB of a pattern, several of the object store's 128 KB chunks, read
	// from a reader (not a byte slice) so Put cannot size it up front.
	body := func(seq uint64) io.Reader {
		return io.LimitReader(strings.NewReader(strings.Repeat(fmt.Sprintf("snapshot %d;", seq), 1<<17)), 1<<20)
	}
	for _, seq := range []uint64{9, 1000, 120} {
		if err := snaps.Put(ctx, seq, body(seq)); err != nil {
			t.Fatal(err)
		}
	}
	other, err := OpenSnapshots(ctx, setup(t, connect(t, c.URL(2)), StreamConfig{Name: "SNAP"}), 2)
	if err != nil {
		t.Fatal(err)
	}
	seq, r, err := other.Newest(ctx)
	if err != nil || seq != 1000 {
		t.Fatalf("newest: %d, %v", seq, err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	want, _ := io.ReadAll(body(1000))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("snapshot 1000: %d bytes (%v), want %d", len(got), err, len(want))
	}
	// The bucket's listing can lag a write by a moment on a replicated
	// bucket (observed: the newest meta entry missing), so poll, bounded.
	for {
		seqs, err := snaps.list(ctx)
		if err == nil && len(seqs) == 2 && seqs[0] == 120 && seqs[1] == 1000 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("kept %v (%v), want [120 1000]", seqs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Nine workers on three connections to three servers race to take 25 units
// of one limit: exactly 25 succeed.
func TestCountersExactAcrossServers(t *testing.T) {
	c := cluster3(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var counters [3]*Counters
	for i := range counters {
		var err error
		counters[i], err = OpenCounters(ctx, setup(t, connect(t, c.URL(i)), StreamConfig{Name: "CAP"}))
		if err != nil {
			t.Fatal(err)
		}
	}
	key := CounterKey("offer 1", "cust/7")
	const limit = 25
	var won, lost atomic.Int64
	var wg sync.WaitGroup
	for w := range 9 {
		wg.Go(func() {
			for range 6 {
				ok, err := counters[w%3].TryIncrement(ctx, key, limit)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					won.Add(1)
				} else {
					lost.Add(1)
				}
			}
		})
	}
	wg.Wait()
	v, err := counters[1].Value(ctx, key)
	if won.Load() != limit || lost.Load() != 9*6-limit || v != limit || err != nil {
		t.Fatalf("won %d lost %d value %d (%v), limit %d", won.Load(), lost.Load(), v, err, limit)
	}
	if ok, _, err := counters[0].TryAdd(ctx, CounterKey("budget"), 40, 100); !ok || err != nil {
		t.Fatalf("budget add: %v %v", ok, err)
	}
	if ok, v, _ := counters[2].TryAdd(ctx, CounterKey("budget"), 61, 100); ok || v != 40 {
		t.Fatalf("budget past its limit: %v, value %d", ok, v)
	}
}

// After an erasure, a node that follows the stream from the start (new, or
// down during the erasure) never receives the customer's earlier messages.
func TestEraseBeforeFollowerStarts(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "ERASE"})
	p := NewPublisher(s)
	var msgs []Msg
	for i := range 30 {
		cust := []string{"gone.customer", "kept"}[i%2]
		msgs = append(msgs, Msg{Subject: s.Subjects.Customer(cust, []string{"ev", "resp", "attrs"}[i%3]), Data: []byte(cust)})
	}
	publish(t, p, msgs)
	publish(t, p, []Msg{{Subject: s.Subjects.Definition("offers"), Data: []byte("def")}})
	erasure := publish(t, p, []Msg{{Subject: s.Subjects.Erasure(), Data: []byte("gone.customer")}}).LastSeq
	after := publish(t, p, []Msg{{Subject: s.Subjects.Customer("gone.customer", "ev"), Data: []byte("gone.customer again")}}).LastSeq
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Erase(ctx, "gone.customer", erasure); err != nil {
		t.Fatal(err)
	}
	var got collector
	f := follow(t, setup(t, connect(t, c.URL(2)), StreamConfig{Name: "ERASE"}), 0, got.apply)
	waitFor(t, f, after)
	var kept, gone int
	for _, r := range got.all() {
		p, err := s.Subjects.Parse(r.subject)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Customer == "gone.customer" && r.seq < erasure:
			t.Fatalf("erased message seq %d (%s) delivered", r.seq, r.subject)
		case p.Customer == "gone.customer":
			gone++ // written after the erasure: a new life, kept
		case p.Customer == "kept":
			kept++
		}
	}
	if kept != 15 || gone != 1 {
		t.Fatalf("kept %d (want 15), after-erasure %d (want 1)", kept, gone)
	}
}
