package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/jsonbody"
	"github.com/affinity-rec/affinity/recommend"
)

// decodeBody decodes a request body, one JSON object, into its wire type
// (wire.go) under the one convention of features/jsonbody: an empty body,
// unknown fields, duplicate keys, wrong types, too deep nesting and
// trailing data are 400 problems naming the field. Every handler that
// takes a definition reads its body this way (parts decoded later, such as
// an experiment's variants, with jsonbody.DecodeAt under their path), with
// two exceptions that decode with the same jsonbody call: segments.go's
// decodeSegmentBody, and offers and offer responses, which offer.Decode and
// offer.DecodeResponse read because their defaults and the 1 MiB bound are
// the offer package's. Events are streams, read by features/eventio with
// the same wording. TestDefinitionBodiesShareOneConvention holds them to it.
func decodeBody(c *fiber.Ctx, v any) error {
	return jsonbody.Decode(c.Body(), v)
}

func (s *Server) putProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	var b productBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := features.CheckAttributeKeys(b.Attributes); err != nil {
		return err
	}
	p := features.Product{Category: b.Category, Brand: b.Brand, Tags: b.Tags, Available: true, Attributes: b.Attributes, Recommendable: b.Recommendable}
	if b.Price != nil {
		p.Price = *b.Price
	}
	if b.Available != nil {
		p.Available = *b.Available
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	if err := s.deps.Store.PutProduct(id, p); err != nil {
		return err
	}
	return c.JSON(newProductReply(id, p))
}

// patchProduct changes only the fields the body gives (features.PatchProduct).
func (s *Server) patchProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	var b productPatchBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := features.CheckAttributeKeys(b.Attributes); err != nil {
		return err
	}
	if err := refuseNulls(c.Body(), "attributes"); err != nil {
		return err
	}
	p, err := s.deps.Store.PatchProduct(id, features.ProductPatch{
		Category: b.Category, Brand: b.Brand, Price: b.Price, Tags: b.Tags,
		Available: b.Available, Recommendable: b.Recommendable, Attributes: b.Attributes,
	})
	if err != nil {
		return err
	}
	return c.JSON(newProductReply(id, p))
}

func (s *Server) getProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	p, _, err := s.deps.Store.GetProduct(id)
	if err != nil {
		return err
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	return c.JSON(newProductReply(id, p))
}

func (s *Server) deleteProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	if err := s.deps.Store.DeleteProduct(id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) putCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	var b customerBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := features.CheckAttributeKeys(b.Attributes); err != nil {
		return err
	}
	if b.Attributes == nil {
		b.Attributes = map[string]any{}
	}
	if err := s.deps.Store.PutCustomer(id, features.Customer{Attributes: b.Attributes}); err != nil {
		return err
	}
	return c.JSON(customerReply{CustomerID: id, Attributes: b.Attributes})
}

// patchCustomer merges the body's attributes into the customer's
// (features.PatchCustomer).
func (s *Server) patchCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	var b customerBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := features.CheckAttributeKeys(b.Attributes); err != nil {
		return err
	}
	attrs, err := s.deps.Store.PatchCustomer(id, b.Attributes)
	if err != nil {
		return err
	}
	return c.JSON(customerReply{CustomerID: id, Attributes: attrs})
}

func (s *Server) deleteCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	if err := s.deps.Store.EraseCustomer(id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listCustomers(c *fiber.Ctx) error {
	limit, err := queryLimit(c, 10000)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	return c.JSON(customerSample{Customers: s.deps.Store.SampleCustomers(limit)})
}

// knownCustomer reads the customer id from the path: a 400 when it is not an
// id, a 404 when no such customer is known.
func (s *Server) knownCustomer(c *fiber.Ctx) (string, uint32, error) {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return "", 0, err
	}
	cid, ok := s.deps.Store.CustomerID(id)
	if !ok {
		return "", 0, notFound("unknown customer " + quote(id))
	}
	return id, cid, nil
}

func (s *Server) profile(c *fiber.Ctx) error {
	id, cid, err := s.knownCustomer(c)
	if err != nil {
		return err
	}
	st := s.deps.Store
	attrs := st.CustomerAttributes(cid)
	if attrs == nil {
		attrs = map[string]any{}
	}
	p := profileReply{CustomerID: id, Attributes: attrs, Events: len(st.HistoryView(cid))}
	if err := s.profileValue(cid, id, &p); err != nil {
		return err
	}
	return c.JSON(p)
}

// listRequest parses what every list endpoint takes: limit and filters.
func (s *Server) listRequest(c *fiber.Ctx, kind recommend.ListKind) (recommend.ListRequest, error) {
	r := recommend.ListRequest{Kind: kind}
	var err error
	if r.Limit, err = queryLimit(c, s.deps.Engine.Options().MaxLimit); err != nil {
		return r, err
	}
	if r.Filter, err = queryFilter(c); err != nil {
		return r, err
	}
	if err = queryMerch(c, &r.Request, s.deps.Engine.Options().MaxLimit); err != nil {
		return r, err
	}
	return r, nil
}

func (s *Server) related(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	r, err := s.listRequest(c, recommend.ListRelated)
	if err != nil {
		return err
	}
	r.ProductID = id
	r.Basis = features.BasisBought
	if b := c.Query("basis"); b != "" {
		if r.Basis, err = features.ParseBasis(b); err != nil {
			return err
		}
	}
	if r.CustomerID, err = queryID(c, "customer_id"); err != nil {
		return err
	}
	return s.serveList(c, r, r.CustomerID)
}

func (s *Server) personal(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	r, err := s.listRequest(c, recommend.ListPersonal)
	if err != nil {
		return err
	}
	r.CustomerID = id
	if r.ContextProduct, err = queryID(c, "context_product"); err != nil {
		return err
	}
	excl, err := queryBool(c, "exclude_seen", true)
	if err != nil {
		return err
	}
	r.IncludeSeen = !excl
	// preview (the console's what-if) ranks under the experiment variant
	// asked for but logs no exposure, so looking does not count in results.
	if r.Preview, err = queryBool(c, "preview", false); err != nil {
		return err
	}
	return s.serveList(c, r, id)
}

func (s *Server) popular(c *fiber.Ctx) error {
	r, err := s.listRequest(c, recommend.ListPopular)
	if err != nil {
		return err
	}
	if r.Window, err = parseWindow(c.Query("window")); err != nil {
		return err
	}
	if r.CustomerID, err = queryID(c, "customer_id"); err != nil {
		return err
	}
	if r.Segment, err = popularSegment(c); err != nil {
		return err
	}
	if r.Segment != "" {
		r.Kind = recommend.ListSegmentPopular
	}
	return s.serveList(c, r, r.CustomerID)
}

// serveList reads the experiment flags (unit: who is enrolled when the
// request is not anonymous), makes the one call to the list use case and
// encodes its answer.
func (s *Server) serveList(c *fiber.Ctx, r recommend.ListRequest, unit string) error {
	var err error
	if r.Experiment, r.Variant, r.Unit, err = experimentFlags(c, unit); err != nil {
		return err
	}
	res, err := s.lists.List(c.UserContext(), r)
	if err != nil {
		return err
	}
	if res.Items == nil {
		res.Items = []recommend.Item{}
	}
	reply := listReply{Items: res.Items, RecommendationID: res.RecommendationID, Algorithm: res.Algorithm}
	if res.Enrolled {
		reply.Experiment, reply.Variant = &res.Experiment, &res.Variant
	}
	if res.Explains != nil {
		return sendExplained(c, &reply, res.Explains)
	}
	return sendList(c, &reply)
}

func quote(s string) string { return "\"" + s + "\"" }
