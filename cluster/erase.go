package cluster

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Erase removes a customer's messages from the stream itself: every message
// on the customer's subjects with a sequence below before. Give before the
// sequence of the erasure record the caller published (to Subjects.Erasure):
// then the log holds exactly what applying it in order yields. Nodes that
// had applied the purged messages delete them when they apply the erasure
// record; a node that was down, or a new one, never receives them.
// before == 0 purges all of the customer's messages.
func (s *Stream) Erase(ctx context.Context, customerID string, before uint64) error {
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(s.Subjects.CustomerFilter(customerID))}
	if before > 0 {
		opts = append(opts, jetstream.WithPurgeSequence(before))
	}
	if err := s.Stream.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("cluster: purging customer %q from stream %s: %w", customerID, s.Name, err)
	}
	return nil
}
