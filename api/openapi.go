package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v4"
)

// openapiYAML is the API description, the one source of truth for the
// API's shape: written by hand so that it can say what code cannot (ranges,
// enums, examples, which problems each operation answers), and held to the
// router and the handlers by tests (api/contract checks every reply the test
// suites receive against it; TestOpenAPIMatchesRoutes checks its paths,
// methods, scopes and query parameters against the route table).
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIYAML returns the API description as written (a copy).
func OpenAPIYAML() []byte { return append([]byte(nil), openapiYAML...) }

// OpenAPIJSON returns the API description as JSON, as /openapi.json serves it.
func OpenAPIJSON() ([]byte, error) { return openapiJSON() }

var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml as JSON: %w", err)
	}
	return b, nil
})

func (s *Server) openapi(c *fiber.Ctx) error {
	b, err := openapiJSON()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}
