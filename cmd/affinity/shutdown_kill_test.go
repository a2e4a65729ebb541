//go:build unix

package main

import (
	"math/rand"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKillDuringShutdownLosesNothing: a server asked to stop (SIGTERM) and
// killed while it drains, snapshots or closes (SIGKILL, or SIGQUIT, which
// dumps the goroutines and exits: what an operator sends to a server that
// seems stuck in shutdown) keeps every event it acknowledged, and the
// in-flight batch at most once.
func TestKillDuringShutdownLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(7))
	const size = 40
	acked, batch := 0, 0
	for round := 0; round < 4; round++ {
		c := startChild(t, dir)
		got := storedEvents(t, c.api)
		if got < acked || got > acked+size {
			c.kill()
			t.Fatalf("round %d: %d events stored, %d acknowledged (+%d in flight at most)\n%s", round, got, acked, size, c.out)
		}
		acked = got
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				mu.Lock()
				b := batch
				batch++
				mu.Unlock()
				r, err := postBatch(c.api, b, size)
				if err != nil {
					return // the server stopped listening, or died
				}
				mu.Lock()
				acked += r.Accepted - r.Duplicates
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(100+rng.Intn(200)) * time.Millisecond)
		c.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		sig := syscall.SIGKILL
		if round%2 == 1 {
			sig = syscall.SIGQUIT
		}
		c.cmd.Process.Signal(sig) // too late (it exited) is a round too
		c.cmd.Wait()
		<-done
	}
	c := startChild(t, dir)
	defer c.kill()
	if got := storedEvents(t, c.api); got < acked || got > acked+size {
		t.Fatalf("after the last restart: %d stored, %d acknowledged", got, acked)
	}
	if acked == 0 {
		t.Fatal("nothing acknowledged: the test did not exercise ingest")
	}
}
