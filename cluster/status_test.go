package cluster

import (
	"context"
	"testing"
	"time"
)

// Lag in messages shows while the apply is held up and goes to zero once
// it catches up.
func TestStatusShowsLag(t *testing.T) {
	c := cluster3(t)
	s := setup(t, connect(t, c.URL(0)), StreamConfig{Name: "LAG"})
	last := publish(t, NewPublisher(s), batch(s.Subjects, "l", 0, 10)).LastSeq
	release := make(chan struct{})
	f := follow(t, s, 0, func(uint64, string, []byte) error { <-release; return nil })
	eventually(t, "lag of 10", func() bool {
		st := f.Status()
		return st.Head == last && st.LagMsgs == last && st.Applied == 0 && st.LagSecs >= 0
	})
	close(release)
	waitFor(t, f, last)
	eventually(t, "no lag", func() bool { st := f.Status(); return st.LagMsgs == 0 && st.LagSecs == 0 })
}

// eventually polls cond until it holds, failing after testTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("%s: not reached in %s", what, testTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
