package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// openBucket creates (or opens) the key-value bucket "<stream>_<name>" with
// the stream's replicas and one value per key: what every bucket of the
// cluster (counters, claims, leases, nodes) has in common. ttl 0 keeps
// entries until they are deleted.
func openBucket(ctx context.Context, s *Stream, name, desc string, ttl time.Duration, storage jetstream.StorageType) (jetstream.KeyValue, error) {
	kv, err := s.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      s.Name + "_" + name,
		Description: desc,
		Replicas:    s.Replicas,
		History:     1,
		TTL:         ttl,
		Storage:     storage,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %s bucket: %w", name, err)
	}
	return kv, nil
}
