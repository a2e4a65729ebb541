package api

import "github.com/gofiber/fiber/v2"

// Store-wide customer value: customers and revenue per tier and the 80/20
// figure (GET /v1/insights/value).
// insightRoutes lists this file's routes; server.go registers them.
func (s *Server) insightRoutes() []route {
	return []route{
		{"GET", "/v1/insights/value", ScopeRead, "Customers and revenue per value tier, and the revenue share of the top 20% of customers", s.valueInsights, nil},
	}
}

func (s *Server) valueInsights(c *fiber.Ctx) error {
	return c.JSON(s.deps.CRM.ValueInsights())
}
