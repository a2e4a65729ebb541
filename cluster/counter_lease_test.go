package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// TestCountersTakeSubPurge: blocks taken by TryTake from three servers
// never sum past the limit and reach it; Sub gives units back and stops at
// zero; Purge removes exactly the keys its filter matches.
func TestCountersTakeSubPurge(t *testing.T) {
	c := cluster3(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var counters [3]*Counters
	for i := range counters {
		var err error
		counters[i], err = OpenCounters(ctx, setup(t, connect(t, c.URL(i)), StreamConfig{Name: "LEASE"}))
		if err != nil {
			t.Fatal(err)
		}
	}
	key := CounterKey("budget", "offer 1", "inc")
	const limit = 100
	var taken atomic.Int64
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for {
				got, err := counters[w%3].TryTake(ctx, key, limit, func(room int64) int64 { return min(7, room/4) })
				if err != nil {
					t.Error(err)
					return
				}
				if got == 0 {
					return
				}
				taken.Add(got)
			}
		})
	}
	wg.Wait()
	if v, err := counters[0].Value(ctx, key); err != nil || v != limit || taken.Load() != limit {
		t.Fatalf("blocks took %d, key holds %d (%v); want exactly %d", taken.Load(), v, err, limit)
	}
	if v, err := counters[1].Sub(ctx, key, 30); err != nil || v != 70 {
		t.Fatalf("Sub 30: %d %v", v, err)
	}
	if v, err := counters[2].Sub(ctx, key, 500); err != nil || v != 0 {
		t.Fatalf("Sub past zero: %d %v", v, err)
	}

	// Purge one customer's cap keys, across offers, and nothing else.
	keys := []string{CounterKey("cap", "o1", "i", "ann"), CounterKey("cap", "o2", "j", "ann"), CounterKey("cap", "o1", "i", "bob")}
	for _, k := range keys {
		if ok, err := counters[0].TryIncrement(ctx, k, 5); err != nil || !ok {
			t.Fatal(k, ok, err)
		}
	}
	if err := counters[1].Purge(ctx, CounterKey("cap")+".*.*."+CounterKey("ann")); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		v, err := counters[2].Value(ctx, k)
		if want := int64(i / 2); err != nil || v != want {
			t.Fatalf("after the purge %s holds %d (%v), want %d", k, v, err, want)
		}
	}
}
