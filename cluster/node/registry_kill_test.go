package node_test

import (
	"sync"
	"testing"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// TestKilledNodeResumes: while node A takes a steady stream of writes, node
// B is dropped without a clean shutdown (its connection cut under the
// running follower, its HTTP server and store closed with the apply
// possibly in flight) and started again on its directory: it resumes from
// the sequence its store recorded, and ends with exactly A's events, none
// lost, none twice. (The SIGKILL variant, with real processes, is
// cmd/affinity/cluster_crash_test.go.)
func TestKilledNodeResumes(t *testing.T) {
	nc := natstest.StartT(t, 1)
	a := startMemberCfg(t, t.TempDir(), nc.URLs(), nil)
	defer a.stop()
	dir := t.TempDir()
	b := startMemberCfg(t, dir, nc.URLs(), nil)

	const requests, per = 60, 5
	var wg sync.WaitGroup
	var last uint64
	killAt := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range requests {
			if i == requests/3 {
				close(killAt)
			}
			code, raw := a.postRaw(oneCustomer(i, per))
			if code != 200 {
				t.Errorf("write %d: %d %s", i, code, raw)
				return
			}
			last = decodePost(t, raw).Seq
		}
	}()
	<-killAt
	defer b.node.Kill()()
	b.srv.App().Shutdown()
	b.crm.Close()
	b.store.Close()
	b.store = nil // gone as a kill leaves it: stop at the test's end does nothing
	wg.Wait()

	b = startMemberCfg(t, dir, nc.URLs(), nil)
	defer b.stop()
	if from := b.node.From(); from >= last {
		t.Fatalf("the killed node resumed from %d, the ingest ended at %d", from, last)
	}
	waitApplied(t, a, last)
	waitApplied(t, b, last)
	for _, m := range []*member{a, b} {
		if n := m.store.Stats().Events; n != requests*per {
			t.Fatalf("%s holds %d events, want %d", m.base, n, requests*per)
		}
	}
	converge(t, []*member{a, b}, last)
}
