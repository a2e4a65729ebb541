package experiment

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// expTestStore opens a real store in dir (a fresh temp dir when empty) and
// closes it at cleanup unless the test closed it.
func expTestStore(t testing.TB, dir string) *features.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	o.Logger = quietLog
	s, err := features.Open(o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func expTestService(t testing.TB, st *features.Store, mod func(*Options)) *Service {
	t.Helper()
	return expTestServiceOver(t, st.Records(), st, mod)
}

// testParams are the variant params a server understands: ranking's and
// the offer service's nbo_policy, as cmd/affinity wires them.
func testParams() Params {
	checks := recommend.ParamChecks(100)
	checks["nbo_policy"] = offer.CheckPolicy
	return Params{Checks: checks, Variant: []func(map[string]any) (string, string){recommend.CheckVariantParams}}
}

// expTestServiceOver is a service keeping its records in recs (a wrapper
// of st's, to inject failures) and following st.
func expTestServiceOver(t testing.TB, recs Records, st *features.Store, mod func(*Options)) *Service {
	t.Helper()
	o := DefaultOptions()
	o.FlushInterval = 20 * time.Millisecond
	o.Logger = quietLog
	if mod != nil {
		mod(&o)
	}
	x, err := New(recs, st, testParams(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// seedProducts creates products p0..p(n-1) so exposures can name them.
func seedProducts(t testing.TB, st *features.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	evs := make([]features.Event, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i)
		evs[i] = features.Event{CustomerID: "seed", ProductID: ids[i], Type: "view"}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustPut(t testing.TB, x *Service, e Experiment) Experiment {
	t.Helper()
	out, err := x.Put(context.Background(), e)
	if err != nil {
		t.Fatalf("Put %s: %v", e.ID, err)
	}
	return out
}

func ab(id string, status string, weights ...float64) Experiment {
	e := Experiment{ID: id, Status: status}
	names := []string{"control", "treatment", "third", "fourth"}
	for i, w := range weights {
		e.Variants = append(e.Variants, VariantConfig{Name: names[i], Weight: w})
	}
	return e
}

func mustFlush(t testing.TB, x *Service) {
	t.Helper()
	if err := x.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func mustResults(t testing.TB, x *Service, id string) Results {
	t.Helper()
	r, err := x.Results(context.Background(), id)
	if err != nil {
		t.Fatalf("Results: %v", err)
	}
	return r
}

func variantOf(t testing.TB, r Results, name string) VariantResult {
	t.Helper()
	for _, v := range r.Variants {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variant %q in %+v", name, r)
	return VariantResult{}
}

// exposeAll enrols and exposes units u0..u(n-1), one list each, and
// returns the variant of each.
func exposeAll(t testing.TB, x *Service, exp string, n int, prods []string, keep func(variant string, i int) bool) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		unit := fmt.Sprintf("u%d", i)
		v, _, err := x.Enrol(context.Background(), exp, "", unit)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
		if keep == nil || keep(v, i) {
			x.Expose(exp, v, fmt.Sprintf("%s-r%d", exp, i), unit, false, prods[:3])
		}
	}
	return out
}

func countLog(t testing.TB, st *features.Store, kind string) int {
	n := 0
	if err := st.Records().Scan(kind, 0, func(uint64, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
