package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// openBucket creates (or opens) the key-value bucket "<stream>_<name>" with
// the stream's replicas and one value per key: what every bucket of the
// cluster (counters, claims, leases, nodes) has in common. ttl 0 keeps
// entries until they are deleted.
//
// It creates first and updates only a bucket that exists with another
// configuration. Nodes starting together open the same new bucket at once,
// and JetStream's create-or-update asks for an update first: an update that
// reaches the meta leader while another node's create of that bucket is
// still in flight is proposed against the in-flight assignment, and then
// neither caller hears back (every one of them waits out its deadline:
// "counters bucket: context deadline exceeded"). A create with the same
// configuration as an existing (or in-flight) bucket just returns it.
func openBucket(ctx context.Context, s *Stream, name, desc string, ttl time.Duration, storage jetstream.StorageType) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:      s.Name + "_" + name,
		Description: desc,
		Replicas:    s.Replicas,
		History:     1,
		TTL:         ttl,
		Storage:     storage,
	}
	kv, err := s.JS.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = s.JS.UpdateKeyValue(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: %s bucket: %w", name, err)
	}
	return kv, nil
}
