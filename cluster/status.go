package cluster

import (
	"context"
	"fmt"
	"time"
)

// Status is what a node reports about its follower (for /readyz, /metrics).
type Status struct {
	Applied   uint64  // last applied stream sequence
	Head      uint64  // stream's last sequence at the last poll (polling ends when Run returns)
	LagMsgs   uint64  // Head - Applied (purged messages in between count too)
	LagSecs   float64 // write time of Head minus write time of Applied; 0 when caught up
	Rate      float64 // messages applied per second over the last poll interval
	StalledAt uint64  // sequence that could not be applied; 0 while healthy
	Err       error   // why it stalled
	// Silent is how long the stream has not answered a poll (0 when the
	// last poll did): a node cut off from NATS sees no new head, so its
	// lag understates; Silent is what tells.
	Silent time.Duration
	// ReadErr is why reading the stream is not going well (a consumer that
	// cannot be created, or one that went silent with messages pending);
	// nil again once a message arrives. Resumes counts the consumers the
	// follower replaced (silent, or closed under it): each resumes from the
	// last applied message.
	ReadErr error
	Resumes uint64
}

// Status is a consistent-enough snapshot for monitoring (fields are read
// without stopping the apply loop).
func (f *Follower) Status() Status {
	applied := f.applied.Load()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Status{Applied: applied, Head: f.head, Rate: f.rate, StalledAt: f.stalledAt, Err: f.stallErr,
		ReadErr: f.readErr, Resumes: f.resumes.Load()}
	if since := time.Since(f.polledAt); since > f.cfg.Poll+f.cfg.Poll/2 {
		s.Silent = since
	}
	if f.head > applied {
		s.LagMsgs = f.head - applied
		if at := f.appliedAt.Load(); at > 0 {
			s.LagSecs = max(0, f.headAt.Sub(time.Unix(0, at)).Seconds())
		} else {
			s.LagSecs = max(0, time.Since(f.headAt).Seconds())
		}
	}
	return s
}

// Applied is the last applied stream sequence.
func (f *Follower) Applied() uint64 { return f.applied.Load() }

// Done is closed when Run has returned.
func (f *Follower) Done() <-chan struct{} { return f.done }

// LagError is WaitFor's answer when the bound passed first.
type LagError struct {
	Want, Applied uint64
}

func (e *LagError) Error() string {
	return fmt.Sprintf("cluster: sequence %d not applied yet (applied %d, %d behind)", e.Want, e.Applied, e.Want-e.Applied)
}

// WaitFor returns nil once seq is applied, a *LagError when ctx ends first
// (give it the read-your-writes bound as a deadline), or the stall error when
// the follower stopped before reaching seq. It never waits without a bound
// other than ctx.
func (f *Follower) WaitFor(ctx context.Context, seq uint64) error {
	if f.applied.Load() >= seq {
		return nil
	}
	f.waiters.Add(1)
	defer f.waiters.Add(-1)
	for {
		f.mu.Lock()
		wake, stallErr := f.wake, f.stallErr
		f.mu.Unlock()
		// Read applied after taking wake: an advance after this point closes
		// wake (the applier sees waiters > 0), so none is missed.
		applied := f.applied.Load()
		if applied >= seq {
			return nil
		}
		if stallErr != nil {
			return stallErr
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return &LagError{Want: seq, Applied: f.applied.Load()}
		}
	}
}
