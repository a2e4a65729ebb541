package experiment

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestExperimentValidation(t *testing.T) {
	x := expTestService(t, expTestStore(t, ""), nil)
	good := func() Experiment { return ab("e1", StatusRunning, 1, 1) }
	for _, tc := range []struct {
		name  string
		mod   func(*Experiment)
		field string
	}{
		{"bad status", func(e *Experiment) { e.Status = "live" }, "status"},
		{"no variants", func(e *Experiment) { e.Variants = nil }, "variants"},
		{"all zero", func(e *Experiment) { e.Variants[0].Weight, e.Variants[1].Weight = 0, 0 }, "variants"},
		{"negative weight", func(e *Experiment) { e.Variants[1].Weight = -1 }, "variants[1].weight"},
		{"NaN weight", func(e *Experiment) { e.Variants[1].Weight = math.NaN() }, "variants[1].weight"},
		{"empty name", func(e *Experiment) { e.Variants[1].Name = "" }, "variants[1].name"},
		{"duplicate name", func(e *Experiment) { e.Variants[1].Name = "control" }, "variants[1].name"},
		{"control char", func(e *Experiment) { e.Variants[0].Name = "a\x01" }, "variants[0].name"},
		{"unknown param", func(e *Experiment) { e.Variants[1].Params = map[string]any{"halflife_days": 3.0} }, "variants[1].params.halflife_days"},
		{"bad algorithm", func(e *Experiment) { e.Variants[1].Params = map[string]any{"algorithm": "magic"} }, "variants[1].params.algorithm"},
		{"limit too big", func(e *Experiment) { e.Variants[1].Params = map[string]any{"limit": 1000.0} }, "variants[1].params.limit"},
		{"limit fraction", func(e *Experiment) { e.Variants[1].Params = map[string]any{"limit": 2.5} }, "variants[1].params.limit"},
		{"half life zero", func(e *Experiment) { e.Variants[0].Params = map[string]any{"half_life_days": 0.0} }, "variants[0].params.half_life_days"},
		{"fixed without products", func(e *Experiment) { e.Variants[1].Params = map[string]any{"algorithm": "fixed"} }, "variants[1].params.products"},
		{"products twice", func(e *Experiment) {
			e.Variants[1].Params = map[string]any{"algorithm": "fixed", "products": []any{"a", "a"}}
		}, "variants[1].params.products"},
		{"bad salt", func(e *Experiment) { e.Salt = strings.Repeat("s", 300) }, "salt"},
		{"bad id", func(e *Experiment) { e.ID = "" }, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good()
			tc.mod(&e)
			_, err := x.Put(context.Background(), e)
			var fe *features.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a field error on %s, got %v", tc.field, err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
	// Defaults: salt is the id, status draft, params empty.
	e := mustPut(t, x, Experiment{ID: "defaults", Variants: []VariantConfig{{Name: "a", Weight: 1}, {Name: "control", Weight: 1}}})
	if e.Salt != "defaults" || e.Status != StatusDraft || e.Variants[0].Params == nil {
		t.Errorf("defaults not filled: %+v", e)
	}
	if got := mustResults(t, x, "defaults").Control; got != "control" {
		t.Errorf("a variant named control is the control, got %q", got)
	}
}
