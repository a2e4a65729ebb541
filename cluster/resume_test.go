package cluster

import (
	"context"
	"testing"
	"time"
)

// A consumer that takes the follower's pull request but delivers nothing
// (here paused on the server; under load, one whose pull request was
// answered "no responders" before its interest reached this client's
// server) is replaced: the follower resumes from the last applied message
// with a new consumer, applies every message once and in order, says so in
// Status, and deletes the silent one.
func TestFollowerReplacesSilentConsumer(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "SILENT"})
	p := NewPublisher(s)
	var got collector
	f := follow(t, s, 0, got.apply)
	waitFor(t, f, publish(t, p, batch(s.Subjects, "a", 0, 5)).LastSeq)

	silent := onlyConsumer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := s.JS.PauseConsumer(ctx, s.Name, silent, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The pause is answered before the consumer's own server applies it;
	// the consumer's info comes from that server.
	eventually(t, "the consumer paused", func() bool {
		c, err := s.JS.Consumer(ctx, s.Name, silent)
		return err == nil && c.CachedInfo().Paused
	})
	last := publish(t, p, batch(s.Subjects, "b", 0, 5)).LastSeq
	waitFor(t, f, last)
	checkOnceInOrder(t, got.all(), last)
	if st := f.Status(); st.Resumes == 0 || st.ReadErr != nil {
		t.Fatalf("after a silent consumer: %+v", st)
	}
	eventually(t, "the silent consumer deleted", func() bool { return !hasConsumer(t, s, silent) })
}

// A follower whose consumer is deleted on the server resumes with a new
// one from the last applied message.
func TestFollowerResumesAfterConsumerDeleted(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(1)), StreamConfig{Name: "DELETED"})
	p := NewPublisher(s)
	var got collector
	f := follow(t, s, 0, got.apply)
	waitFor(t, f, publish(t, p, batch(s.Subjects, "a", 0, 5)).LastSeq)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.JS.DeleteConsumer(ctx, s.Name, onlyConsumer(t, s)); err != nil {
		t.Fatal(err)
	}
	last := publish(t, p, batch(s.Subjects, "b", 0, 5)).LastSeq
	waitFor(t, f, last)
	checkOnceInOrder(t, got.all(), last)
}

// onlyConsumer is the name of the stream's one consumer (the follower's).
func onlyConsumer(t *testing.T, s *Stream) string {
	t.Helper()
	names := consumers(t, s)
	if len(names) != 1 {
		t.Fatalf("consumers of %s: %v, want the follower's only", s.Name, names)
	}
	return names[0]
}

func hasConsumer(t *testing.T, s *Stream, name string) bool {
	for _, n := range consumers(t, s) {
		if n == name {
			return true
		}
	}
	return false
}

func consumers(t *testing.T, s *Stream) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	l := s.Stream.ConsumerNames(ctx)
	var names []string
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// checkOnceInOrder checks that recs are sequences 1..last, each once.
func checkOnceInOrder(t *testing.T, recs []record, last uint64) {
	t.Helper()
	if uint64(len(recs)) != last {
		t.Fatalf("%d messages applied, want %d", len(recs), last)
	}
	for i, r := range recs {
		if r.seq != uint64(i+1) {
			t.Fatalf("message %d applied at position %d", r.seq, i+1)
		}
	}
}
