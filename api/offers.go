package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/recommend/offer"
)

// Offers: PUT/GET/DELETE /v1/offers/{id}, GET /v1/offers,
// POST /v1/offers/{id}/responses and
// GET /v1/customers/{id}/next-best-offer (docs/next-best-offer.md).

func (s *Server) putOffer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "offer_id")
	if err != nil {
		return err
	}
	o, err := offer.Decode(c.Body())
	if err != nil {
		return err
	}
	v, err := s.deps.Offers.Put(id, o)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) getOffer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "offer_id")
	if err != nil {
		return err
	}
	v, err := s.deps.Offers.Get(id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) listOffers(c *fiber.Ctx) error {
	return c.JSON(offerList{Offers: s.deps.Offers.List()})
}

func (s *Server) deleteOffer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "offer_id")
	if err != nil {
		return err
	}
	if err := s.deps.Offers.Delete(id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) postOfferResponse(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "offer_id")
	if err != nil {
		return err
	}
	r, err := offer.DecodeResponse(c.Body())
	if err != nil {
		return err
	}
	res, err := s.deps.Offers.Respond(c.UserContext(), id, r)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (s *Server) nextBestOffer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	svc := s.deps.Offers
	limit, err := queryLimit(c, svc.Options().MaxLimit)
	if err != nil {
		return err
	}
	channel := queryString(c, "channel")
	if channel != "" {
		if _, err := offer.NormalizeChannel("channel", channel); err != nil {
			return err
		}
	}
	// preview ranks without showing (the console's preview must not spend
	// budgets, caps or exposures): nothing is reserved, logged or enrolled,
	// so the experiment flags are not read.
	preview, err := queryBool(c, "preview", false)
	if err != nil {
		return err
	}
	req := offer.NextBestRequest{Request: offer.Request{CustomerID: id, Limit: limit, Channel: channel, DryRun: preview}}
	if !preview {
		if req.Experiment, req.Variant, req.Unit, err = experimentFlags(c, id); err != nil {
			return err
		}
	}
	res, err := s.nextBest.Serve(c.UserContext(), req)
	if err != nil {
		return err
	}
	reply := nboReply{Offers: res.Offers, RecommendationID: res.RecommendationID}
	if res.Enrolled {
		reply.Experiment, reply.Variant = &res.Experiment, &res.Variant
	}
	return c.JSON(reply)
}
