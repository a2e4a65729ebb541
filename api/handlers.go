package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
	"github.com/affinity-rec/affinity/recommend"
)

// maxEventsPerRequest bounds one POST so that one client cannot hold the
// writer for long; larger loads belong to `affinity import` or several posts.
const maxEventsPerRequest = 50000

type eventsReply struct {
	Accepted   int                  `json:"accepted"`
	Rejected   int                  `json:"rejected"`
	Duplicates int                  `json:"duplicates"`
	Errors     []features.Rejection `json:"errors"`
}

func (s *Server) postEvents(c *fiber.Ctx) error {
	body := c.Body()
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	var evs []features.Event
	var rejected []features.Rejection
	add := func(i int, raw []byte) {
		e, err := eventio.DecodeEventJSON(raw)
		if err != nil {
			var fe *features.FieldError
			if errors.As(err, &fe) {
				rejected = append(rejected, features.Rejection{Index: i, Field: fe.Field, Detail: fe.Error()})
			} else {
				rejected = append(rejected, features.Rejection{Index: i, Detail: "malformed JSON: " + err.Error()})
			}
			// Keep the slot so indexes of later events stay aligned.
			evs = append(evs, features.Event{})
			return
		}
		evs = append(evs, e)
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return badRequest("body", "the body is empty; send one event, a JSON array or NDJSON")
	case strings.HasPrefix(ct, "application/x-ndjson") || strings.HasPrefix(ct, "application/jsonl"):
		i := 0
		for len(trimmed) > 0 {
			line := trimmed
			if k := bytes.IndexByte(trimmed, '\n'); k >= 0 {
				line, trimmed = trimmed[:k], trimmed[k+1:]
			} else {
				trimmed = nil
			}
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			if i >= maxEventsPerRequest {
				return &HTTPError{Status: fiber.StatusRequestEntityTooLarge, Detail: "at most 50000 events per request"}
			}
			add(i, line)
			i++
		}
	case trimmed[0] == '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return badRequest("body", "malformed JSON array: "+err.Error())
		}
		if len(raws) > maxEventsPerRequest {
			return &HTTPError{Status: fiber.StatusRequestEntityTooLarge, Detail: "at most 50000 events per request"}
		}
		for i, r := range raws {
			add(i, r)
		}
	default:
		add(0, trimmed)
	}
	// Rejected slots are empty events: the store rejects them again, so drop
	// them and map the store's indexes back.
	valid := make([]features.Event, 0, len(evs))
	origIdx := make([]int, 0, len(evs))
	bad := map[int]bool{}
	for _, r := range rejected {
		bad[r.Index] = true
	}
	for i, e := range evs {
		if !bad[i] {
			valid = append(valid, e)
			origIdx = append(origIdx, i)
		}
	}
	res, err := s.deps.Store.Ingest(c.UserContext(), valid, features.IngestOptions{})
	if err != nil {
		return err
	}
	for _, r := range res.Rejected {
		r.Index = origIdx[r.Index]
		rejected = append(rejected, r)
	}
	sortRejections(rejected)
	s.metrics.events(res.Accepted, rejected)
	reply := eventsReply{Accepted: res.Accepted, Rejected: len(rejected), Duplicates: res.Duplicates, Errors: rejected}
	if reply.Errors == nil {
		reply.Errors = []features.Rejection{}
	}
	if res.Accepted == 0 && len(rejected) > 0 {
		p := problemFor(badRequest(rejected[0].Field, rejected[0].Detail))
		if len(evs) > 1 {
			p.Detail = "every event was rejected; see errors"
			p.Field = ""
		}
		p.Errors = rejected
		return writeProblem(c, p)
	}
	return c.JSON(reply)
}

func sortRejections(r []features.Rejection) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].Index < r[j-1].Index; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// decodeBody decodes a JSON object body strictly enough to name the field
// that is wrong.
func decodeBody(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("body", "the body is empty; a JSON object is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest(te.Field, te.Field+" must be "+te.Type.String()+", not "+te.Value)
		}
		return badRequest("body", "malformed JSON: "+err.Error())
	}
	return nil
}

type productBody struct {
	Category   string         `json:"category"`
	Brand      string         `json:"brand"`
	Price      *float64       `json:"price"`
	Tags       []string       `json:"tags"`
	Available  *bool          `json:"available"`
	Attributes map[string]any `json:"attributes"`
}

type productReply struct {
	ProductID string `json:"product_id"`
	features.Product
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
	p := features.Product{Category: b.Category, Brand: b.Brand, Tags: b.Tags, Available: true, Attributes: b.Attributes}
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
	return c.JSON(productReply{ProductID: id, Product: p})
}

