package features

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// negTypes are the default types with ratings below 3 negative.
func negTypes(o *Options) {
	o.EventTypes = DefaultEventTypes()
	r := o.EventTypes["rating"]
	r.NegativeBelow = 3
	o.EventTypes["rating"] = r
}

func TestNegativeWeightsAndClasses(t *testing.T) {
	s := openTestStore(t, "", negTypes)
	tt := s.Types()
	code := func(n string) uint8 {
		c, ok := tt.Code(n)
		if !ok {
			t.Fatalf("type %s not configured", n)
		}
		return c
	}
	cases := []struct {
		typ    string
		value  float64
		weight float64
		class  Class
	}{
		{"purchase", 20, 5, ClassBought},
		{"return", -20, -5, ClassReturned},
		{"return", 0, -5, ClassReturned},
		{"dislike", 0, -5, ClassDisliked},
		{"rating", 5, 5, ClassBought},
		{"rating", 3, 3, ClassBought},
		{"rating", 2, -1, ClassDisliked},
		{"rating", 1, -2, ClassDisliked},
		{"rating", 0, 1, ClassBought}, // no value: no rating
	}
	for _, c := range cases {
		k := code(c.typ)
		if w := tt.Weight(k, c.value); w != c.weight {
			t.Errorf("%s %v: weight %v, want %v", c.typ, c.value, w, c.weight)
		}
		if cl := tt.ClassOf(k, c.value); cl != c.class {
			t.Errorf("%s %v: class %v, want %v", c.typ, c.value, cl, c.class)
		}
	}
	if !tt.IsReturn(code("return")) || tt.IsPurchase(code("return")) || tt.IsReturn(code("purchase")) {
		t.Fatal("a return is a return and not a purchase")
	}
}

// TestNegativeValueOnlyOnReturns: a negative value is refused on anything
// but a return, naming value; a return refuses a positive one.
func TestNegativeValueOnlyOnReturns(t *testing.T) {
	s := openTestStore(t, "", nil)
	evs := []Event{
		{CustomerID: "c", ProductID: "p", Type: "purchase", Value: -1},
		{CustomerID: "c", ProductID: "p", Type: "dislike", Value: -1},
		{CustomerID: "c", ProductID: "p", Type: "return", Value: 1},
		{CustomerID: "c", ProductID: "p", Type: "return", Value: -MaxEventValue - 1},
		{CustomerID: "c", ProductID: "p", Type: "return", Value: -12.5},
		{CustomerID: "c", ProductID: "p", Type: "return"},
	}
	res, err := s.Ingest(context.Background(), evs, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Rejected) != 4 {
		t.Fatalf("%+v", res)
	}
	for _, r := range res.Rejected {
		if r.Field != "value" {
			t.Fatalf("rejection %+v does not name value", r)
		}
	}
}

// TestNegativeSignalsStayOutOfAssociations: dislikes, returns and low
// ratings are in the history (so ranking and value see them) but in no
// product's support or co-occurrence.
func TestNegativeSignalsStayOutOfAssociations(t *testing.T) {
	s := openTestStore(t, "", negTypes)
	evs := []Event{
		ev("a", "p1", "purchase"), ev("a", "p2", "purchase"),
		ev("b", "p1", "purchase"), ev("b", "p3", "dislike"),
		{CustomerID: "b", ProductID: "p4", Type: "rating", Value: 1},
		{CustomerID: "b", ProductID: "p1", Type: "return", Value: -3},
	}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	m := s.Model()
	for _, p := range []string{"p3", "p4"} {
		id, _ := s.ProductID(p)
		for b := Basis(0); b < NumBases; b++ {
			if int(id) < len(m.Support[b]) && m.Support[b][id] != 0 {
				t.Fatalf("%s has support %d on basis %v", p, m.Support[b][id], b)
			}
		}
	}
	p1, _ := s.ProductID("p1")
	if got := m.Support[BasisAny][p1]; got != 2 {
		t.Fatalf("p1 support %d, want 2 (a return keeps the basket)", got)
	}
	b, _ := s.CustomerID("b")
	if n := len(s.HistoryView(b)); n != 4 {
		t.Fatalf("b's history has %d events, want 4", n)
	}
}

// TestNegativeValuesThroughTheClusterLog: a cluster node's log message
// carries a return's negative value, and the applying node classes each
// event as the receiving one did, also after a snapshot and a reopen.
func TestNegativeValuesThroughTheClusterLog(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []Event{
		{CustomerID: "c", ProductID: "p", Type: "purchase", Value: 30, OrderID: "o", Timestamp: ts},
		{CustomerID: "c", ProductID: "p", Type: "return", Value: -12.5, OrderID: "o", Timestamp: ts},
		{CustomerID: "c", ProductID: "q", Type: "dislike", Timestamp: ts},
		{CustomerID: "c", ProductID: "r", Type: "rating", Value: 1, Timestamp: ts},
	}
	msg := EncodeLogEvents(evs)
	got, err := DecodeLogEvents(msg)
	if err != nil || !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip: %v\n%+v", err, got)
	}
	dir := t.TempDir()
	s := openTestStore(t, dir, negTypes)
	if err := s.ApplyLog(context.Background(), []LogEntry{{1, msg}}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		class Class
		value float64
	}{{ClassBought, 30}, {ClassReturned, -12.5}, {ClassDisliked, 0}, {ClassDisliked, 1}}
	check := func(s *Store, when string) {
		t.Helper()
		c, _ := s.CustomerID("c")
		h := s.HistoryView(c)
		if len(h) != len(want) {
			t.Fatalf("%s: %d events", when, len(h))
		}
		for i, w := range want {
			if h[i].Class != w.class || h[i].Value != w.value {
				t.Fatalf("%s: event %d is %v %v, want %v %v", when, i, h[i].Class, h[i].Value, w.class, w.value)
			}
		}
	}
	check(s, "applied")
	s.Refresh()
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir, negTypes)
	check(s, "after a snapshot and a reopen")
}

// TestNegativeTypeConfig: the serve config names the negative classes and
// negative_below, and refuses a threshold where it means nothing.
func TestNegativeTypeConfig(t *testing.T) {
	var et EventType
	in := `{"weight":1,"class":"bought","use_value":true,"negative_below":3}`
	if err := json.Unmarshal([]byte(in), &et); err != nil || et.NegativeBelow != 3 {
		t.Fatalf("%s: %+v, %v", in, et, err)
	}
	if b, _ := json.Marshal(et); string(b) != in {
		t.Fatalf("round trip %s, want %s", b, in)
	}
	for _, c := range []string{"disliked", "returned"} {
		if err := json.Unmarshal([]byte(`{"weight":2,"class":"`+c+`"}`), &et); err != nil || et.Class.String() != c || !et.Class.Negative() {
			t.Fatalf("class %s: %+v, %v", c, et, err)
		}
	}
	bad := map[string]EventType{
		"threshold on a count":  {Weight: 1, Class: ClassBought, NegativeBelow: 3},
		"threshold on dislikes": {Weight: 1, Class: ClassDisliked, UseValue: true, NegativeBelow: 3},
		"negative threshold":    {Weight: 1, Class: ClassBought, UseValue: true, NegativeBelow: -1},
	}
	for name, et := range bad {
		o := DefaultOptions(t.TempDir())
		o.EventTypes = map[string]EventType{"x": et}
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
