package api

import (
	"encoding/json"
	"testing"
)

// wantProblem holds r to a 400 problem document naming field, and returns
// its detail.
func wantProblem(t testing.TB, r httpReply, field string) string {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != 400 || r.ctype != "application/problem+json" || p.Field != field {
		t.Fatalf("status %d %s %s, want a 400 problem naming %q", r.status, r.ctype, r.body, field)
	}
	return p.Detail
}
