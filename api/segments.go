package api

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/features/jsonbody"
	"github.com/affinity-rec/affinity/recommend"
)

// Segments: PUT/GET/DELETE /v1/segments/{name}, GET /v1/segments,
// GET /v1/segments/{name}/products (PTC) and /v1/popular?segment=.

// popularSegment reads /v1/popular's segment= ("": none).
func popularSegment(c *fiber.Ctx) (string, error) {
	segment := queryString(c, "segment")
	if segment == "" {
		return "", nil
	}
	if err := crm.ValidateSegmentName(segment); err != nil {
		return "", badRequest("segment", "segment "+strings.TrimPrefix(err.Error(), "name "))
	}
	return segment, nil
}

// decodeSegmentBody reads a PUT body: a JSON object with a string "rule"
// and nothing else (a misspelt field is named rather than ignored).
func decodeSegmentBody(body []byte) (string, error) {
	var b segmentBody
	if err := jsonbody.Decode(body, &b); err != nil {
		return "", err
	}
	if b.Rule == nil {
		return "", badRequest("rule", "rule is required: a boolean expression such as monetary > 1000 && frequency >= 5")
	}
	return *b.Rule, nil
}

// segmentName reads and checks the :name path parameter (a copy: fiber
// reuses the request's memory).
func segmentName(c *fiber.Ctx) (string, error) {
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return "", badRequest("name", "name is not a valid URL path segment")
	}
	name = strings.Clone(name)
	if err := crm.ValidateSegmentName(name); err != nil {
		return "", err
	}
	return name, nil
}

func (s *Server) listSegments(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"segments": s.deps.CRM.ListSegments()})
}

func (s *Server) putSegment(c *fiber.Ctx) error {
	name, err := segmentName(c)
	if err != nil {
		return err
	}
	rule, err := decodeSegmentBody(c.Body())
	if err != nil {
		return err
	}
	seg, err := s.deps.CRM.PutSegment(name, strings.Clone(rule))
	if err != nil {
		return err
	}
	return c.JSON(seg)
}

func (s *Server) getSegment(c *fiber.Ctx) error {
	name, err := segmentName(c)
	if err != nil {
		return err
	}
	seg, err := s.deps.CRM.GetSegment(name)
	if err != nil {
		return err
	}
	return c.JSON(seg)
}

func (s *Server) deleteSegment(c *fiber.Ctx) error {
	name, err := segmentName(c)
	if err != nil {
		return err
	}
	if err := s.deps.CRM.DeleteSegment(name); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) segmentProducts(c *fiber.Ctx) error {
	name, err := segmentName(c)
	if err != nil {
		return err
	}
	r, err := s.listRequest(c, recommend.ListSegmentProducts)
	if err != nil {
		return err
	}
	r.Segment = name
	if r.CustomerID, err = queryID(c, "customer_id"); err != nil {
		return err
	}
	return s.serveList(c, r, r.CustomerID)
}
