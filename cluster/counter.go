package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Counters are exact counters shared by every node (offer caps per customer,
// offer budgets), kept in a JetStream KV bucket and changed only by
// compare-and-set on the key's revision: two nodes that read the same value
// cannot both write their increment, so a limit is never passed, whichever
// servers the nodes are connected to. The bucket's stream is replicated like
// the main one, so a count survives the loss of a server.
type Counters struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
}

// OpenCounters creates (or opens) the bucket "<stream>_counters".
func OpenCounters(ctx context.Context, s *Stream) (*Counters, error) {
	kv, err := openBucket(ctx, s, "counters", "exact counters (offer caps, budgets) of stream "+s.Name, 0, jetstream.FileStorage)
	if err != nil {
		return nil, err
	}
	return &Counters{kv: kv, js: s.JS, bucket: s.Name + "_counters"}, nil
}

// CounterKey builds a valid KV key from arbitrary parts (ids may hold any
// printable character; KV keys may not): each part base64url-encoded, joined
// by dots.
func CounterKey(parts ...string) string {
	enc := make([]string, len(parts))
	for i, p := range parts {
		enc[i] = base64.RawURLEncoding.EncodeToString([]byte(p))
		if enc[i] == "" {
			enc[i] = "_" // an empty part still takes a token
		}
	}
	return strings.Join(enc, ".")
}

// maxCASAttempts bounds the retries under contention; each failed attempt
// means another node's increment succeeded, so progress is being made.
const maxCASAttempts = 1000

// TryIncrement adds 1 to key unless that would pass limit; see TryAdd.
func (c *Counters) TryIncrement(ctx context.Context, key string, limit int64) (bool, error) {
	ok, _, err := c.TryAdd(ctx, key, 1, limit)
	return ok, err
}

// TryAdd adds delta (> 0) to key if the result stays <= limit, and reports
// whether it did and the value after. A missing key counts as 0.
func (c *Counters) TryAdd(ctx context.Context, key string, delta, limit int64) (bool, int64, error) {
	if delta <= 0 {
		return false, 0, fmt.Errorf("cluster: counter %q: delta %d must be positive", key, delta)
	}
	for range maxCASAttempts {
		cur, rev, err := c.get(ctx, key)
		if err != nil {
			return false, 0, err
		}
		if cur+delta > limit {
			return false, cur, nil
		}
		val := []byte(strconv.FormatInt(cur+delta, 10))
		if rev == 0 {
			_, err = c.kv.Create(ctx, key, val)
		} else {
			_, err = c.kv.Update(ctx, key, val, rev)
		}
		if err == nil {
			return true, cur + delta, nil
		}
		if !lostRace(err) {
			return false, 0, fmt.Errorf("cluster: counter %q: %w", key, err)
		}
	}
	return false, 0, fmt.Errorf("cluster: counter %q: gave up after %d compare-and-set conflicts", key, maxCASAttempts)
}

// TryTake adds to key as many units as size asks for, given the room left
// under limit (limit - value, > 0), but never past limit, and returns how
// many it added (0: no room). It hands out blocks of a shared budget
// (leases) by compare-and-set, as TryAdd does single units.
func (c *Counters) TryTake(ctx context.Context, key string, limit int64, size func(room int64) int64) (int64, error) {
	for range maxCASAttempts {
		cur, rev, err := c.get(ctx, key)
		if err != nil {
			return 0, err
		}
		room := limit - cur
		if room <= 0 {
			return 0, nil
		}
		take := min(max(size(room), 1), room)
		val := []byte(strconv.FormatInt(cur+take, 10))
		if rev == 0 {
			_, err = c.kv.Create(ctx, key, val)
		} else {
			_, err = c.kv.Update(ctx, key, val, rev)
		}
		if err == nil {
			return take, nil
		}
		if !lostRace(err) {
			return 0, fmt.Errorf("cluster: counter %q: %w", key, err)
		}
	}
	return 0, fmt.Errorf("cluster: counter %q: gave up after %d compare-and-set conflicts", key, maxCASAttempts)
}

// Sub takes delta (> 0) from key, stopping at 0, and returns the value
// after: giving back units that were taken (a released reservation), where
// a count below zero would only mean units given back twice.
func (c *Counters) Sub(ctx context.Context, key string, delta int64) (int64, error) {
	if delta <= 0 {
		return 0, fmt.Errorf("cluster: counter %q: delta %d must be positive", key, delta)
	}
	for range maxCASAttempts {
		cur, rev, err := c.get(ctx, key)
		if err != nil {
			return 0, err
		}
		if cur == 0 {
			return 0, nil
		}
		next := max(cur-delta, 0)
		_, err = c.kv.Update(ctx, key, []byte(strconv.FormatInt(next, 10)), rev)
		if err == nil {
			return next, nil
		}
		if !lostRace(err) {
			return 0, fmt.Errorf("cluster: counter %q: %w", key, err)
		}
	}
	return 0, fmt.Errorf("cluster: counter %q: gave up after %d compare-and-set conflicts", key, maxCASAttempts)
}

// Purge removes every key matching filter (a KV key with * and >
// wildcards) with its history, delete markers included: purging the
// bucket's stream by subject leaves nothing that names the key, which is
// what erasing a customer's counters needs (a KV delete would leave a
// marker carrying the key).
func (c *Counters) Purge(ctx context.Context, filter string) error {
	st, err := c.js.Stream(ctx, "KV_"+c.bucket)
	if err != nil {
		return fmt.Errorf("cluster: counters bucket %s: %w", c.bucket, err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+c.bucket+"."+filter)); err != nil {
		return fmt.Errorf("cluster: purging counters %q: %w", filter, err)
	}
	// Reads may be served by any replica (direct get): wait until every one
	// has applied the purge, as Stream.Erase does.
	for {
		info, err := st.Info(ctx)
		if err != nil {
			return fmt.Errorf("cluster: waiting for the counters purge to reach every replica: %w", err)
		}
		if replicasCurrent(info) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for the counters purge to reach every replica: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Value is key's current value (0 when missing).
func (c *Counters) Value(ctx context.Context, key string) (int64, error) {
	v, _, err := c.get(ctx, key)
	return v, err
}

// get is key's value and revision; revision 0 when the key does not exist.
func (c *Counters) get(ctx context.Context, key string) (int64, uint64, error) {
	e, err := c.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("cluster: counter %q: %w", key, err)
	}
	v, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("cluster: counter %q holds %q, not a number", key, e.Value())
	}
	return v, e.Revision(), nil
}

// lostRace is another writer having changed (or created) the key between
// our read and our write.
func lostRace(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
