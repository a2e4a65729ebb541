package api

import "github.com/gofiber/fiber/v2"

// baselineReply is the trivial handler's answer: a list reply of the
// contract's shape with two items, about the size of a short real one.
type baselineReply struct {
	Items            []baselineItem `json:"items"`
	RecommendationID string         `json:"recommendation_id"`
	Algorithm        string         `json:"algorithm"`
}

type baselineItem struct {
	ProductID string  `json:"product_id"`
	Score     float64 `json:"score"`
}

var baselineBody = baselineReply{
	Items:            []baselineItem{{"p1", 0.5}, {"p2", 0.25}},
	RecommendationID: "r0",
	Algorithm:        "baseline",
}

// NewBaselineApp returns the trivial fiber server that DESIGN section 6
// compares throughput with: every request, whatever its method and path,
// gets the same small JSON object, encoded per request by fiber's default
// encoder. It has fiber's default configuration, no middleware and no
// store, so its throughput is what fiber and the load generator can do on
// this machine, and "ratio to a trivial handler" means the same thing on
// any machine. The app is safe for concurrent use; it is meant for
// loopback load tests only (`affinity bench --baseline`).
func NewBaselineApp() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.All("/*", func(c *fiber.Ctx) error { return c.JSON(baselineBody) })
	return app
}
