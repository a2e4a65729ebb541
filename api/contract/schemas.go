package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"
)

// docURL names the description as a JSON Schema resource: its schemas are
// compiled in place (by JSON pointer), so their $refs resolve as written.
const docURL = "mem:///openapi.json"

// schemaCache compiles each schema of the description once, with the JSON
// Schema 2020-12 engine kin-openapi itself uses. kin-openapi's VisitJSON
// compiles a 3.1 schema on every call (about 3 ms for a list reply); the
// contract check runs on every reply of every test, so it keeps its own
// compiled schemas. Safe for concurrent use.
type schemaCache struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

func newSchemaCache(spec []byte) (*schemaCache, error) {
	var doc any
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, err
	}
	// Through JSON, so that numbers and maps have the types the engine
	// expects.
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	root, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time and the like are checked, as OpenAPI tools do
	if err := c.AddResource(docURL, root); err != nil {
		return nil, err
	}
	return &schemaCache{compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// validate checks v against the schema at the JSON pointer ptr.
func (s *schemaCache) validate(ptr string, v any) error {
	s.mu.Lock()
	sch, ok := s.compiled[ptr]
	if !ok {
		var err error
		if sch, err = s.compiler.Compile(docURL + "#" + ptr); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("compiling %s: %w", ptr, err)
		}
		s.compiled[ptr] = sch
	}
	s.mu.Unlock()
	return sch.Validate(v)
}

// pointerEscape escapes one JSON pointer token.
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// refPointer turns a local $ref into a JSON pointer.
func refPointer(ref string) (string, bool) {
	p, ok := strings.CutPrefix(ref, "#")
	return p, ok && strings.HasPrefix(p, "/")
}
