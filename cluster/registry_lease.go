package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leases are short exclusive rights among nodes ("I am writing the
// bootstrap snapshot"), kept in the KV bucket "<stream>_leases": a lease is
// taken by creating its key (KV Create fails when the key exists: JetStream's
// compare-and-set on the subject's last sequence, so two nodes never both
// get it), kept by updating it on its revision, and lost by not doing so
// within the bucket's TTL, when the key expires. No home-made consensus: the
// JetStream stream under the bucket orders the writes.
//
// A lease here saves work, it does not guard correctness: two snapshots
// written at once would both be valid.
type Leases struct {
	kv  jetstream.KeyValue
	ttl time.Duration
}

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal.
const DefaultLeaseTTL = 30 * time.Second

// OpenLeases creates (or opens) the leases bucket; ttl is DefaultLeaseTTL
// when 0.
func OpenLeases(ctx context.Context, s *Stream, ttl time.Duration) (*Leases, error) {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	kv, err := openBucket(ctx, s, "leases", "short exclusive tasks among the nodes of stream "+s.Name, ttl, jetstream.FileStorage)
	if err != nil {
		return nil, err
	}
	return &Leases{kv: kv, ttl: ttl}, nil
}

// Lease is one held lease.
type Lease struct {
	l        *Leases
	key, who string
	rev      uint64
}

// ErrLeaseHeld is TryAcquire's answer when another node holds the lease.
var ErrLeaseHeld = errors.New("cluster: the lease is held by another node")

// TryAcquire takes the lease name for holder, or returns ErrLeaseHeld.
func (l *Leases) TryAcquire(ctx context.Context, name, holder string) (*Lease, error) {
	key := CounterKey(name)
	rev, err := l.kv.Create(ctx, key, []byte(holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, ErrLeaseHeld
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: taking lease %q: %w", name, err)
	}
	return &Lease{l: l, key: key, who: holder, rev: rev}, nil
}

// Renew keeps the lease for another TTL; an error means it was lost (it
// expired and someone else may hold it now).
func (le *Lease) Renew(ctx context.Context) error {
	rev, err := le.l.kv.Update(ctx, le.key, []byte(le.who), le.rev)
	if err != nil {
		return fmt.Errorf("cluster: renewing lease: %w", err)
	}
	le.rev = rev
	return nil
}

// Release gives the lease back, only if it is still this holder's (a
// delete on the revision this holder last wrote).
func (le *Lease) Release(ctx context.Context) error {
	err := le.l.kv.Delete(ctx, le.key, jetstream.LastRevision(le.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: releasing lease: %w", err)
	}
	return nil
}

// Holder is who holds the lease name ("" when nobody does).
func (l *Leases) Holder(ctx context.Context, name string) (string, error) {
	e, err := l.kv.Get(ctx, CounterKey(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}
