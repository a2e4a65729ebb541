package api

import (
	"github.com/affinity-rec/affinity/features/crm"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// merchParams are the merchandising query parameters every list endpoint
// takes (recommend/merch.go); server.go adds them to each list route.
var merchParams = []string{"exclude", "context_products", "rules", "max_per_category", "max_per_brand", "include_unavailable", "explain"}

// queryMerch reads the merchandising parameters into r.
func queryMerch(c *fiber.Ctx, r *recommend.Request, maxLimit int) error {
	var err error
	m := &r.Merch
	if m.Exclude, err = queryIDList(c, "exclude", features.ValidateID); err != nil {
		return err
	}
	if m.ContextProducts, err = queryIDList(c, "context_products", features.ValidateID); err != nil {
		return err
	}
	if m.Rules, err = queryRuleNames(c); err != nil {
		return err
	}
	if m.MaxPerCategory, err = queryCap(c, "max_per_category", maxLimit); err != nil {
		return err
	}
	if m.MaxPerBrand, err = queryCap(c, "max_per_brand", maxLimit); err != nil {
		return err
	}
	if m.Explain, err = queryBool(c, "explain", false); err != nil {
		return err
	}
	r.Filter.IncludeUnavailable, err = queryBool(c, "include_unavailable", false)
	return err
}

// queryRuleNames reads rules=NAME,NAME (lists and audiences).
func queryRuleNames(c *fiber.Ctx) ([]string, error) {
	return queryIDList(c, "rules", func(_, s string) error {
		if err := crm.ValidateSegmentName(s); err != nil {
			return badRequest("rules", "rules holds "+strconv.Quote(s)+", which "+err.(*features.FieldError).Msg)
		}
		return nil
	})
}

// queryIDList reads a comma-separated list of at most
// recommend.MaxMerchIDs ids, each checked by valid.
func queryIDList(c *fiber.Ctx, name string, valid func(field, s string) error) ([]string, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > recommend.MaxMerchIDs {
		return nil, badRequest(name, name+" lists "+strconv.Itoa(len(parts))+" ids; at most "+strconv.Itoa(recommend.MaxMerchIDs)+" allowed")
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.Clone(strings.TrimSpace(p))
		if p == "" {
			return nil, badRequest(name, name+" has an empty id (write ID,ID)")
		}
		if err := valid(name, p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// queryCap reads a diversity cap: a whole number from 1 to max.
func queryCap(c *fiber.Ctx, name string, max int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, badRequest(name, name+" must be a whole number from 1 to "+strconv.Itoa(max)+", not "+strconv.Quote(s))
	}
	return n, nil
}

// explainedItem is a list item with its explanation (explain=true).
type explainedItem struct {
	recommend.Item
	Explain *recommend.Explain `json:"explain"`
}

// sendExplained writes r with each item's explanation, through
// encoding/json: explanations are asked for while debugging, not on every
// page, so the reflection-free encoder of sendList is not worth a twin.
func sendExplained(c *fiber.Ctx, r *listReply, ex []*recommend.Explain) error {
	items := make([]explainedItem, len(r.Items))
	for i, it := range r.Items {
		items[i] = explainedItem{Item: it}
		if i < len(ex) {
			items[i].Explain = ex[i]
		}
	}
	return c.JSON(struct {
		Items []explainedItem `json:"items"`
		listReply
	}{items, *r})
}
