package api

import (
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// FuzzMergeBody: any merge body, for any customer path, never gives a 5xx
// or a panic (merges that succeed included).
func FuzzMergeBody(f *testing.F) {
	ts := fuzzServer(f)
	evs := []features.Event{{CustomerID: "anon-1", ProductID: "p1", Type: "view"}, {CustomerID: "c1", ProductID: "p2", Type: "purchase"}}
	if _, err := ts.store.Ingest(f.Context(), evs, features.IngestOptions{}); err != nil {
		f.Fatal(err)
	}
	f.Add("c1", []byte(`{"from":"anon-1"}`))
	f.Add("c1", []byte(`{"from":"c1"}`))
	f.Add("new", []byte(`{"from":null}`))
	f.Add("c1", []byte(`{"from":7,"x":1}`))
	f.Add("c 1", []byte(`{"from":"\u0000"}`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		if !validPathSegment(id) {
			return
		}
		noServerError(t, ts, "POST", "/v1/customers/"+id+"/merge", "application/json", body)
	})
}

// validPathSegment says id can stand in a request path as it is.
func validPathSegment(id string) bool {
	if id == "" || len(id) > 300 {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r == '/' || r == '?' || r == '#' || r == '%' || r > 126 {
			return false
		}
	}
	return true
}
