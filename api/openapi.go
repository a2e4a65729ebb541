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
		describeScope(op, r.scope)
		if d, ok := routeDescriptions[r.method+" "+r.path]; ok {
			if sc, ok := op["description"].(string); ok {
				op["description"] = d.text + " " + sc
			} else {
				op["description"] = d.text
			}
			if d.reply != nil {
				op["responses"].(map[string]any)["200"] = map[string]any{"description": "OK",
					"content": map[string]any{"application/json": map[string]any{"schema": d.reply}}}
			}
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.method)] = op
	}
	return c.JSON(map[string]any{
		"openapi": "3.0.3",
		"info": map[string]string{"title": "Affinity", "version": "1", "description": "Recommendation and personalization API. " +
			"With API keys configured, each operation needs a key of the scope in its x-affinity-scope " +
			"(read, write or admin; admin includes write, write includes read; none: no key), sent as " +
			"Authorization: Bearer KEY or X-API-Key: KEY."},
		"paths": paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]string{"type": "http", "scheme": "bearer"},
			"apiKey": map[string]string{"type": "apiKey", "in": "header", "name": "X-API-Key"},
		}},
	})
}

// describeScope states who may call an operation: the x-affinity-scope
// extension names the scope, and security the scheme. OpenAPI 3.0 allows
// scope names in a security requirement only for OAuth2, so a bearer
// requirement's list stays empty and the scope goes in the extension; an
// open route has an empty security list (no key needed).
func describeScope(op map[string]any, sc Scope) {
	op["x-affinity-scope"] = scopeName(sc)
	if sc == ScopeNone {
		op["security"] = []map[string][]string{}
		return
	}
	op["security"] = []map[string][]string{{"bearer": {}}, {"apiKey": {}}}
	op["description"] = "Needs an API key with the " + scopeName(sc) + " scope (when keys are configured)."
	rs := op["responses"].(map[string]any)
	rs["401"] = map[string]string{"description": "no valid API key"}
	rs["403"] = map[string]string{"description": "the API key lacks the " + scopeName(sc) + " scope"}
	rs["429"] = map[string]string{"description": "too many failed keys from this address, or the key's rate limit; see Retry-After"}
}

// routeDescription is what /openapi.json says of a route beyond its
// summary: a longer text and the schema of its 200 reply.
type routeDescription struct {
	text  string
	reply map[string]any
}

// routeDescriptions holds the routes whose reply needs explaining.
var routeDescriptions = map[string]routeDescription{
	"POST /v1/events": {
		text: "accepted counts every valid event of the request, duplicates included: an event whose event_id is " +
			"already stored is acknowledged like a new one and stored once, so a retried batch gets the same " +
			"accepted as the first try. The events newly stored are accepted minus duplicates.",
		reply: map[string]any{"type": "object", "properties": map[string]any{
			"accepted":   map[string]string{"type": "integer", "description": "valid events, duplicates included"},
			"duplicates": map[string]string{"type": "integer", "description": "accepted events whose event_id was already stored (not stored again)"},
			"rejected":   map[string]string{"type": "integer", "description": "invalid events, each in errors"},
			"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
				"index": map[string]string{"type": "integer"}, "field": map[string]string{"type": "string"}, "detail": map[string]string{"type": "string"}}}},
		}},
	},
}
