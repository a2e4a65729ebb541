package crm

import (
	"math"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// sampleEnvs are rule environments that exercise the edge values: a
// customer who never bought (recency +Inf), missing and odd attributes.
var sampleEnvs = []map[string]any{
	{"recency_days": math.Inf(1), "frequency": 0, "monetary": 0.0, "r_score": 0, "f_score": 0, "m_score": 0,
		"tier": TierProspect, "historical_value": 0.0, "current_value": 0.0, "events": 1,
		"attributes": map[string]any{}, "segments": []string{}},
	{"recency_days": 3.5, "frequency": 7, "monetary": 1234.5, "r_score": 5, "f_score": 4, "m_score": 5,
		"tier": TierChampions, "historical_value": 1234.5, "current_value": 300.25, "events": 40,
		"attributes": map[string]any{"country": "France", "age": 41.0, "vip": true, "tags": []any{"a", "b"}, "nested": map[string]any{"x": 1.0}},
		"segments":   []string{"at_risk", "big"}},
}

func TestRuleMatch(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want [2]bool
	}{
		{`monetary > 1000 && frequency >= 5`, [2]bool{false, true}},
		{`tier == "champions"`, [2]bool{false, true}},
		{`attributes.country == "France"`, [2]bool{false, true}},
		{`"at_risk" in segments && monetary > 200`, [2]bool{false, true}},
		{`recency_days > 365`, [2]bool{true, false}},
		{`events >= 1 and not (frequency > 0)`, [2]bool{true, false}},
		{`attributes.vip ?? false`, [2]bool{false, true}},
	} {
		r, err := CompileRule(tc.rule)
		if err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		for i, env := range sampleEnvs {
			got, err := r.Match(env)
			if err != nil || got != tc.want[i] {
				t.Errorf("%s on env %d: %v %v, want %v", tc.rule, i, got, err, tc.want[i])
			}
		}
	}
}

func TestRuleErrorsSayWhere(t *testing.T) {
	_, err := CompileRule("frequency > 2 &&\n   monetry > 5")
	if err == nil || !strings.Contains(err.Error(), "line 2, column 4") || !strings.Contains(err.Error(), "unknown name monetry") {
		t.Fatalf("%v", err)
	}
}

// FuzzCompileRule: any text either compiles to a rule that evaluates
// without panicking, or is a FieldError on "rule".
func FuzzCompileRule(f *testing.F) {
	for _, s := range []string{
		`monetary > 1000 && frequency >= 5`, `tier == "at_risk"`, `attributes.country == "France"`,
		`"at_risk" in segments && monetary > 200`, `attributes.tags[0] matches "^a"`, `len(segments) > 1`,
		`recency_days < 30 ? true : false`, `monetary >`, `((((`, `all(segments, # startsWith "a")`,
		`attributes.nested.x / 0 > 1`, `repeat("x", 1000000) != ""`, "\xff", `now() > now()`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		r, err := CompileRule(src)
		if err != nil {
			fe, ok := err.(*features.FieldError)
			if !ok || fe.Field != "rule" {
				t.Fatalf("%q: error %T %v", src, err, err)
			}
			return
		}
		if r.String() != src {
			t.Fatalf("String() = %q", r.String())
		}
		for _, env := range sampleEnvs {
			_, _ = r.Match(env)
		}
	})
}
