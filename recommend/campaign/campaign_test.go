package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// testDeps is a real store in a temp dir with n customers, each buying a
// few of 40 products, a segment "all" of every one of them, and the list
// service over it.
func testDeps(t *testing.T, n int) (Deps, *features.Store) {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := crm.New(st, st.Records(), nil)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		st.Close()
	})
	var evs []features.Event
	for c := range n {
		for k := range 3 {
			evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: fmt.Sprint("p", (c*7+k*13)%40), Type: "purchase", Value: 2})
		}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	if _, err := cs.PutSegment("all", "frequency >= 1"); err != nil {
		t.Fatal(err)
	}
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Store: st, Profiles: cs, Engine: eng, Lists: recommend.NewService(eng, nil)}, st
}

func run(t *testing.T, d Deps, r Request) ([]map[string]any, int) {
	t.Helper()
	j, err := Prepare(context.Background(), d, r)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	chunks := 0
	n, err := j.Run(context.Background(), &b, func(int) { chunks++ })
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	if n != len(out) || n != j.Total() {
		t.Fatalf("Run says %d, wrote %d lines, Total %d", n, len(out), j.Total())
	}
	return out, chunks
}

// Lines ranked by several workers come out in segment order with the
// lists one worker makes; From and Max cut across chunk boundaries.
func TestRunOrderAndBounds(t *testing.T) {
	d, st := testDeps(t, 600)
	one, chunks := run(t, d, Request{Segment: "all", Limit: 4})
	if len(one) != 600 || chunks != 3 {
		t.Fatalf("%d lines in %d chunks", len(one), chunks)
	}
	many, _ := run(t, d, Request{Segment: "all", Limit: 4, Workers: 4})
	for i := range one {
		a, _ := json.Marshal(one[i]["items"])
		b, _ := json.Marshal(many[i]["items"])
		if one[i]["customer_id"] != many[i]["customer_id"] || string(a) != string(b) || many[i]["recommendation_id"] == "" {
			t.Fatalf("line %d: one worker %v, four %v", i, one[i], many[i])
		}
	}
	c300, _ := st.CustomerID(one[300]["customer_id"].(string))
	cut, _ := run(t, d, Request{Segment: "all", What: Members, From: c300, Max: 260, Workers: 3})
	if len(cut) != 260 || cut[0]["customer_id"] != one[300]["customer_id"] || cut[259]["customer_id"] != one[559]["customer_id"] {
		t.Fatalf("From/Max: %d lines from %v", len(cut), cut[0])
	}
	tail, _ := run(t, d, Request{Segment: "all", What: Members, From: c300})
	if len(tail) != 300 {
		t.Fatalf("from the 301st: %d lines", len(tail))
	}
}

// Requests that cannot run are refused before a line is written.
func TestPrepareRefuses(t *testing.T) {
	d, _ := testDeps(t, 5)
	ctx := context.Background()
	for _, c := range []struct {
		r     Request
		field string
	}{
		{Request{}, "segment"},
		{Request{Segment: "all", Customers: []string{"c1"}}, "customers"},
		{Request{Segment: "all", What: "all"}, "what"},
		{Request{Segment: "all", Limit: 101}, "limit"},
		{Request{Customers: []string{"c1", ""}}, "customers[1]"},
		{Request{Segment: "all", Variant: "b"}, "variant"},
	} {
		var fe *features.FieldError
		if _, err := Prepare(ctx, d, c.r); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: %v, want a field error on %s", c.r, err, c.field)
		}
	}
	if _, err := Prepare(ctx, d, Request{Segment: "nope"}); !errors.Is(err, features.ErrNotFound) {
		t.Errorf("unknown segment: %v", err)
	}
	if _, err := Prepare(ctx, d, Request{Segment: "all", Experiment: "x"}); !errors.Is(err, features.ErrNotFound) {
		t.Errorf("experiment without the service: %v", err)
	}
	if _, err := Prepare(ctx, d, Request{Segment: "all", What: NextBestOffer}); !errors.Is(err, features.ErrInvalid) {
		t.Errorf("offers without the service: %v", err)
	}
}
