package features

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

// TestRestartServesTheServedModel: a close and reopen brings back the
// lists that were served, although events since the last dense solve were
// waiting for the next one (closing used to solve first), and the reopened
// store still knows that solve is due.
func TestRestartServesTheServedModel(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTestStore(t, dir, nil)
	var evs []Event
	for c := range 30 {
		for p := range 5 {
			evs = append(evs, ev(fmt.Sprint("c", c), fmt.Sprint("p", (c*p+c)%17), "purchase"))
		}
		evs = append(evs, ev(fmt.Sprint("c", c), fmt.Sprint("p", c%11), "view"))
	}
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	// Fresh pairs: the paced refresh brings supports and popularity up to
	// date and leaves the dense lists for their solve (DenseInterval).
	var fresh []Event
	for c := range 10 {
		fresh = append(fresh, ev(fmt.Sprint("c", c), fmt.Sprint("p", 16-c), "purchase"), ev("new", fmt.Sprint("p", c), "purchase"))
	}
	if _, err := s.Ingest(ctx, fresh, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.refresh(refreshPaced)
	served := s.Model()
	if !s.denseStale || served.Seq != s.Stats().LastSeq {
		t.Fatalf("setup: dense stale %v, model seq %d of %d", s.denseStale, served.Seq, s.Stats().LastSeq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, nil)
	got := s2.Model()
	if d := listsDiffer(got.Neighbours, served.Neighbours); d != "" {
		t.Errorf("neighbour lists changed across close and reopen: %s", d)
	}
	if !reflect.DeepEqual(got.Popular, served.Popular) || !reflect.DeepEqual(got.Support, served.Support) {
		t.Error("popularity changed across close and reopen")
	}
	if !s2.denseStale {
		t.Fatal("the reopened store forgot that a dense solve is due")
	}
	s2.Refresh()
	if listsDiffer(s2.Model().Neighbours, served.Neighbours) == "" {
		t.Fatal("the pending solve changed nothing: the test did not leave the dense lists stale")
	}
}

// listsDiffer names the first list that differs between a and b ("" when
// none; an empty list equals none).
func listsDiffer(a, b [NumBases][][]Neighbour) string {
	for bs := range a {
		if len(a[bs]) != len(b[bs]) {
			return fmt.Sprintf("basis %d: %d lists, %d", bs, len(a[bs]), len(b[bs]))
		}
		for p := range a[bs] {
			if len(a[bs][p]) != len(b[bs][p]) || len(a[bs][p]) > 0 && !reflect.DeepEqual(a[bs][p], b[bs][p]) {
				return fmt.Sprintf("basis %d product %d: %v, %v", bs, p, a[bs][p], b[bs][p])
			}
		}
	}
	return ""
}
