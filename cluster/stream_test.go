package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

func TestReplicasFollowClusterSize(t *testing.T) {
	one := natstest.StartT(t, 1)
	if s := setup(t, connect(t, one.URL(0)), StreamConfig{Name: "R1"}); s.Replicas != 1 {
		t.Errorf("single server: replicas %d, want 1", s.Replicas)
	}
	three := cluster3(t)
	s := setup(t, connect(t, three.URL(0)), StreamConfig{Name: "R3"})
	if s.Replicas != 3 {
		t.Errorf("three servers: replicas %d, want 3", s.Replicas)
	}
	// A second Setup (another node starting) finds the stream as it is.
	if again := setup(t, connect(t, three.URL(2)), StreamConfig{Name: "R3"}); again.Replicas != 3 {
		t.Errorf("second setup: replicas %d", again.Replicas)
	}
	// Another prefix on the same stream name is another application: refused.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := Setup(ctx, connect(t, three.URL(1)), StreamConfig{Name: s.Name, Prefix: "other"}); err == nil {
		t.Error("setup with another prefix accepted")
	}
}

// Writes through server A are applied in order by a follower connected to C.
func TestPublishOnAFollowOnC(t *testing.T) {
	c := cluster3(t)
	a := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "AC"})
	cs := setup(t, connect(t, c.URL(2)), StreamConfig{Name: "AC"})
	var got collector
	f := follow(t, cs, 0, got.apply)
	p := NewPublisher(a)
	var last uint64
	for i := range 10 {
		ack := publish(t, p, batch(a.Subjects, "m", i*50, 50))
		if ack.LastSeq <= last || ack.Duplicates != 0 {
			t.Fatalf("batch %d: ack %+v after %d", i, ack, last)
		}
		last = ack.LastSeq
	}
	waitFor(t, f, last)
	recs := got.all()
	if len(recs) != 500 || uint64(len(recs)) != last {
		t.Fatalf("applied %d, last seq %d, want 500", len(recs), last)
	}
	for i, r := range recs {
		if want := fmt.Sprintf("m-%d", i); r.seq != uint64(i+1) || r.data != want {
			t.Fatalf("record %d: seq %d data %q, want seq %d %q", i, r.seq, r.data, i+1, want)
		}
	}
	if st := f.Status(); st.StalledAt != 0 || st.Applied != last {
		t.Fatalf("status %+v", st)
	}
}

// A retry of an acknowledged write through another server is stored once.
func TestDedupThroughOtherServer(t *testing.T) {
	c := cluster3(t)
	a := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "DEDUP"})
	b := setup(t, connect(t, c.URL(1)), StreamConfig{Name: "DEDUP"})
	first := publish(t, NewPublisher(a), batch(a.Subjects, "d", 0, 5))
	again := publish(t, NewPublisher(b), batch(b.Subjects, "d", 0, 5))
	if again.Duplicates != 5 || again.LastSeq != first.LastSeq {
		t.Fatalf("retry: %+v, first %+v", again, first)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if last, _, err := b.LastSeq(ctx); err != nil || last != 5 {
		t.Fatalf("stream last seq %d (%v), want 5", last, err)
	}
}

// A follower given the sequence it had applied resumes after it.
func TestFollowerResumesFromSequence(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(1)), StreamConfig{Name: "RESUME"})
	ack := publish(t, NewPublisher(s), batch(s.Subjects, "r", 0, 20))
	var got collector
	f := follow(t, s, 12, got.apply)
	waitFor(t, f, ack.LastSeq)
	recs := got.all()
	if len(recs) != 8 || recs[0].seq != 13 || recs[0].data != "r-12" {
		t.Fatalf("resumed with %d records, first %+v; want 8 from seq 13", len(recs), recs[0])
	}
}

// A message the node cannot apply stops the follower at it, visibly; nothing
// after it is applied and waits for later sequences fail instead of hanging.
func TestFollowerStallsOnBadMessage(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "STALL"})
	p := NewPublisher(s)
	publish(t, p, batch(s.Subjects, "ok", 0, 3))
	publish(t, p, []Msg{{Subject: s.Subjects.Definition("offers"), Data: []byte("\xffgarbage")}})
	last := publish(t, p, batch(s.Subjects, "ok", 3, 3)).LastSeq
	var got collector
	got.fail = func(seq uint64, data []byte) error {
		if data[0] == 0xff {
			return errors.New("cannot decode")
		}
		return nil
	}
	f := NewFollower(s, FollowerConfig{Apply: got.apply, Poll: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err := f.Run(ctx)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("Run: %v", err)
	}
	st := f.Status()
	if st.StalledAt != 4 || st.Applied != 3 || st.Err == nil || len(got.all()) != 3 {
		t.Fatalf("status %+v, applied %d records", st, len(got.all()))
	}
	if err := f.WaitFor(ctx, last); !errors.Is(err, ErrStalled) {
		t.Fatalf("WaitFor past the stall: %v", err)
	}
}

// WaitFor gives up at its bound with the lag named.
func TestWaitForBounded(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(2)), StreamConfig{Name: "WAIT"})
	f := follow(t, s, 0, func(uint64, string, []byte) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var lag *LagError
	if err := f.WaitFor(ctx, 99); !errors.As(err, &lag) || lag.Want != 99 {
		t.Fatalf("WaitFor: %v", err)
	}
}

// Publishing where no stream listens fails with an error that says so,
// promptly, instead of hanging. (Just after a stream is deleted, interest
// can linger on routes and the same publish times out instead, with an
// error saying that.)
func TestPublishNoStreamSaysSo(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "NOSTREAM"})
	nowhere := *s
	nowhere.Subjects = Subjects{Prefix: "nobody-listens"}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := NewPublisher(&nowhere).Publish(ctx, batch(nowhere.Subjects, "x", 0, 3))
	if !errors.Is(err, ErrNotAcknowledged) || !strings.Contains(err.Error(), "no JetStream server answered") {
		t.Fatalf("publish where no stream listens: %v", err)
	}
}
