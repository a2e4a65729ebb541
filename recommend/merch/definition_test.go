package merch

import (
	"errors"
	"github.com/affinity-rec/affinity/features/crm"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestRuleCompile(t *testing.T) {
	d := Rule{When: `"summer" in tags && price < 20`, Action: Boost}
	r, err := d.Compile()
	if err != nil || d.Weight != 1 {
		t.Fatalf("boost: %v, weight %v (want the default 1)", err, d.Weight)
	}
	ok, err := r.Match(crm.ProductEnv("p1", &features.Product{Tags: []string{"summer"}, Price: 10}))
	if err != nil || !ok {
		t.Fatalf("match: %v %v", ok, err)
	}
	if ok, _ := r.Match(crm.ProductEnv("p2", nil)); ok {
		t.Fatal("a product without a record matched a rule on its tags")
	}
	for _, c := range []struct {
		d           Rule
		field, says string
	}{
		{Rule{When: "price <", Action: Bury}, "when", "line 1, column"},
		{Rule{When: "monetary > 1", Action: Bury}, "when", "unknown name monetary (known: attributes, available"},
		{Rule{When: "toJSON(tags) == ''", Action: Filter}, "when", "not allowed"},
		{Rule{When: "true", Action: Pin, Position: 2, Weight: 1}, "weight", "only for"},
		{Rule{When: "true", Action: Boost, Weight: 1001}, "weight", "at most 1000"},
		{Rule{When: "true", Action: Boost, Position: 1}, "position", "only for action pin"},
		{Rule{When: "true", Action: ""}, "action", "one of"},
	} {
		_, err := c.d.Compile()
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.says) {
			t.Errorf("%+v: %v, want %s saying %q", c.d, err, c.field, c.says)
		}
	}
}
