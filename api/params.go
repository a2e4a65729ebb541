package api

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
)

// pathID reads, unescapes and validates an id path parameter. The result is
// a copy: fiber reuses the request's memory after the handler returns.
func pathID(c *fiber.Ctx, name, field string) (string, error) {
	raw := c.Params(name)
	s, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest(field, field+" is not a valid URL path segment")
	}
	s = strings.Clone(s)
	if err := features.ValidateID(field, s); err != nil {
		return "", err
	}
	return s, nil
}

func queryString(c *fiber.Ctx, name string) string { return strings.Clone(c.Query(name)) }

// queryID reads an optional id from the query.
func queryID(c *fiber.Ctx, name string) (string, error) {
	s := queryString(c, name)
	if s == "" {
		return "", nil
	}
	if err := features.ValidateID(name, s); err != nil {
		return "", err
	}
	return s, nil
}

func queryLimit(c *fiber.Ctx, max int) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("limit", "limit must be a whole number, not "+strconv.Quote(s))
	}
	if n < 1 || n > max {
		return 0, badRequest("limit", "limit must be between 1 and "+strconv.Itoa(max))
	}
	return n, nil
}

func queryBool(c *fiber.Ctx, name string, def bool) (bool, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest(name, name+" must be true or false, not "+strconv.Quote(s))
	}
	return b, nil
}

func queryFloat(c *fiber.Ctx, name string) (float64, bool, error) {
	s := c.Query(name)
	if s == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, badRequest(name, name+" must be a number, not "+strconv.Quote(s))
	}
	return f, true, nil
}

// queryFilter reads the contract's filters: category, brand, tag,
// price_min, price_max, in_stock.
func queryFilter(c *fiber.Ctx) (features.Filter, error) {
	var f features.Filter
	var err error
	f.Category = queryString(c, "category")
	f.Brand = queryString(c, "brand")
	f.Tag = queryString(c, "tag")
	for _, kv := range []struct{ name, v string }{{"category", f.Category}, {"brand", f.Brand}, {"tag", f.Tag}} {
		if len(kv.v) > features.MaxIDLen {
			return f, badRequest(kv.name, kv.name+" is longer than 256 bytes")
		}
	}
	if f.PriceMin, f.HasPriceMin, err = queryFloat(c, "price_min"); err != nil {
		return f, err
	}
	if f.PriceMax, f.HasPriceMax, err = queryFloat(c, "price_max"); err != nil {
		return f, err
	}
	if f.HasPriceMin && f.HasPriceMax && f.PriceMin > f.PriceMax {
		return f, badRequest("price_min", "price_min is above price_max")
	}
	if f.InStock, err = queryBool(c, "in_stock", false); err != nil {
		return f, err
	}
	return f, nil
}

// parseWindow reads a window such as "7d", "12h" or "90m": above 0, at
// most maxWindowDays. A well-formed window out of range is told so, not
// told to look like one.
func parseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || math.IsNaN(n) {
			return 0, badRequest("window", "window must look like 7d, 24h or 30m, not "+strconv.Quote(s))
		}
		if n <= 0 || n > maxWindowDays {
			return 0, windowRange(s)
		}
		d = time.Duration(n * 24 * float64(time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, badRequest("window", "window must look like 7d, 24h or 30m, not "+strconv.Quote(s))
		}
	}
	if d <= 0 || d > maxWindowDays*24*time.Hour {
		return 0, windowRange(s)
	}
	return d, nil
}

// maxWindowDays bounds a window: 100 years.
const maxWindowDays = 36500

func windowRange(s string) error {
	return badRequest("window", "window must be above 0 and at most "+strconv.Itoa(maxWindowDays)+"d, not "+strconv.Quote(s))
}
