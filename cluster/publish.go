package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is one write: its subject (see Subjects), its bytes, and an id that
// makes a retry idempotent (sent as Nats-Msg-Id; empty: no dedup).
type Msg struct {
	Subject string
	Data    []byte
	ID      string
}

// Publisher publishes batches to the stream.
type Publisher struct {
	js     jetstream.JetStream
	stream string
	// Timeout bounds a Publish whose ctx has no deadline (DefaultPublishTimeout).
	Timeout time.Duration
}

// DefaultPublishTimeout is long enough for a leader election (a few
// seconds) and short enough that a client hears of an outage.
const DefaultPublishTimeout = 5 * time.Second

// NewPublisher publishes through js (whose connection may be to any server
// of the cluster) to the stream s.
func NewPublisher(s *Stream) *Publisher {
	return &Publisher{js: s.JS, stream: s.Name, Timeout: DefaultPublishTimeout}
}

// Ack is the outcome of a batch once JetStream acknowledged all of it.
type Ack struct {
	// LastSeq is the largest stream sequence of the batch (a duplicate's is
	// the sequence its first copy got): the sequence to hand back to a
	// client for read-your-writes.
	LastSeq uint64
	// Duplicates counts messages JetStream had already stored (same id
	// within the dedup window): stored once, acknowledged again.
	Duplicates int
	// Duplicate says, message by message of the batch, which were duplicates.
	Duplicate []bool
}

// Publish sends the batch asynchronously (one round trip's wait for the
// whole batch, not one per message) and returns once every message is
// acknowledged, i.e. stored on a majority of the stream's replicas. The
// messages get consecutive positions in the order given unless another
// publisher interleaves. On an error some messages may be stored: retry the
// whole batch with the same ids, within the dedup window, and none is stored
// twice.
func (p *Publisher) Publish(ctx context.Context, batch []Msg) (Ack, error) {
	if _, ok := ctx.Deadline(); !ok && p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for i, m := range batch {
		nm := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		opts := []jetstream.PublishOpt{jetstream.WithExpectStream(p.stream)}
		if m.ID != "" {
			opts = append(opts, jetstream.WithMsgID(m.ID))
		}
		f, err := p.js.PublishMsgAsync(nm, opts...)
		if err != nil {
			return Ack{}, p.explain(fmt.Sprintf("message %d of %d", i, len(batch)), err)
		}
		futures = append(futures, f)
	}
	ack := Ack{Duplicate: make([]bool, len(batch))}
	for i, f := range futures {
		select {
		case pa := <-f.Ok():
			ack.LastSeq = max(ack.LastSeq, pa.Sequence)
			if pa.Duplicate {
				ack.Duplicates++
				ack.Duplicate[i] = true
			}
		case err := <-f.Err():
			return Ack{}, p.explain(fmt.Sprintf("message %d of %d", i, len(batch)), err)
		case <-ctx.Done():
			return Ack{}, p.explain(fmt.Sprintf("waiting for the ack of message %d of %d", i, len(batch)), ctx.Err())
		}
	}
	return ack, nil
}

// ErrNotAcknowledged wraps every publish failure: the write is not known to
// be stored, and the client should be told so (and may retry).
var ErrNotAcknowledged = errors.New("cluster: write not acknowledged by JetStream")

func (p *Publisher) explain(where string, err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		why = "no JetStream server answered for stream " + p.stream + " (is it created, and does the cluster have a leader for it?)"
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		why = "timed out waiting for JetStream's acknowledgement (a replica quorum may be down)"
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		why = "too many unacknowledged messages in flight (JetStream is slow or unreachable)"
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrNotAcknowledged, where, why, err)
}
