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

// audienceParams reads limit, segment and exclude_buyers (default true).
func audienceParams(c *fiber.Ctx) (limit int, segment string, excludeBuyers bool, err error) {
	if limit, err = queryLimit(c, recommend.MaxAudienceLimit); err != nil {
		return 0, "", false, err
	}
	if segment = queryString(c, "segment"); segment != "" {
		if err := crm.ValidateSegmentName(segment); err != nil {
			var fe *features.FieldError
			if errors.As(err, &fe) {
				return 0, "", false, badRequest("segment", "segment "+fe.Msg)
			}
			return 0, "", false, err
		}
	}
	if excludeBuyers, err = queryBool(c, "exclude_buyers", true); err != nil {
		return 0, "", false, err
	}
	return limit, segment, excludeBuyers, nil
}

func (s *Server) productAudience(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	limit, segment, excl, err := audienceParams(c)
	if err != nil {
		return err
	}
	a, err := s.deps.Engine.ProductAudience(c.UserContext(), recommend.AudienceRequest{ProductID: id, Limit: limit, Segment: segment, ExcludeBuyers: excl})
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
	limit, segment, excl, err := audienceParams(c)
	if err != nil {
		return err
	}
	r, err := s.deps.Offers.Audience(c.UserContext(), offer.AudienceRequest{OfferID: id, Limit: limit, Segment: segment, ExcludeBuyers: excl})
	if err != nil {
		return err
	}
	return c.JSON(offerAudienceReply{OfferID: id, Status: r.Status, Items: r.Items, RecommendationID: r.RecommendationID})
}
