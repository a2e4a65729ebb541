package cluster

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestBucketsOpenedByThreeNodesAtOnce: nodes that start together open the
// same new buckets at the same moment (each through its own server), as
// `make cluster` does; every one of them gets the buckets. With JetStream's
// create-or-update, an update racing another node's create went unanswered
// and every node waited out its deadline.
func TestBucketsOpenedByThreeNodesAtOnce(t *testing.T) {
	urls := strings.Split(cluster3(t).URLs(), ",")
	streams := make([]*Stream, len(urls))
	for i, u := range urls {
		streams[i] = setup(t, connect(t, u), StreamConfig{Name: "BUCKETS"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := OpenCounters(ctx, s); err != nil {
				t.Errorf("node %d: %v", i, err)
				return
			}
			if _, err := OpenClaims(ctx, s); err != nil {
				t.Errorf("node %d: %v", i, err)
			}
			if _, err := OpenSnapshots(ctx, s, 0); err != nil {
				t.Errorf("node %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	// A bucket that exists with another configuration is updated, not
	// refused: a new version of the node may change a bucket's settings.
	kv, err := openBucket(ctx, streams[0], "claims", "changed description", ClaimsMaxAge, jetstream.FileStorage)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := st.(*jetstream.KeyValueBucketStatus).Config().Description; d != "changed description" {
		t.Errorf("description after reopening with another: %q", d)
	}
}
