package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// openapi describes the routes actually registered, so the description
// cannot drift from the router.
func (s *Server) openapi(c *fiber.Ctx) error {
	paths := map[string]map[string]any{}
	for _, r := range s.table {
		p := r.path
		var params []map[string]any
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				name := seg[1:]
				params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
				p = strings.Replace(p, seg, "{"+name+"}", 1)
			}
		}
		for _, q := range r.params {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]string{"type": "string"}})
		}
		op := map[string]any{
			"summary":   r.summary,
			"responses": map[string]any{"200": map[string]string{"description": "OK"}, "default": map[string]any{"description": "problem", "content": map[string]any{"application/problem+json": map[string]any{}}}},
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.scope != ScopeNone {
			op["security"] = []map[string][]string{{"bearer": {scopeName(r.scope)}}}
			op["x-scope"] = scopeName(r.scope)
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.method)] = op
	}
	return c.JSON(map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]string{"title": "Affinity", "version": "1", "description": "Recommendation and personalization API"},
		"paths":   paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]string{"type": "http", "scheme": "bearer"},
		}},
	})
}