func (s *Server) getProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	p, _, err := s.deps.Store.GetProduct(id)
	if err != nil {
		return notFound("unknown product " + quote(id))
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	return c.JSON(productReply{ProductID: id, Product: p})
}

func (s *Server) deleteProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	if err := s.deps.Store.DeleteProduct(id); err != nil {
		if errors.Is(err, features.ErrNotFound) {
			return notFound("unknown product " + quote(id))
		}
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type customerBody struct {
	Attributes map[string]any `json:"attributes"`
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
	if b.Attributes == nil {
		b.Attributes = map[string]any{}
	}
	if err := s.deps.Store.PutCustomer(id, features.Customer{Attributes: b.Attributes}); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"customer_id": id, "attributes": b.Attributes})
}

func (s *Server) deleteCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	if err := s.deps.Store.EraseCustomer(id); err != nil {
		if errors.Is(err, features.ErrNotFound) {
			return notFound("unknown customer " + quote(id))
		}
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
	return c.JSON(fiber.Map{"customers": s.deps.Store.SampleCustomers(limit)})
}

// profileValue is filled by the customer-value feature; nil until then.
var profileExtras func(s *Server, cust uint32, id string, m fiber.Map) error

func (s *Server) profile(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	st := s.deps.Store
	cid, ok := st.CustomerID(id)
	if !ok {
		return notFound("unknown customer " + quote(id))
	}
	attrs := st.CustomerAttributes(cid)
	if attrs == nil {
		attrs = map[string]any{}
	}
	n := len(st.History(cid, nil))
	m := fiber.Map{"customer_id": id, "attributes": attrs, "events": n, "segments": []string{}, "value": nil}
	if profileExtras != nil {
		if err := profileExtras(s, cid, id, m); err != nil {
			return err
		}
	}
	return c.JSON(m)
}

// listReply is the contract's list answer.
type listReply struct {
	Items            []recommend.Item `json:"items"`
	RecommendationID string           `json:"recommendation_id"`
	Algorithm        string           `json:"algorithm"`
	Experiment       *string          `json:"experiment"`
	Variant          *string          `json:"variant"`
}

func (s *Server) listRequest(c *fiber.Ctx) (recommend.Request, error) {
	var r recommend.Request
	var err error
	if r.Limit, err = queryLimit(c, s.deps.Engine.Options().MaxLimit); err != nil {
		return r, err
	}
	if r.Filter, err = queryFilter(c); err != nil {
		return r, err
	}
	return r, nil
}

func (s *Server) related(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "product_id")
	if err != nil {
		return err
	}
	r, err := s.listRequest(c)
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
	return s.serveList(c, r, r.CustomerID, s.deps.Engine.Related)
}

func (s *Server) personal(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	r, err := s.listRequest(c)
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
	return s.serveList(c, r, id, s.deps.Engine.Personal)
}

// popularSegment answers ?segment= (filled by the segments feature).
var popularSegment func(s *Server, c *fiber.Ctx, r recommend.Request, segment string) (recommend.List, error)

func (s *Server) popular(c *fiber.Ctx) error {
	r, err := s.listRequest(c)
	if err != nil {
		return err
	}
	if r.Window, err = parseWindow(c.Query("window")); err != nil {
		return err
	}
	if r.CustomerID, err = queryID(c, "customer_id"); err != nil {
		return err
	}
	segment := queryString(c, "segment")
	if segment != "" {
		if popularSegment == nil {
			return badRequest("segment", "segments are not available")
		}
		return s.serveList(c, r, r.CustomerID, func(ctx context.Context, r recommend.Request) (recommend.List, error) {
			return popularSegment(s, c, r, segment)
		})
	}
	return s.serveList(c, r, r.CustomerID, s.deps.Engine.Popular)
}

// serveList runs one list request: experiment enrolment from the request
// flags, the ranking call, the exposure log, the reply.
func (s *Server) serveList(c *fiber.Ctx, r recommend.Request, unit string, fn func(context.Context, recommend.Request) (recommend.List, error)) error {
	enr, err := s.enrol(c, unit)
	if err != nil {
		return err
	}
	if enr != nil {
		r.Params = enr.Params
	}
	l, err := fn(c.UserContext(), r)
	if err != nil {
		return err
	}
	if l.Items == nil {
		l.Items = []recommend.Item{}
	}
	reply := listReply{Items: l.Items, RecommendationID: s.deps.Engine.NewRecommendationID(), Algorithm: l.Algorithm}
	if enr != nil {
		reply.Experiment, reply.Variant = &enr.Experiment, &enr.Variant
		s.expose(c, enr, reply.RecommendationID, unit, l)
	}
	return c.JSON(reply)
}

func quote(s string) string { return "\"" + s + "\"" }
