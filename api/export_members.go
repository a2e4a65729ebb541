package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/recommend/campaign"
)

// The NDJSON form of GET /v1/segments/{name}/members: with
// Accept: application/x-ndjson every member is streamed, one line each
// with their value profile and segments (the lines of a members export),
// from the segment's bitmap in chunks, never the whole reply in memory.
// limit is honoured when given (any size); cursor and offset start the
// stream where a page would.

// maxStreamLimit bounds limit on the NDJSON form (a page's bound is far
// lower); it only has to be a number every id space fits.
const maxStreamLimit = 1 << 31

// wantsNDJSON reports whether the request asks for NDJSON.
func wantsNDJSON(c *fiber.Ctx) bool {
	a := strings.ToLower(c.Get(fiber.HeaderAccept))
	return strings.Contains(a, "application/x-ndjson") || strings.Contains(a, "application/jsonl")
}

// streamMembers streams segment name's members from the internal id from
// on, at most limit of them (0: all).
func (s *Server) streamMembers(c *fiber.Ctx, name string, from uint32, limit int) error {
	r := campaign.Request{What: campaign.Members, Segment: name, From: from, Max: limit}
	job, err := campaign.Prepare(c.UserContext(), s.campaignDeps(), r)
	if err != nil {
		return err
	}
	return s.streamJob(c, job)
}

// memberLines builds a members page's entries (the same objects as the
// NDJSON lines).
func (s *Server) memberLines(c *fiber.Ctx, ids []uint32) ([]*campaign.MemberLine, error) {
	d := s.campaignDeps()
	out := make([]*campaign.MemberLine, 0, len(ids))
	for _, id := range ids {
		ext := s.deps.Store.CustomerName(id)
		if ext == "" {
			continue // erased since the segment was evaluated
		}
		l, err := campaign.Member(c.UserContext(), d, ext, id, true)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}
