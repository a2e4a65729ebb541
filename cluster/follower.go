package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ApplyFunc applies one message. It must be deterministic (every node
// applies the same messages in the same order and must reach the same
// state) and return an error, never skip, for a message it cannot decode or
// apply: the follower then stops at that message.
type ApplyFunc func(seq uint64, subject string, data []byte) error

// FollowerConfig says where to start and what to do with each message.
type FollowerConfig struct {
	// From is the last sequence the caller has already applied (persisted
	// with its state): the follower starts at From+1. 0 replays everything.
	From uint64
	// Apply applies one message at a time; or ApplyBatch, given instead,
	// gets the messages that are at hand (up to MaxBatch, consecutive, in
	// order) at once, so a store can commit them as one write batch. A
	// batch is all or nothing: on an error none of it counts as applied,
	// and the follower stalls at the sequence a *BadMessage names, else at
	// the batch's first.
	Apply      ApplyFunc
	ApplyBatch func([]Message) error
	MaxBatch   int // 512 when 0
	// Poll is how often the stream's head is asked for, for lag and rate;
	// 1 s when 0.
	Poll time.Duration
}

// Follower applies the stream in order on one node. It reads through an
// ordered consumer: ephemeral, in order, without gaps, and recreated by the
// client from the last delivered sequence when a server goes away. A
// watchdog replaces the consumer when it goes silent with messages pending
// (see stuck): the client library does not notice every such case.
type Follower struct {
	st  *Stream
	cfg FollowerConfig

	applied    atomic.Uint64
	appliedAt  atomic.Int64  // write time (unix ns) of the last applied message
	resumes    atomic.Uint64 // consumers replaced by the watchdog or after a closed iterator
	readErrSet atomic.Bool   // readErr is set: the apply loop clears it (the lock only then)

	mu        sync.Mutex
	wake      chan struct{} // closed and replaced when applied advances and someone waits
	waiters   atomic.Int32
	stalledAt uint64
	stallErr  error
	done      chan struct{} // closed when Run returns
	head      uint64        // stream's last sequence at the last poll
	headAt    time.Time     // its write time
	polledAt  time.Time     // when the stream last answered a poll (start time before)
	rate      float64       // messages applied per second over the last poll
	readErr   error         // the last error reading the stream; nil once a message follows
}

// NewFollower prepares a follower of s; Run starts it.
func NewFollower(s *Stream, cfg FollowerConfig) *Follower {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	f := &Follower{st: s, cfg: cfg, wake: make(chan struct{}), done: make(chan struct{}), polledAt: time.Now()}
	f.applied.Store(cfg.From)
	return f
}

// ErrStalled is wrapped by Run's error and Status.Err when a message could
// not be applied.
var ErrStalled = errors.New("cluster: follower stalled")

// Run applies messages until ctx ends (returns nil) or a message cannot be
// applied (returns an error wrapping ErrStalled and naming the sequence).
// Run may be called once.
func (f *Follower) Run(ctx context.Context) error {
	defer close(f.done)
	if (f.cfg.Apply == nil) == (f.cfg.ApplyBatch == nil) {
		return f.stall(f.cfg.From+1, errors.New("give the follower Apply or ApplyBatch (one of them)"))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.poll(ctx)
	quiet := f.quietBase()
	for {
		r := f.consume(ctx)
		if r == nil {
			return nil // ctx ended first
		}
		err := f.loop(ctx, r, &quiet)
		r.stop()
		if !errors.Is(err, errResume) {
			return err
		}
		// A new consumer from the last applied message on; the old one is
		// deleted rather than left to expire (5 minutes of server memory).
		f.resumes.Add(1)
		go f.deleteConsumer(r.name)
		quiet = min(2*quiet, maxQuiet)
	}
}

// reader is one ordered consumer and its message iterator.
type reader struct {
	cons jetstream.Consumer
	it   jetstream.MessagesContext
	name string
	// active is when it last delivered a message, the loop last finished
	// applying, or NATS was last out of reach (its creation before): a slow
	// apply or an outage is not a silent consumer.
	active time.Time
	stop   func()
}

// consume creates an ordered consumer from the message after the last
// applied one and starts it, retrying until ctx ends (nil then): a server
// that is away or a stream without a leader yet is a pause, not a reason to
// stop applying for good (stalls are for messages that cannot be applied).
// The ordered consumer recreates itself through server failures it sees;
// loop's watchdog covers those it does not see.
func (f *Follower) consume(ctx context.Context) *reader {
	for {
		from := f.applied.Load() + 1
		cons, err := f.st.JS.OrderedConsumer(ctx, f.st.Name, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:   from,
		})
		var it jetstream.MessagesContext
		if err == nil {
			it, err = cons.Messages(jetstream.PullMaxMessages(1000))
		}
		if err == nil {
			r := &reader{cons: cons, it: it, active: time.Now()}
			if info := cons.CachedInfo(); info != nil {
				r.name = info.Name
			}
			stopped := make(chan struct{})
			go func() {
				select {
				case <-ctx.Done():
				case <-stopped:
				}
				it.Stop()
			}()
			r.stop = sync.OnceFunc(func() { close(stopped) })
			return r
		}
		f.readFailed(fmt.Errorf("creating a consumer from stream sequence %d: %w", from, err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// flushWait is how long a batch waits for a message that JetStream said is
// pending before it is applied without it.
const flushWait = 5 * time.Millisecond

// errResume is loop's answer when its consumer is closed or stuck: Run
// then follows on with a new one.
var errResume = errors.New("cluster: resume with a new consumer")

// loop applies what r delivers. Next waits at most a poll interval, so that
// an idle iterator is looked at (idle) and a silent one does not go unseen.
func (f *Follower) loop(ctx context.Context, r *reader, quiet *time.Duration) error {
	var batch []Message
	for {
		wait := f.cfg.Poll
		if len(batch) > 0 {
			wait = flushWait
		}
		msg, err := r.it.Next(jetstream.NextMaxWait(wait))
		if err != nil {
			if ctx.Err() != nil {
				return nil // an unapplied batch is simply not applied
			}
			if len(batch) > 0 {
				if err := f.applyBatch(batch); err != nil {
					return err
				}
				batch, r.active = batch[:0], time.Now()
				continue
			}
			if err := f.idle(ctx, r, err, *quiet); err != nil {
				return err
			}
			continue
		}
		r.active, *quiet = time.Now(), f.quietBase()
		f.readOK()
		m, pending, err := f.message(msg)
		if err != nil {
			return err
		}
		if m.Seq <= f.applied.Load() || len(batch) > 0 && m.Seq <= batch[len(batch)-1].Seq {
			continue // redelivered after a consumer reset: already here
		}
		if f.cfg.ApplyBatch == nil {
			if err := f.applyOne(m); err != nil {
				return err
			}
			r.active = time.Now()
			continue
		}
		batch = append(batch, m)
		if pending == 0 || len(batch) >= f.cfg.MaxBatch {
			if err := f.applyBatch(batch); err != nil {
				return err
			}
			batch, r.active = batch[:0], time.Now()
		}
	}
}

// idle handles a Next that brought no message while nothing waits to be
// applied: a timeout (nothing came), a closed iterator (its consumer could
// not be recreated: Run resumes with a new one rather than return as if
// ctx had ended), or another error (retried after a pause, so that a long
// outage does not spin). Either way the watchdog looks at the consumer.
func (f *Follower) idle(ctx context.Context, r *reader, err error, quiet time.Duration) error {
	if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
		f.readFailed(fmt.Errorf("message iterator closed: %w", err))
		return errResume
	}
	if !errors.Is(err, nats.ErrTimeout) {
		f.readFailed(err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	if f.stuck(ctx, r, quiet) {
		return errResume
	}
	return nil
}

// Watchdog bounds: a consumer is looked at after quietBase without a
// message while the stream's head is past what is applied; each resume
// that brings nothing doubles the wait, up to maxQuiet.
const (
	minQuiet = 2 * time.Second
	maxQuiet = 30 * time.Second
)

func (f *Follower) quietBase() time.Duration { return max(minQuiet, 2*f.cfg.Poll) }

// stuck says whether r must be replaced: it has delivered nothing for
// quiet while the stream holds messages past the applied one, and its
// consumer on the server either cannot be asked (gone, or unreachable) or
// has messages pending for it. That happens when its pull request never
// reached the consumer: a pull answered 503 (no responders, when the
// consumer's interest had not reached this client's server yet) is ignored
// by the client library's iterator, which then waits for heartbeats that
// cannot come. A head past the applied sequence with nothing pending
// (purged messages) is not stuck.
func (f *Follower) stuck(ctx context.Context, r *reader, quiet time.Duration) bool {
	idle := time.Since(r.active)
	if idle < quiet {
		return false
	}
	f.mu.Lock()
	head, polledAt := f.head, f.polledAt
	f.mu.Unlock()
	applied := f.applied.Load()
	// Cut off from NATS (disconnected, or the stream not answering polls)
	// is no sign of a stuck consumer: the ordered consumer recreates itself
	// on reconnect, and a new one could not be created meanwhile anyway.
	// Quiet is counted from when the connection is back.
	if f.st.JS.Conn().Status() != nats.CONNECTED || time.Since(polledAt) >= quiet {
		r.active = time.Now()
		return false
	}
	if head <= applied {
		return false
	}
	qctx, cancel := context.WithTimeout(ctx, quiet)
	defer cancel()
	info, err := r.cons.Info(qctx)
	if ctx.Err() != nil {
		return false
	}
	if err == nil && info.NumPending == 0 {
		r.active = time.Now() // nothing for us: look again after another quiet spell
		return false
	}
	if err == nil {
		err = fmt.Errorf("%d messages pending, %d pull requests waiting on the server", info.NumPending, info.NumWaiting)
	}
	f.readFailed(fmt.Errorf("consumer %s delivered nothing for %s with the stream at %d and %d applied: %w",
		r.name, idle.Round(time.Millisecond), head, applied, err))
	return true
}

// deleteConsumer removes a replaced consumer from the server, best effort.
func (f *Follower) deleteConsumer(name string) {
	if name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.st.JS.DeleteConsumer(ctx, f.st.Name, name)
}

// readFailed records why reading the stream is not going well, for Status.
func (f *Follower) readFailed(err error) {
	f.mu.Lock()
	f.readErr = err
	f.mu.Unlock()
	f.readErrSet.Store(true)
}

// readOK clears the read error once a message arrives.
func (f *Follower) readOK() {
	if f.readErrSet.Load() {
		f.mu.Lock()
		f.readErr = nil
		f.mu.Unlock()
		f.readErrSet.Store(false)
	}
}

// Message is one message of the stream as ApplyBatch receives it. Data is
// the client library's buffer: copy what must outlive the call.
type Message struct {
	Seq     uint64
	Subject string
	Data    []byte
	Time    time.Time // when JetStream stored it
}

// BadMessage is the error an ApplyBatch returns to name the message it
// could not apply.
type BadMessage struct {
	Seq uint64
	Err error
}

func (e *BadMessage) Error() string { return fmt.Sprintf("message %d: %v", e.Seq, e.Err) }
func (e *BadMessage) Unwrap() error { return e.Err }

// message reads a delivered message and how many more JetStream has for us.
func (f *Follower) message(msg jetstream.Msg) (Message, uint64, error) {
	md, err := msg.Metadata()
	if err != nil {
		return Message{}, 0, f.stall(f.applied.Load()+1, fmt.Errorf("message metadata: %w", err))
	}
	return Message{Seq: md.Sequence.Stream, Subject: msg.Subject(), Data: msg.Data(), Time: md.Timestamp}, md.NumPending, nil
}

func (f *Follower) applyBatch(batch []Message) error {
	if err := f.cfg.ApplyBatch(batch); err != nil {
		at := batch[0].Seq
		var bad *BadMessage
		if errors.As(err, &bad) {
			at = bad.Seq
		}
		return f.stall(at, err)
	}
	f.advance(batch[len(batch)-1])
	return nil
}

func (f *Follower) applyOne(m Message) error {
	if err := f.cfg.Apply(m.Seq, m.Subject, m.Data); err != nil {
		return f.stall(m.Seq, err)
	}
	f.advance(m)
	return nil
}

// advance publishes m as the last applied message and wakes waiters.
func (f *Follower) advance(m Message) {
	f.applied.Store(m.Seq)
	f.appliedAt.Store(m.Time.UnixNano())
	if f.waiters.Load() > 0 {
		f.mu.Lock()
		close(f.wake)
		f.wake = make(chan struct{})
		f.mu.Unlock()
	}
}

// stall records where and why the follower stopped and wakes every waiter.
func (f *Follower) stall(seq uint64, err error) error {
	err = fmt.Errorf("%w at stream sequence %d (last applied %d): %w", ErrStalled, seq, f.applied.Load(), err)
	f.mu.Lock()
	f.stalledAt, f.stallErr = seq, err
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
	return err
}

// poll asks for the stream's head every Poll, for lag, and measures the rate.
func (f *Follower) poll(ctx context.Context) {
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	prev, prevAt := f.applied.Load(), time.Now()
	for {
		f.refreshHead(ctx)
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cur := f.applied.Load()
			f.mu.Lock()
			f.rate = float64(cur-prev) / now.Sub(prevAt).Seconds()
			f.mu.Unlock()
			prev, prevAt = cur, now
		}
	}
}

func (f *Follower) refreshHead(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, f.cfg.Poll)
	defer cancel()
	last, at, err := f.st.LastSeq(qctx)
	if err != nil {
		return // unreachable: keep the last known head; lag then understates
	}
	f.mu.Lock()
	f.head, f.headAt, f.polledAt = last, at, time.Now()
	f.mu.Unlock()
}
