package api

import (
	"errors"
	"github.com/affinity-rec/affinity/features/crm"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// Audiences (PTC): GET /v1/products/{id}/customers and
// GET /v1/offers/{id}/audience, the customers most likely to buy a product
// or accept an offer (recommend/audience.go, recommend/offer/audience.go).
// They list people, so they need the admin scope (docs/api-scopes.md).

// audienceQuery is what both audience endpoints read from the query.
type audienceQuery struct {
	limit         int
	segment       string
	excludeBuyers bool
	rules         []string
}

// audienceParams reads limit, segment, exclude_buyers (default true) and
// rules (recommend/audience_rules.go says what rules do to an audience).
func audienceParams(c *fiber.Ctx) (audienceQuery, error) {
	var q audienceQuery
	var err error
	if q.limit, err = queryLimit(c, recommend.MaxAudienceLimit); err != nil {
		return q, err
	}
	if q.segment = queryString(c, "segment"); q.segment != "" {
		if err := crm.ValidateSegmentName(q.segment); err != nil {
			var fe *features.FieldError
			if errors.As(err, &fe) {
				return q, badRequest("segment", "segment "+fe.Msg)
			}
			return q, err
		}
	}
	if q.excludeBuyers, err = queryBool(c, "exclude_buyers", true); err != nil {
		return q, err
	}
	q.rules, err = queryRuleNames(c)
	return q, err
}

func (s *Server) productAudience(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	q, err := audienceParams(c)
	if err != nil {
		return err
	}
	a, err := s.deps.Engine.ProductAudience(c.UserContext(), recommend.AudienceRequest{ProductID: id, Limit: q.limit, Segment: q.segment, ExcludeBuyers: q.excludeBuyers, Rules: q.rules})
	if err != nil {
		return err
	}
	return c.JSON(audienceReply{Items: a.Items, RecommendationID: s.deps.Engine.NewRecommendationID()})
}

func (s *Server) offerAudience(c *fiber.Ctx) error {
	if s.deps.Offers == nil {
		return notFound("this server has no offers")
	}
	id, err := pathID(c, "id", "offer_id")
	if err != nil {
		return err
	}
	q, err := audienceParams(c)
	if err != nil {
		return err
	}
	r, err := s.deps.Offers.Audience(c.UserContext(), offer.AudienceRequest{OfferID: id, Limit: q.limit, Segment: q.segment, ExcludeBuyers: q.excludeBuyers, Rules: q.rules})
	if err != nil {
		return err
	}
	return c.JSON(offerAudienceReply{OfferID: id, Status: r.Status, Items: r.Items, RecommendationID: r.RecommendationID})
}
