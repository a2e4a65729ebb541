package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// GET /v1/offers/{id}/performance: the offer's performance per hour or
// day (recommend/offer/series.go), for the console's offer chart.

func (s *Server) offerPerformance(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "offer_id")
	if err != nil {
		return err
	}
	q := offer.SeriesQuery{Bucket: queryString(c, "bucket")}
	if q.Bucket == "" {
		q.Bucket = "day"
	}
	if q.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if q.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	ser, err := s.deps.Offers.Series(id, q)
	if err != nil {
		return err
	}
	return c.JSON(ser)
}

// queryTime reads an RFC 3339 time (zero when absent).
func queryTime(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, &features.FieldError{Field: name, Msg: "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"}
	}
	return t, nil
}
