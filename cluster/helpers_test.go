package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// testTimeout bounds every wait in a test, so a broken cluster fails the
// test instead of hanging it (never a speed assertion).
const testTimeout = 20 * time.Second

func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, js, err := Connect(url, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return js
}

func setup(t testing.TB, js jetstream.JetStream, cfg StreamConfig) *Stream {
	t.Helper()
	cfg.Name = fmt.Sprintf("%s_%d", cfg.Name, runID(t))
	if cfg.Prefix == "" {
		cfg.Prefix = strings.ToLower(cfg.Name) // streams in one cluster need disjoint subjects
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s, err := Setup(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runID numbers test runs, so that -count=N runs on the shared cluster
// use fresh streams instead of the previous run's.
var (
	runMu  sync.Mutex
	runIDs = map[testing.TB]int{}
)

func runID(t testing.TB) int {
	runMu.Lock()
	defer runMu.Unlock()
	id, ok := runIDs[t]
	if !ok {
		id = len(runIDs) + 1
		runIDs[t] = id
	}
	return id
}

// shared3 is one 3-server cluster for the tests that do not stop servers;
// each of them uses its own stream. Starting a cluster costs seconds here.
var (
	shared3Once sync.Once
	shared3     *natstest.Cluster
	shared3Err  error
)

func cluster3(t testing.TB) *natstest.Cluster {
	t.Helper()
	shared3Once.Do(func() { shared3, shared3Err = natstest.Start(3, natstest.Options{}) })
	if shared3Err != nil {
		t.Fatal(shared3Err)
	}
	return shared3
}

// record is one applied message.
type record struct {
	seq     uint64
	subject string
	data    string
}

// collector is an ApplyFunc that keeps what it applied.
type collector struct {
	mu   sync.Mutex
	recs []record
	fail func(seq uint64, data []byte) error
}

func (c *collector) apply(seq uint64, subject string, data []byte) error {
	if c.fail != nil {
		if err := c.fail(seq, data); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.recs = append(c.recs, record{seq, subject, string(data)})
	c.mu.Unlock()
	return nil
}

func (c *collector) all() []record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]record(nil), c.recs...)
}

// follow starts a follower of s from `from` and stops it when the test ends.
func follow(t testing.TB, s *Stream, from uint64, apply ApplyFunc) *Follower {
	t.Helper()
	f := NewFollower(s, FollowerConfig{From: from, Apply: apply, Poll: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	go f.Run(ctx)
	t.Cleanup(func() { cancel(); <-f.Done() })
	return f
}

func waitFor(t testing.TB, f *Follower, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := f.WaitFor(ctx, seq); err != nil {
		t.Fatalf("waiting for sequence %d: %v (status %+v)", seq, err, f.Status())
	}
}

// batch is n messages on customer subjects, ids "<tag>-<i>", data = id.
func batch(subs Subjects, tag string, first, n int) []Msg {
	b := make([]Msg, n)
	for i := range b {
		id := fmt.Sprintf("%s-%d", tag, first+i)
		b[i] = Msg{Subject: subs.Customer(fmt.Sprintf("cust %d", (first+i)%7), "ev"), Data: []byte(id), ID: id}
	}
	return b
}

func publish(t testing.TB, p *Publisher, b []Msg) Ack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ack, err := p.Publish(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}
