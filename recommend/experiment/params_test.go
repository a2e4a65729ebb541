package experiment

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// The params a service accepts are exactly those its constructor was given:
// a param nobody supplied a checker for is refused, naming the field and
// the known ones; a supplied checker and variant rule decide.
func TestParamsComeFromTheConstructor(t *testing.T) {
	st := expTestStore(t, "")
	o := DefaultOptions()
	o.Logger = quietLog
	params := Params{
		Checks: map[string]func(any) string{"colour": func(v any) string {
			if v == "red" || v == "blue" {
				return ""
			}
			return "must be red or blue"
		}},
		Variant: []func(map[string]any) (string, string){func(p map[string]any) (string, string) {
			if p["colour"] == "blue" {
				return "colour", "blue needs a second opinion"
			}
			return "", ""
		}},
	}
	x, err := New(st.Records(), st, params, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	for _, c := range []struct {
		params map[string]any
		field  string
		msg    string
	}{
		{map[string]any{"colour": "red"}, "", ""},
		{map[string]any{"limit": 5.0}, "variants[1].params.limit", "(colour)"},
		{map[string]any{"colour": "green"}, "variants[1].params.colour", "must be red or blue"},
		{map[string]any{"colour": "blue"}, "variants[1].params.colour", "second opinion"},
	} {
		e := ab("p", StatusDraft, 1, 1)
		e.Variants[1].Params = c.params
		_, err := x.Put(context.Background(), e)
		var fe *features.FieldError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%v: %v", c.params, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg)):
			t.Errorf("%v: got %v, want %s %q", c.params, err, c.field, c.msg)
		}
	}
}
