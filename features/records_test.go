package features

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Concurrent appends are group-committed with events: every entry gets its
// own sequence, in order within a call, and all of them survive a restart.
func TestAppendLogConcurrentAndDurable(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]string{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				a, b := fmt.Sprintf("g%d-%d-a", g, i), fmt.Sprintf("g%d-%d-b", g, i)
				first, err := s.Records().Append("exposure", [][]byte{[]byte(a), []byte(b)})
				if err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					if _, err := s.Ingest(context.Background(), []Event{ev(a, "p", "view")}, IngestOptions{}); err != nil {
						t.Error(err)
					}
				}
				mu.Lock()
				for k, v := range map[uint64]string{first: a, first + 1: b} {
					if old, dup := seen[k]; dup {
						t.Errorf("sequence %d given to %s and %s", k, old, v)
					}
					seen[k] = v
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 400 {
		t.Fatalf("%d sequences for 400 entries", len(seen))
	}
	s.Close()
	s2 := openTestStore(t, dir, nil)
	got := 0
	err := s2.Records().Scan("exposure", 0, func(seq uint64, v []byte) error {
		if seen[seq] != string(v) {
			t.Errorf("entry %d is %q, appended %q", seq, v, seen[seq])
		}
		got++
		return nil
	})
	if err != nil || got != 400 {
		t.Fatalf("after restart: %d entries, %v", got, err)
	}
	first, err := s2.Records().Append("exposure", [][]byte{[]byte("next")})
	if err != nil || first != 401 {
		t.Fatalf("append after restart got sequence %d (%v), want 401", first, err)
	}
}
