package api

import "github.com/gofiber/fiber/v2"

// valueInsights answers store-wide customer value: customers and revenue
// per tier and the 80/20 figure (GET /v1/insights/value).
func (s *Server) valueInsights(c *fiber.Ctx) error {
	return c.JSON(s.deps.CRM.ValueInsights())
}
