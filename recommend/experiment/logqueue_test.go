package experiment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// blockingStore stalls AppendLog until released, to fill the queue.
type blockingStore struct {
	Records
	gate chan struct{}
}

func (b *blockingStore) Append(kind string, entries [][]byte) (uint64, error) {
	<-b.gate
	return b.Records.Append(kind, entries)
}

// With the log writer stalled, Expose blocks up to EnqueueTimeout and then
// drops; everything that was not dropped is logged by Close.
func TestFullQueueBlocksThenDrops(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	bs := &blockingStore{Records: st.Records(), gate: make(chan struct{})}
	x := expTestServiceOver(t, bs, st, func(o *Options) {
		o.QueueSize, o.BatchSize, o.EnqueueTimeout = 4, 2, 10*time.Millisecond
	})
	mustPut(t, x, ab("q", StatusRunning, 1, 1))
	const n = 40
	exposeAll(t, x, "q", n, prods, nil)
	dropped := x.Stats().Dropped
	if dropped == 0 {
		t.Fatalf("a stalled writer with a queue of 4 should have dropped some of %d exposures", n)
	}
	close(bs.gate)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if logged := int64(countLog(t, st, exposureLogKind)); logged+dropped != n || x.Stats().Exposures != logged {
		t.Errorf("logged %d + dropped %d != %d exposed (stats %+v)", logged, dropped, n, x.Stats())
	}
}

// failingStore refuses the first appends, as a full disk would.
type failingStore struct {
	Records
	failures atomic.Int64
}

func (f *failingStore) Append(kind string, entries [][]byte) (uint64, error) {
	if f.failures.Add(-1) >= 0 {
		return 0, features.ErrReadOnly
	}
	return f.Records.Append(kind, entries)
}

// A failed append is reported by Flush and retried: nothing is lost once
// the store accepts writes again.
func TestFailedAppendsAreRetried(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	fs := &failingStore{Records: st.Records()}
	x := expTestServiceOver(t, fs, st, nil)
	mustPut(t, x, ab("retry", StatusRunning, 1, 1))
	fs.failures.Store(1 << 30)
	exposeAll(t, x, "retry", 30, prods, nil)
	if err := x.Flush(context.Background()); !errors.Is(err, features.ErrReadOnly) {
		t.Fatalf("Flush with a failing store: %v", err)
	}
	if n := countLog(t, st, exposureLogKind); n != 0 {
		t.Fatalf("%d entries logged by a failing store", n)
	}
	fs.failures.Store(0)
	mustFlush(t, x)
	if n := countLog(t, st, exposureLogKind); n != 30 {
		t.Errorf("after recovery %d exposures logged, want 30", n)
	}
	if s := x.Stats(); s.WriteErrors == 0 || s.Exposures != 30 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestConcurrentExposeAndResults(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, func(o *Options) { o.FlushInterval = time.Millisecond })
	mustPut(t, x, ab("race", StatusRunning, 1, 1))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				unit := fmt.Sprintf("g%d-%d", g, i)
				v, _, _ := x.Enrol(context.Background(), "race", "", unit)
				x.Expose("race", v, "rec-"+unit, unit, false, prods[:3])
				if i%50 == 0 {
					mustResults(t, x, "race")
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			unit := fmt.Sprintf("g0-%d", i)
			_, _ = st.Ingest(context.Background(), []features.Event{{CustomerID: unit, ProductID: prods[0], Type: "click", RecommendationID: "rec-" + unit}}, features.IngestOptions{})
		}
	}()
	wg.Wait()
	r := mustResults(t, x, "race")
	if n := r.Variants[0].Exposures + r.Variants[1].Exposures; n != 1200 {
		t.Errorf("exposures = %d, want 1200", n)
	}
}
