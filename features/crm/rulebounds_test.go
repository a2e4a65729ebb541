package crm

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/builtin"

	"github.com/affinity-rec/affinity/features"
)

// Rules the cost bounds refuse when they are defined, and what they cost
// without the bounds. heavyRule loops 9,000 times, under the memory
// budget, so only the measured cost refuses it; memoryBombRule builds
// 12,000 array elements.
const (
	heavyRule = `count(1..1000, # % 7 == frequency % 7 && # * 3 > monetary) + count(1..1000, # % 3 == frequency % 3 && # * 5 > monetary) +
 count(1..1000, # % 5 == frequency % 5 && # * 7 > monetary) + count(1..1000, # % 11 == frequency % 11 && # * 2 > monetary) +
 count(1..1000, # % 13 == frequency % 13 && # * 9 > monetary) + count(1..1000, # % 17 == frequency % 17 && # * 4 > monetary) +
 count(1..1000, # % 19 == frequency % 19 && # * 6 > monetary) + count(1..1000, # % 23 == frequency % 23 && # * 8 > monetary) +
 count(1..1000, # % 29 == frequency % 29 && # * 3 > monetary) > 0`
	memoryBombRule = `len(map(1..1000, [#, #, #, #, #, #, #, #, #, #, #, #])) > 0`
)

func TestRuleBuiltinsExist(t *testing.T) {
	for _, name := range ruleBuiltins {
		if !slices.Contains(builtin.Names, name) {
			t.Errorf("ruleBuiltins lists %q, which expr does not have", name)
		}
	}
}

// TestRuleBoundsAtCompileTime: the constructs whose cost the rule's
// length does not bound are refused with a FieldError on "rule" saying
// why; bounded uses of loops and ranges compile.
func TestRuleBoundsAtCompileTime(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{`len(toJSON(1..999999)) > 0`, "toJSON is not allowed"}, // the reproducer: 34 s on 380 customers
		{`len(repeat("x", 1000000000)) > 0`, "repeat is not allowed"},
		{`reduce(1..30, #acc + #acc, "xx") != ""`, "may not call reduce"},
		{`len(replace(replace(tier, "", "xxxxxxxxx"), "", "xxxxxxxxx")) > 0`, "replace is not allowed"},
		{`len(join(split(tier, ""), tier)) > 0`, "not allowed"},
		{`fromJSON(attributes.blob ?? "{}") != nil`, "fromJSON is not allowed"},
		{`len(1..999999) > 0`, "range of 999999 elements"},
		{`len(1..frequency) > 0`, "integer literals as bounds"},
		{`let a = tier + tier; let b = a + a; len(b) > 0`, "may not declare variables"},
		{`len(groupBy(1..1000, # % 7)) > 0`, "may not call groupBy"},
		{`any(1..1000, any(1..1000, # == frequency))`, "may not nest a loop"},
		{`all(segments, len(filter(segments, # == "x")) > 0)`, "may not nest a loop"},
	} {
		_, err := CompileRule(tc.rule)
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != "rule" || !strings.Contains(fe.Msg, tc.want) {
			t.Errorf("%s: %v, want a rule error containing %q", tc.rule, err, tc.want)
		}
	}
	for _, ok := range []string{
		`frequency in 1..5`,
		`frequency in 1..100000`, // expr turns it into two comparisons
		`len(filter(1..1000, # % 7 == frequency % 7)) > 100`,
		`any(segments, # startsWith "at_") && count(keys(attributes), # != "") > 1`,
		`sum(1..999999) > monetary`, // computed by formula
		`-5..5 != []`,
	} {
		if _, err := CompileRule(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestRuleMemoryBudgetAtRunTime: Match runs with RuleMemoryBudget, not
// expr's default of a million elements.
func TestRuleMemoryBudgetAtRunTime(t *testing.T) {
	r, err := CompileRule(memoryBombRule)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Match(sampleEnvs[1]); err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
		t.Fatalf("Match = %v, want memory budget exceeded", err)
	}
}

// TestCheckRuleCost measures rules on a real store's profiles: a cheap
// rule passes, a slow one and a memory bomb are refused naming the field
// and why, and neither is stored.
func TestCheckRuleCost(t *testing.T) {
	s := openTestStore(t, "", nil)
	for _, c := range []string{"a", "b", "c"} {
		if err := s.PutCustomer(c, features.Customer{Attributes: map[string]any{"country": "France"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutSegment("cheap", `monetary > 1000 && frequency >= 5 || attributes.country == "France"`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ rule, want string }{
		{heavyRule, "per customer, limit 50 µs"},
		{memoryBombRule, "memory budget of 10000 elements"},
	} {
		_, err := s.PutSegment("costly", tc.rule)
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != "rule" || !strings.Contains(fe.Msg, tc.want) {
			t.Errorf("%.40s: %v, want a rule error containing %q", tc.rule, err, tc.want)
		}
		t.Logf("%.40s…: %v", tc.rule, err)
		r, err := CompileRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckRuleCost("eligibility", r); err == nil || err.(*features.FieldError).Field != "eligibility" {
			t.Errorf("CheckRuleCost names %v", err)
		}
	}
	if _, err := s.GetSegment("costly"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("a refused rule was stored: %v", err)
	}
}

// TestStoredRulesOverTheBoundsStillLoad: a segment stored before the cost
// bounds is kept when the store opens (a store must keep its
// definitions), and its evaluations run under the memory budget, so the
// issue's reproducer fails fast as no match instead of taking 90 ms a
// customer.
func TestStoredRulesOverTheBoundsStillLoad(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if err := s.PutCustomer("a", features.Customer{Attributes: map[string]any{"country": "France"}}); err != nil {
		t.Fatal(err)
	}
	for id, rule := range map[string]string{
		"legacy_bomb": `len(toJSON(1..999999)) > 0`,
		"legacy_join": `join(["a", "b"], "") == "ab"`,
	} {
		if err := s.Records().Put(segmentKind, id, []byte(`{"rule":`+strconvQuote(rule)+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	for name, want := range map[string]int{"legacy_bomb": 0, "legacy_join": 1} {
		g, err := s.GetSegment(name)
		if err != nil || g.Members != want {
			t.Errorf("%s after reopening: %+v %v, want %d members", name, g, err, want)
		}
	}
	if _, over, err := CompileStoredRule(`len(toJSON(1..999999)) > 0`); err != nil || over == nil {
		t.Fatalf("CompileStoredRule: over %v, err %v", over, err)
	}
	if _, _, err := CompileStoredRule(`monetary >`); err == nil {
		t.Fatal("a rule that does not compile at all was accepted")
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
