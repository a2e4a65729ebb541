package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Claims are keys that exactly one node may take: the first Claim of a key
// wins, every later one (from any node) is told it lost. Kept in the JetStream
// KV bucket "<stream>_claims", created with the stream's replicas, where a
// key is created only if absent (the KV's create is a compare-and-set on
// "no revision yet"). Entries expire after MaxAge: a claim guards against
// the same thing being done twice by nodes that learn of it at about the
// same time (an offer showing closed by one node's answer and another's
// expiry sweep), not forever, so the bucket stays bounded.
type Claims struct {
	kv jetstream.KeyValue
}

// ClaimsMaxAge is how long a claim is remembered.
const ClaimsMaxAge = 24 * time.Hour

// OpenClaims creates (or opens) the bucket "<stream>_claims".
func OpenClaims(ctx context.Context, s *Stream) (*Claims, error) {
	kv, err := openBucket(ctx, s, "claims", "once-only claims (offer budget give-backs) of stream "+s.Name, ClaimsMaxAge, jetstream.FileStorage)
	if err != nil {
		return nil, err
	}
	return &Claims{kv: kv}, nil
}

// Claim reports whether this call took key (true) or another already had
// (false). Build keys with CounterKey.
func (c *Claims) Claim(ctx context.Context, key string) (bool, error) {
	_, err := c.kv.Create(ctx, key, []byte{1})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: claim %s: %w", key, err)
	}
	return true, nil
}
