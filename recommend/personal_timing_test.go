//go:build unix

package recommend

import (
	"context"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

var (
	longOnce  sync.Once
	longStore *features.Store
	longCusts []string
	longErr   error
)

// longHistoryStore is shaped like the mixed load on the medium synthetic
// set (docs/performance.md): 100k products with Zipf popularity, 30k
// customers with ten events each, and 500 customers with 300 recent events
// (in sessions of one to five) on the 100 hottest products, as `affinity
// bench --scenario mixed` leaves the customers it draws; ten of them with
// 5,000 (its Zipf draw of customers gives a few most of the events). Their histories hold ~100 distinct products whose
// neighbour lists are full: the costliest personal requests.
func longHistoryStore(b *testing.B) (*features.Store, []string) {
	b.Helper()
	longOnce.Do(func() {
		dir, err := os.MkdirTemp("", "affinity-long-")
		if err != nil {
			longErr = err
			return
		}
		o := features.DefaultOptions(dir)
		o.SyncWrites = false
		o.RefreshInterval = time.Hour
		// What the medium set's server tuned itself to (jaccard, 120
		// days, linear): tuning is left out to keep the setup short.
		o.Neighbours.Similarity, o.Neighbours.Tune = features.SimJaccard, false
		st, err := features.Open(o)
		if err != nil {
			longErr = err
			return
		}
		longCusts, longErr = fillLongHistories(st)
		st.Refresh()
		// The medium set's server blends popularity in (its tuner chose a
		// weight): the prior's cost belongs in the figure.
		st.Model().Tuned = &features.Tuning{Similarity: features.SimJaccard, K: 200, HalfLifeDays: 120, Repeat: features.RepeatLinear, PopWeight: 0.1}
		longStore = st
	})
	if longErr != nil {
		b.Fatal(longErr)
	}
	return longStore, longCusts
}

func fillLongHistories(st *features.Store) ([]string, error) {
	rng := rand.New(rand.NewSource(7))
	all := rand.NewZipf(rng, 1.1, 1, 99999)
	hot := rand.NewZipf(rng, 1.1, 1, 99)
	now := time.Now()
	types := []string{"view", "view", "view", "view", "view", "view", "view", "cart", "cart", "purchase"}
	var batch []features.Event
	add := func(c, p string, ts time.Time) error {
		batch = append(batch, features.Event{CustomerID: c, ProductID: p, Type: types[rng.Intn(len(types))], Timestamp: ts})
		if len(batch) < 10000 {
			return nil
		}
		_, err := st.Ingest(context.Background(), batch, features.IngestOptions{NoSync: true})
		batch = batch[:0]
		return err
	}
	// Every product has an event, so that the catalogue is 100k wide.
	for p := range 100000 {
		if err := add("c"+strconv.Itoa(p%30000), "p"+strconv.Itoa(p), now.Add(-time.Duration(rng.Int63n(int64(180*24*time.Hour))))); err != nil {
			return nil, err
		}
	}
	for c := range 30000 {
		ts := now.Add(-time.Duration(rng.Int63n(int64(180 * 24 * time.Hour))))
		for range 10 {
			if err := add("c"+strconv.Itoa(c), "p"+strconv.FormatUint(all.Uint64(), 10), ts); err != nil {
				return nil, err
			}
		}
	}
	var long []string
	for c := range 510 {
		id, events := "long"+strconv.Itoa(c), 300
		if c >= 500 {
			id, events = "hot"+strconv.Itoa(c), 5000
		}
		long = append(long, id)
		// Sessions of one to five events, stamped as the server stamps
		// one POST: with one time.
		for i := 0; i < events; {
			ts := now.Add(-time.Duration(events-i) * time.Second)
			for n := 1 + rng.Intn(5); n > 0 && i < events; n-- {
				if err := add(id, "p"+strconv.FormatUint(hot.Uint64(), 10), ts); err != nil {
					return nil, err
				}
				i++
			}
		}
	}
	_, err := st.Ingest(context.Background(), batch, features.IngestOptions{NoSync: true})
	return long, err
}

// BenchmarkPersonalLong measures scoring (no cache) for customers with long
// histories on a medium-sized catalogue: the personal requests of the mixed
// load, where every customer gets an event between two requests and the
// cache rarely hits. "all" scatters every pair (ScatterBudget 0).
func BenchmarkPersonalLong(b *testing.B) {
	st, all := longHistoryStore(b)
	for _, bc := range []struct {
		name   string
		custs  []string
		budget int
	}{{"long/all", all[:500], 0}, {"long/budget", all[:500], DefaultOptions().ScatterBudget}, {"hot/all", all[500:], 0}, {"hot/budget", all[500:], DefaultOptions().ScatterBudget}} {
		custs := bc.custs
		b.Run(bc.name, func(b *testing.B) {
			o := DefaultOptions()
			o.CacheEntries, o.ScatterBudget = 0, bc.budget
			e, err := New(StoreDeps(st, nil), o)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				if _, err := e.Personal(context.Background(), Request{CustomerID: custs[i%len(custs)], Limit: 10}); err != nil {
					b.Fatal(err)
				}
			}
			// The machine is shared: CPU time per request says more
			// than ns/op.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
