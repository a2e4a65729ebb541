package main

import (
	"fmt"
	"math/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/natstest"
)

// TestClusterKillNineResumes runs two `affinity serve --nats` processes on
// a three-server JetStream cluster (in this process). Writes go to node A
// while node B is killed with SIGKILL at random moments of its apply and
// restarted: B resumes from the stream sequence it committed, and in the
// end holds exactly what A holds, every acknowledged event once.
func TestClusterKillNineResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	nc := natstest.StartT(t, 3)
	a := startChild(t, t.TempDir(), "--nats", nc.URLs())
	defer a.kill()
	bdir := t.TempDir()
	rng := rand.New(rand.NewSource(2))
	const size = 40
	var mu sync.Mutex
	acked, batch := 0, 0
	var last int64
	for round := 0; round < 3; round++ {
		b := startChild(t, bdir, "--nats", nc.URLs())
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := postBatch(a.api, batch, size)
				if err != nil {
					t.Errorf("node A: %v", err)
					return
				}
				mu.Lock()
				batch++
				acked += r.Accepted - r.Duplicates
				if r.Seq != nil {
					last = max(last, *r.Seq)
				}
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(200+rng.Intn(400)) * time.Millisecond)
		b.kill()
		close(stop)
		<-done
	}
	b := startChild(t, bdir, "--nats", nc.URLs())
	defer b.kill()
	if last == 0 {
		t.Fatal("no write acknowledged with a sequence")
	}
	for _, c := range []*child{a, b} {
		waitSeq(t, c, last)
	}
	ga, gb := storedEvents(t, a.api), storedEvents(t, b.api)
	if ga != acked || gb != acked {
		t.Fatalf("acknowledged %d events in %d batches; node A holds %d, node B (killed 3 times) %d", acked, batch, ga, gb)
	}
}

// waitSeq waits until c has applied seq, asking with X-Affinity-Min-Seq
// (each ask bounded by the server's 1 s), for at most a minute.
func waitSeq(t *testing.T, c *child, seq int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", "http://"+c.addr+"/v1/popular?limit=1", nil)
		req.Header.Set(api.HeaderMinSeq, fmt.Sprint(seq))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s did not apply sequence %d within a minute\n%s", c.addr, seq, c.out)
}
