package cluster

import (
	"context"
	"fmt"
	"time"

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
	return s.waitReplicasCurrent(ctx)
}

// waitReplicasCurrent waits (bounded by ctx) until every replica of the
// stream has applied what the leader has, the purge included: a consumer
// created later may be served by any replica, and one that had not applied
// the purge yet would deliver the erased messages.
func (s *Stream) waitReplicasCurrent(ctx context.Context) error {
	for {
		info, err := s.Stream.Info(ctx)
		if err != nil {
			return fmt.Errorf("cluster: waiting for the purge to reach every replica of %s: %w", s.Name, err)
		}
		if replicasCurrent(info) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for the purge to reach every replica of %s: %w", s.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func replicasCurrent(info *jetstream.StreamInfo) bool {
	if info.Cluster == nil {
		return true
	}
	for _, r := range info.Cluster.Replicas {
		if r == nil || !r.Current || r.Lag > 0 || r.Offline {
			return false
		}
	}
	return true
}
