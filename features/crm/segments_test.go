package crm_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
)

// segmentCase is a rule and its brute-force membership over the reference
// values and attributes.
type segmentCase struct {
	name, rule string
	want       func(r *rfm, attrs map[string]any) bool
}

var segmentCases = []segmentCase{
	{"big", "monetary > 1000 && frequency >= 3", func(r *rfm, _ map[string]any) bool {
		return r != nil && micro(r.monetary) > 1000 && len(r.orders) >= 3
	}},
	{"recent", "recency_days <= 30", func(r *rfm, _ map[string]any) bool {
		return r != nil && demoClock.Sub(r.last).Hours()/24 <= 30
	}},
	{"france", `attributes.country == "France"`, func(_ *rfm, a map[string]any) bool { return a["country"] == "France" }},
	{"abroad.once", `attributes.country != "United Kingdom" && frequency == 1`, func(r *rfm, a map[string]any) bool {
		return a["country"] != "United Kingdom" && r != nil && len(r.orders) == 1
	}},
}

func bruteForce(ref map[string]*rfm, attrs map[string]map[string]any, sc segmentCase) []string {
	var out []string
	ids := map[string]bool{}
	for id := range ref {
		ids[id] = true
	}
	for id := range attrs {
		ids[id] = true
	}
	for id := range ids {
		a := attrs[id]
		if a == nil {
			a = map[string]any{}
		}
		if sc.want(ref[id], a) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func members(t *testing.T, s *crm.TestStore, name string) []string {
	t.Helper()
	bm, err := s.SegmentMembers(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range bm.ToArray() {
		out = append(out, s.CustomerName(c))
	}
	slices.Sort(out)
	return out
}

func checkSegments(t *testing.T, s *crm.TestStore, ref map[string]*rfm, attrs map[string]map[string]any) {
	t.Helper()
	for _, sc := range segmentCases {
		want := bruteForce(ref, attrs, sc)
		if len(want) == 0 || len(want) == len(ref) {
			t.Fatalf("segment %s: %d of %d members is no test", sc.name, len(want), len(ref))
		}
		got := members(t, s, sc.name)
		if !slices.Equal(got, want) {
			t.Fatalf("segment %s: %d members, brute force %d (first differences: %v)", sc.name, len(got), len(want), diff(got, want))
		}
		g, err := s.GetSegment(sc.name)
		if err != nil || g.Members != len(want) || g.Rule != sc.rule {
			t.Fatalf("GetSegment(%s) = %+v, %v", sc.name, g, err)
		}
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, "+"+x)
		}
	}
	for _, x := range b {
		if _, ok := slices.BinarySearch(a, x); !ok {
			out = append(out, "-"+x)
		}
	}
	return out[:min(len(out), 5)]
}

// TestSegmentsMatchBruteForce defines half the segments before any data
// (kept current incrementally as events and attributes arrive) and half
// after (evaluated for everyone), compares both with a brute-force count,
// restarts, and erases a member.
func TestSegmentsMatchBruteForce(t *testing.T) {
	evs, _, attrs := demoData(t, demoPath, 3)
	dir := t.TempDir()
	s := openStore(t, dir)
	for _, sc := range segmentCases[:2] {
		if _, err := s.PutSegment(sc.name, sc.rule); err != nil {
			t.Fatal(err)
		}
	}
	ingest(t, s, evs, 900)
	cs := map[string]features.Customer{}
	for id, a := range attrs {
		cs[id] = features.Customer{Attributes: a}
	}
	if err := s.PutCustomers(cs); err != nil {
		t.Fatal(err)
	}
	for _, sc := range segmentCases[2:] {
		if _, err := s.PutSegment(sc.name, sc.rule); err != nil {
			t.Fatal(err)
		}
	}
	ref := referenceRFM(evs)
	checkSegments(t, s, ref, attrs)
	if err := s.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	checkSegments(t, s, ref, attrs)

	// The segments survive a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if l := s.ListSegments(); len(l) != len(segmentCases) {
		t.Fatalf("after restart: %+v", l)
	}
	checkSegments(t, s, ref, attrs)

	// Erasure removes membership.
	victim := members(t, s, "france")[0]
	c, _ := s.CustomerID(victim)
	if !slices.Contains(s.SegmentsOf(c), "france") {
		t.Fatalf("SegmentsOf(%s) = %v", victim, s.SegmentsOf(c))
	}
	before := len(members(t, s, "france"))
	if err := s.EraseCustomer(victim); err != nil {
		t.Fatal(err)
	}
	if got := members(t, s, "france"); len(got) != before-1 || slices.Contains(got, victim) {
		t.Fatalf("after erasure: %d members (was %d)", len(got), before)
	}
	if segs := s.SegmentsOf(c); len(segs) != 0 {
		t.Fatalf("erased customer still in %v", segs)
	}
	// A new event moves a customer in: c2 becomes French.
	if err := s.PutCustomer("newcomer", features.Customer{Attributes: map[string]any{"country": "France"}}); err != nil {
		t.Fatal(err)
	}
	// Membership follows a write through the background applier.
	if err := s.FlushSegments(); err != nil {
		t.Fatal(err)
	}
	nc, _ := s.CustomerID("newcomer")
	if !slices.Equal(s.SegmentsOf(nc), []string{"france"}) {
		t.Fatalf("newcomer in %v", s.SegmentsOf(nc))
	}
	if err := s.DeleteSegment("france"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSegment("france"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("deleted segment: %v", err)
	}
	if err := s.DeleteSegment("france"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestBadRulesAndNames(t *testing.T) {
	s := openStore(t, "")
	for _, tc := range []struct {
		rule, field, want string
	}{
		{"", "rule", "required"},
		{"monetary >", "rule", "line 1, column"},
		{"moneytary > 5", "rule", "unknown name moneytary"},
		{"monetary", "rule", "true/false"},
		{`tier == 5`, "rule", "line 1"},
		{"monetary > 1 &&\n  frequency >>= 2", "rule", "line 2"},
		{`"x" in segments`, "rule", "may not use segments"},
		{strings.Repeat("monetary > 1 || ", 400) + "true", "rule", "at most"},
		{"\xff", "rule", "UTF-8"},
	} {
		_, err := s.PutSegment("x", tc.rule)
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Error(), tc.want) {
			t.Errorf("rule %q: %v, want field %s containing %q", tc.rule, err, tc.field, tc.want)
		}
	}
	for _, name := range []string{"", "a b", "a/b", strings.Repeat("x", 65), "é"} {
		_, err := s.PutSegment(name, "frequency > 1")
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != "name" {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if l := s.ListSegments(); len(l) != 0 {
		t.Fatalf("bad puts left %+v", l)
	}
}

func TestCompileRuleForOffers(t *testing.T) {
	s := openStore(t, "")
	ingest(t, s, []features.Event{
		{CustomerID: "a", ProductID: "p", Type: "purchase", Value: 300, OrderID: "o1", Timestamp: demoClock.Add(-400 * 24 * time.Hour)},
		{CustomerID: "b", ProductID: "p", Type: "purchase", Value: 50, OrderID: "o2", Timestamp: demoClock.Add(-400 * 24 * time.Hour)},
	}, 10)
	if _, err := s.PutSegment("old", "recency_days > 365"); err != nil {
		t.Fatal(err)
	}
	r, err := crm.CompileRule(`"old" in segments && monetary > 200`)
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != `"old" in segments && monetary > 200` {
		t.Fatal(r.String())
	}
	for id, want := range map[string]bool{"a": true, "b": false} {
		c, _ := s.CustomerID(id)
		got, err := r.Match(s.RuleEnv(c))
		if err != nil || got != want {
			t.Errorf("%s: %v %v", id, got, err)
		}
	}
	// A run-time type error is an error, not a match.
	r2, err := crm.CompileRule(`attributes.age > 30`)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer("a", features.Customer{Attributes: map[string]any{"age": "old"}}); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CustomerID("a")
	if ok, err := r2.Match(s.RuleEnv(c)); ok || err == nil {
		t.Fatalf("string > int: %v %v", ok, err)
	}
}

// TestSegmentProductsLift builds a store where segment "fans" (10 customers)
// all buy p-fan, which few others buy; a product bought by one fan only
// and by nobody else must rank below it despite its higher raw lift.
func TestSegmentProductsLift(t *testing.T) {
	s := openStore(t, "")
	var evs []features.Event
	ts := demoClock.Add(-24 * time.Hour)
	add := func(c, p string) {
		evs = append(evs, features.Event{CustomerID: c, ProductID: p, Type: "purchase", Value: 1, Timestamp: ts})
	}
	for i := 0; i < 100; i++ {
		c := fmt.Sprintf("c%d", i)
		add(c, "p-common")
		if i < 10 {
			add(c, "p-fan")
		}
		if i == 50 || i == 60 {
			add(c, "p-fan")
		}
	}
	add("c0", "p-rare")
	ingest(t, s, evs, 1000)
	s.Refresh()
	cs := map[string]features.Customer{}
	for i := 0; i < 10; i++ {
		cs[fmt.Sprintf("c%d", i)] = features.Customer{Attributes: map[string]any{"fan": true}}
	}
	if err := s.PutCustomers(cs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSegment("fans", "attributes.fan == true"); err != nil {
		t.Fatal(err)
	}
	sp, err := s.SegmentProducts("fans")
	if err != nil {
		t.Fatal(err)
	}
	if sp.Members != 10 || sp.Buyers != 10 || len(sp.Lift) != 2 {
		t.Fatalf("%+v", sp)
	}
	if got := s.ProductName(sp.Lift[0].Product); got != "p-fan" {
		t.Fatalf("best lift %s (%+v)", got, sp.Lift)
	}
	// 10 fans bought it where 10·12/100 = 1.2 were expected: (10+5)/(1.2+5);
	// p-rare: (1+5)/(0.1+5).
	if want := float32(15 / 6.2); abs32(sp.Lift[0].Score-want) > 1e-4 || abs32(sp.Lift[1].Score-6/5.1) > 1e-4 {
		t.Fatalf("lift %v, want %v", sp.Lift[0].Score, want)
	}
	if s.ProductName(sp.Popular[0].Product) != "p-common" || sp.Popular[0].Score != 10 {
		t.Fatalf("popular %+v", sp.Popular)
	}
	if _, err := s.SegmentProducts("nope"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("unknown segment: %v", err)
	}
}

func abs32(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}

// TestSegmentsUnderConcurrentWrites ingests while full passes, redefinitions
// and readers run, then checks membership against a brute-force count: the
// customers changed during a full pass must not be lost.
func TestSegmentsUnderConcurrentWrites(t *testing.T) {
	evs, _, _ := demoData(t, demoPath, 2)
	s := openStore(t, "")
	const rule = "monetary > 300 && frequency >= 2"
	if _, err := s.PutSegment("big", rule); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errc := make(chan error, 3)
	go func() {
		// One full evaluation at a time, checking for the end between them:
		// the last one overlaps the end of ingestion, so nothing after it
		// could mask a customer it lost.
		for i := 0; ; i++ {
			select {
			case <-done:
				errc <- nil
				return
			default:
			}
			var err error
			if i%2 == 0 {
				err = s.RefreshCustomerValue()
			} else {
				_, err = s.PutSegment("big", rule)
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case <-done:
				errc <- nil
				return
			default:
			}
			for c := uint32(0); c < uint32(s.NumCustomers()); c += 7 {
				s.SegmentsOf(c)
				s.CustomerValue(c)
				s.RuleEnv(c)
			}
			if _, err := s.SegmentProducts("big"); err != nil {
				errc <- err
				return
			}
			s.ValueInsights()
		}
	}()
	ingest(t, s, evs, 300)
	close(done)
	for i := 0; i < 2; i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	ref := referenceRFM(evs)
	want := bruteForce(ref, nil, segmentCase{want: func(r *rfm, _ map[string]any) bool {
		return r != nil && micro(r.monetary) > 300 && len(r.orders) >= 2
	}})
	if got := members(t, s, "big"); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("%d members, brute force %d (%v)", len(got), len(want), diff(got, want))
	}
}
