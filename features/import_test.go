package features

import (
	"context"
	"io"
	"testing"
)

// sliceInput is an ImportReader over events in memory; a nil event entry
// stands for a line the format skips.
type sliceInput struct {
	evs      []*Event
	products map[string]Product
}

type skippedLine struct{}

func (skippedLine) Error() string                  { return "skipped" }
func (skippedLine) LineIssue() (string, bool)      { return "cancelled", true }
func (r *sliceInput) Products() map[string]Product { return r.products }
func (r *sliceInput) CustomerAttributes() map[string]map[string]any {
	return nil
}
func (r *sliceInput) Close() error { return nil }
func (r *sliceInput) Next() (Event, error) {
	if len(r.evs) == 0 {
		return Event{}, io.EOF
	}
	e := r.evs[0]
	r.evs = r.evs[1:]
	if e == nil {
		return Event{}, skippedLine{}
	}
	return *e, nil
}

type sliceSource []*sliceInput

func (s *sliceSource) Open() (string, ImportReader, error) {
	if len(*s) == 0 {
		return "", nil, io.EOF
	}
	r := (*s)[0]
	*s = (*s)[1:]
	return "input", r, nil
}

// Import counts what it read, skipped, rejected and found already stored,
// keeps a product record set before it, and builds the model at the end.
func TestImportCountsAndKeepsRecords(t *testing.T) {
	s := openTestStore(t, "", nil)
	if err := s.PutProduct("p1", Product{Category: "set"}); err != nil {
		t.Fatal(err)
	}
	a, b := ev("c1", "p1", "purchase"), ev("c1", "p2", "purchase")
	a.EventID = "a"
	bad := ev("c2", "p1", "teleport")
	src := sliceSource{
		{evs: []*Event{&a, nil, &b}, products: map[string]Product{"p1": {Category: "guessed"}, "p2": {Category: "guessed"}}},
		{evs: []*Event{&a, &bad}},
	}
	sum, err := Import(context.Background(), s, &src, ImportOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 5 || sum.Accepted != 3 || sum.Duplicates != 1 || sum.Skipped["cancelled"] != 1 ||
		sum.Rejected["bad_type"] != 1 || sum.UnknownTypes["teleport"] != 1 || sum.RejectedTotal() != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if p, _, _ := s.GetProduct("p1"); p.Category != "set" {
		t.Errorf("p1's record became %+v; the one set before the import wins", p)
	}
	if p, _, _ := s.GetProduct("p2"); p.Category != "guessed" {
		t.Errorf("p2 is %+v, want the imported record", p)
	}
	if s.Model() == nil || s.Model().Seq != s.Stats().LastSeq {
		t.Errorf("the model does not include the import")
	}
}
