package features

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/affinity-rec/affinity/features/similarity"
)

// TestRestartServesTheServedModel: a close and reopen brings back the
// model that was served, lists, supports and popularity alike, although
// events since the last dense solve were waiting for it (closing used to
// solve first) and newer ones had not reached even the counts yet; and the
// reopened store goes on from there: the counts catch up at its next
// refresh, and the dense solve is still due.
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
	ingest := func(evs ...Event) {
		t.Helper()
		if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ingest(evs...)
	s.Refresh()
	// Fresh pairs: the paced refresh brings supports and popularity up to
	// date and leaves the dense lists for their solve (DenseInterval).
	for c := range 10 {
		ingest(ev(fmt.Sprint("c", c), fmt.Sprint("p", 16-c), "purchase"), ev("new", fmt.Sprint("p", c), "purchase"))
	}
	s.refresh(refreshPaced)
	// And newer ones no refresh has seen.
	for c := range 5 {
		ingest(ev(fmt.Sprint("late", c), "p16", "purchase"), ev(fmt.Sprint("late", c), "p3", "purchase"))
	}
	served := s.Model()
	p16, _ := s.ProductID("p16")
	if !s.denseStale || served.Seq == s.Stats().LastSeq {
		t.Fatalf("setup: dense stale %v, model seq %d of %d", s.denseStale, served.Seq, s.Stats().LastSeq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	got := s.Model()
	if d := listsDiffer(got.Neighbours, served.Neighbours); d != "" {
		t.Errorf("neighbour lists changed across close and reopen: %s", d)
	}
	if !reflect.DeepEqual(got.Popular, served.Popular) || !reflect.DeepEqual(got.Support, served.Support) ||
		got.Customers != served.Customers || got.Seq != served.Seq {
		t.Fatalf("popularity changed across close and reopen:\n%v %v seq %d\n%v %v seq %d",
			got.Popular[BasisBought], got.Customers, got.Seq, served.Popular[BasisBought], served.Customers, served.Seq)
	}
	if !s.denseStale {
		t.Fatal("the reopened store forgot that a dense solve is due")
	}
	s.refresh(refreshPaced)
	if got, was := s.Model().SupportOf(BasisBought, p16), served.SupportOf(BasisBought, p16); got != was+5 {
		t.Fatalf("after the reopened store's refresh p16 has %d customers, %d before the late events: their marks were lost", got, was)
	}
	s.Refresh()
	if listsDiffer(s.Model().Neighbours, served.Neighbours) == "" {
		t.Fatal("the pending solve changed nothing: the test did not leave the dense lists stale")
	}
}

// listsDiffer names the first list that differs between a and b ("" when
// none; an empty list equals none).
func listsDiffer(a, b [NumBases][][]similarity.Neighbour) string {
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
