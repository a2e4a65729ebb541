package crm

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// testStore is a real Badger store under t.TempDir with the customer-value
// service following it: the store's methods (Ingest, EraseCustomer, ...)
// and the service's (PutSegment, CustomerValue, ...) on one value, as the
// server has them. Close closes the service, then the store.
type testStore struct {
	*features.Store
	*Service
}

// Close stops the service, then closes the store.
func (ts *testStore) Close() error {
	ts.Service.Close()
	return ts.Store.Close()
}

// CoBought is the store's (the service only passes it on).
func (ts *testStore) CoBought(a, b uint32) (int, int) { return ts.Store.CoBought(a, b) }

// openTestStore opens a store in dir ("" for a new temporary one) with the
// options of the features package's tests (tiny catalogues, no tuning, a
// pinned clock), mod applied last, starts the service over it, and closes
// both at the end of the test.
func openTestStore(t testing.TB, dir string, mod func(*features.Options)) *testStore {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Neighbours.DenseMinSupport = 1
	o.Neighbours.Tune = false
	o.Clock = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	if mod != nil {
		mod(&o)
	}
	st, err := features.Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	svc, err := New(st, st.Records(), nil)
	if err != nil {
		st.Close()
		t.Fatalf("crm.New: %v", err)
	}
	ts := &testStore{Store: st, Service: svc}
	t.Cleanup(func() { ts.Close() })
	return ts
}

// syntheticEvents is n purchases by nc customers of np products (Zipf
// popularity), one second apart from 2024-01-01, as the features
// package's benchmarks make them; withIDs gives each an event id.
func syntheticEvents(n, nc, np int, seed int64, withIDs bool) []features.Event {
	r := rand.New(rand.NewSource(seed))
	z := rand.NewZipf(r, 1.1, 4, uint64(np-1))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]features.Event, n)
	for i := range evs {
		evs[i] = features.Event{
			CustomerID: fmt.Sprintf("c%d", r.Intn(nc)),
			ProductID:  fmt.Sprintf("p%d", z.Uint64()),
			Type:       "purchase",
			Value:      float64(r.Intn(5000)) / 100,
			Timestamp:  base.Add(time.Duration(i) * time.Second),
		}
		if withIDs {
			evs[i].EventID = fmt.Sprintf("e%d", i)
		}
	}
	return evs
}
