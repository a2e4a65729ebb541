package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// NodeInfo is what a node says about itself in the nodes registry: the
// console's cluster page lists these (GET /v1/cluster/nodes).
type NodeInfo struct {
	Name       string    `json:"name"`
	Addr       string    `json:"addr"` // its HTTP address
	AppliedSeq uint64    `json:"applied_seq"`
	LagMsgs    uint64    `json:"lag_messages"`
	LagSecs    float64   `json:"lag_seconds"`
	Ready      bool      `json:"ready"`
	Version    string    `json:"version,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// DefaultNodeTTL is how long a node's entry outlives its last heartbeat: a
// node that dies (or is cut off from NATS) drops out of the list by then.
const DefaultNodeTTL = 10 * time.Second

// Registry is the KV bucket "<stream>_nodes" where every node puts its
// NodeInfo every few seconds. The bucket's max age is the TTL: an entry
// nobody refreshes expires by itself, so a dead node needs no clean-up and
// no node decides for another that it is gone.
type Registry struct {
	kv jetstream.KeyValue
}

// OpenRegistry creates (or opens) the nodes bucket; ttl is DefaultNodeTTL
// when 0.
func OpenRegistry(ctx context.Context, s *Stream, ttl time.Duration) (*Registry, error) {
	if ttl <= 0 {
		ttl = DefaultNodeTTL
	}
	// In memory: a heartbeat is worth nothing after its TTL.
	kv, err := openBucket(ctx, s, "nodes", "nodes following stream "+s.Name+" (each refreshes its entry; entries expire)", ttl, jetstream.MemoryStorage)
	if err != nil {
		return nil, err
	}
	return &Registry{kv: kv}, nil
}

// Put writes (refreshes) info under the node's name.
func (r *Registry) Put(ctx context.Context, info NodeInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if _, err := r.kv.Put(ctx, CounterKey(info.Name), b); err != nil {
		return fmt.Errorf("cluster: registering node %q: %w", info.Name, err)
	}
	return nil
}

// Remove deletes the node's entry (a clean shutdown; otherwise it expires).
func (r *Registry) Remove(ctx context.Context, name string) error {
	err := r.kv.Purge(ctx, CounterKey(name))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: removing node %q: %w", name, err)
	}
	return nil
}

// List is every registered node's info, in key order (unreadable entries,
// which a newer version might write, are left out).
func (r *Registry) List(ctx context.Context) ([]NodeInfo, error) {
	keys, err := r.kv.Keys(ctx, jetstream.IgnoreDeletes())
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: listing nodes: %w", err)
	}
	out := make([]NodeInfo, 0, len(keys))
	for _, k := range keys {
		e, err := r.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired between the listing and the read
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: reading node %q: %w", k, err)
		}
		var in NodeInfo
		if json.Unmarshal(e.Value(), &in) == nil {
			out = append(out, in)
		}
	}
	return out, nil
}

// NodesView is the cluster as one node sees it: the stream and the
// registered nodes.
type NodesView struct {
	Stream   string
	Replicas int
	HeadSeq  uint64
	Nodes    []NodeInfo
}
