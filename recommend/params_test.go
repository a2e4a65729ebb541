package recommend

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// variantTestStore opens a real store in a temp dir, closed at cleanup.
func variantTestStore(t testing.TB) *features.Store {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := features.Open(o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestVariantParamsReachTheEngine(t *testing.T) {
	st := variantTestStore(t)
	var evs []features.Event
	for c := range 20 {
		for p := range 6 {
			if (c+p)%3 != 0 {
				evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: fmt.Sprint("p", p), Type: "purchase"})
			}
		}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	eng, err := New(StoreDeps(st, nil), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fixed := map[string]any{"algorithm": "fixed", "products": []any{"p5", "nope", "p0", "p3"}, "limit": 2.0}
	l, err := eng.Related(ctx, Request{ProductID: "p0", Params: fixed})
	if err != nil || l.Algorithm != "fixed" || len(l.Items) != 2 || l.Items[0].ProductID != "p5" || l.Items[1].ProductID != "p3" {
		t.Fatalf("fixed list on related (unknown and the product itself skipped, limit 2): %+v %v", l, err)
	}
	l, err = eng.Personal(ctx, Request{CustomerID: "c1", Params: fixed})
	if err != nil || l.Algorithm != "fixed" || len(l.Items) != 2 {
		t.Fatalf("fixed list on personal: %+v %v", l, err)
	}
	l, err = eng.Related(ctx, Request{ProductID: "p0", Params: map[string]any{"algorithm": "popular"}})
	if err != nil || !strings.HasPrefix(l.Algorithm, "popular") || len(l.Items) == 0 {
		t.Fatalf("popular on related: %+v %v", l, err)
	}
	for _, it := range l.Items {
		if it.ProductID == "p0" {
			t.Fatalf("popular on related recommended the product itself: %+v", l)
		}
	}
	l, err = eng.Related(ctx, Request{ProductID: "p0", Params: map[string]any{"algorithm": "default"}})
	if err != nil || l.Algorithm == "fixed" || strings.HasPrefix(l.Algorithm, "popular") {
		t.Fatalf("default algorithm must rank as usual: %+v %v", l, err)
	}
}
