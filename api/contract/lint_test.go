package contract_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/api/contract"
)

// TestDescriptionLints holds api/openapi.yaml to OpenAPI 3.1 (with every
// example valid against its schema, contract.Load) and to the project's
// rules: every operation has an id, a summary, a success reply with an
// example and X-Request-ID, problem replies for its errors, and reply
// objects closed to undocumented fields.
func TestDescriptionLints(t *testing.T) {
	doc, err := contract.Load(api.OpenAPIYAML())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q missing or repeated", where, op.OperationID)
			}
			ids[op.OperationID] = true
			if op.Summary == "" {
				t.Errorf("%s: no summary", where)
			}
			if op.Responses.Default() != nil {
				t.Errorf("%s: a default reply hides which statuses exist; list them", where)
			}
			lintResponses(t, where, op)
		}
	}
}

func lintResponses(t *testing.T, where string, op *openapi3.Operation) {
	success := 0
	for code, ref := range op.Responses.Map() {
		r := ref.Value
		if r.Headers["X-Request-ID"] == nil {
			t.Errorf("%s %s: X-Request-ID not documented", where, code)
		}
		if strings.HasPrefix(code, "2") {
			success++
			for ct, mt := range r.Content {
				if mt.Example == nil && len(mt.Examples) == 0 && !strings.HasPrefix(ct, "application/octet-stream") {
					t.Errorf("%s %s %s: no example", where, code, ct)
				}
				if mt.Schema != nil {
					closed(t, fmt.Sprintf("%s %s", where, code), mt.Schema.Value, map[*openapi3.Schema]bool{})
				}
			}
			continue
		}
		mt := r.Content.Get("application/problem+json")
		if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
			t.Errorf("%s %s: an error reply must be an application/problem+json Problem", where, code)
		}
	}
	if success != 1 {
		t.Errorf("%s: %d success replies, want one", where, success)
	}
}

// openObjects are the reply fields that are free-form by design: the
// caller's own attributes and a variant's params (checked by the server).
var openObjects = map[string]bool{"attributes": true, "params": true, "openapi.json": true}

// closed checks that every object schema in s forbids undocumented fields.
func closed(t *testing.T, where string, s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.Type.Is("object") && len(s.Properties) > 0 && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
		t.Errorf("%s: an object reply schema with properties %v allows undocumented fields", where, keys(s.Properties))
	}
	for name, p := range s.Properties {
		if openObjects[name] {
			continue
		}
		closed(t, where+"."+name, p.Value, seen)
	}
	if s.Items != nil {
		closed(t, where+"[]", s.Items.Value, seen)
	}
	for _, sub := range append(append(s.OneOf, s.AnyOf...), s.AllOf...) {
		closed(t, where, sub.Value, seen)
	}
}

func keys(m openapi3.Schemas) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
