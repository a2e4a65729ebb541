package crm

import (
	"strings"
	"testing"
)

// TestRuleErrorsShowNoGoTypes: a rule that mixes types is refused with JSON
// words (object, number, text, list), never Go's type names (issue 14, 9).
func TestRuleErrorsShowNoGoTypes(t *testing.T) {
	for src, want := range map[string]string{
		`attributes > 1`:      "mismatched types object and whole number",
		`monetary > "x"`:      "mismatched types number and text",
		`frequency + "a" > 1`: "mismatched types whole number and text",
		`segments > 2`:        "mismatched types list of text and whole number",
	} {
		_, err := CompileRule(src)
		if err == nil {
			t.Fatalf("%s: compiled", src)
		}
		msg := err.Error()
		if !strings.Contains(msg, want) {
			t.Errorf("%s: %q does not say %q", src, msg, want)
		}
		for _, goName := range []string{"interface {}", "map[", "float64", "[]string", " int "} {
			if strings.Contains(msg, goName) {
				t.Errorf("%s: %q shows the Go type %q", src, msg, goName)
			}
		}
	}
}
