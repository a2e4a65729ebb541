package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// ApplyBatch receives every message once, in order, in consecutive runs.
func TestFollowerBatches(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "BATCH"})
	p := NewPublisher(s)
	var last uint64
	for i := range 4 {
		last = publish(t, p, batch(s.Subjects, "b", i*250, 250)).LastSeq
	}
	var got collector
	f := NewFollower(s, FollowerConfig{MaxBatch: 100, ApplyBatch: func(ms []Message) error {
		if len(ms) > 100 {
			return fmt.Errorf("batch of %d, max 100", len(ms))
		}
		for _, m := range ms {
			got.apply(m.Seq, m.Subject, m.Data)
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-f.Done() }()
	go f.Run(ctx)
	waitFor(t, f, last)
	for i, r := range got.all() {
		if want := fmt.Sprintf("b-%d", i); r.seq != uint64(i+1) || r.data != want {
			t.Fatalf("record %d: seq %d %q, want %d %q", i, r.seq, r.data, i+1, want)
		}
	}
	if n := len(got.all()); n != 1000 {
		t.Fatalf("applied %d, want 1000", n)
	}
}

// A batch that names a bad message stalls the follower at that message and
// counts none of the batch as applied.
func TestFollowerBatchStallsAtNamedMessage(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(1)), StreamConfig{Name: "BSTALL"})
	p := NewPublisher(s)
	publish(t, p, batch(s.Subjects, "ok", 0, 40))
	bad := publish(t, p, []Msg{{Subject: s.Subjects.Definition("segments"), Data: []byte("\xff")}}).LastSeq
	publish(t, p, batch(s.Subjects, "ok", 40, 40))
	f := NewFollower(s, FollowerConfig{ApplyBatch: func(ms []Message) error {
		for _, m := range ms {
			if m.Data[0] == 0xff {
				return &BadMessage{Seq: m.Seq, Err: errors.New("unknown encoding")}
			}
		}
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := f.Run(ctx); !errors.Is(err, ErrStalled) {
		t.Fatalf("Run: %v", err)
	}
	if st := f.Status(); st.StalledAt != bad || st.Applied >= bad {
		t.Fatalf("status %+v, bad message %d", st, bad)
	}
	if err := NewFollower(s, FollowerConfig{}).Run(ctx); err == nil {
		t.Fatal("a follower without Apply ran")
	}
}
