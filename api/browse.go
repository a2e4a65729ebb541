package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
)

// Read endpoints for browsing the data (the console is their first
// client): products by id and attributes, a customer's event history, a
// segment's members. Each is paged with limit and offset and bounded, so a
// large store costs one scan per request, never an unbounded reply.
// maxOffset bounds how deep a page may start (a deeper page is a scan, not
// a browse).
const maxOffset = 1_000_000

func queryOffset(c *fiber.Ctx) (int, error) {
	v := c.Query("offset")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxOffset {
		return 0, badRequest("offset", "offset must be a whole number between 0 and "+strconv.Itoa(maxOffset))
	}
	return n, nil
}

// pageParams reads limit (default def, at most max) and offset.
func pageParams(c *fiber.Ctx, def, max int) (int, int, error) {
	limit, err := queryLimit(c, max)
	if err != nil {
		return 0, 0, err
	}
	if limit == 0 {
		limit = def
	}
	off, err := queryOffset(c)
	return limit, off, err
}

// searchProducts matches q (case-insensitive) against the product id and
// its description, category, brand and tags; the catalogue filters narrow
// it. Products without a catalogue record match on their id only; deleted
// products are not listed.
func (s *Server) searchProducts(c *fiber.Ctx) error {
	limit, off, err := pageParams(c, 50, 500)
	if err != nil {
		return err
	}
	f, err := queryFilter(c)
	if err != nil {
		return err
	}
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	if len(q) > 200 {
		return badRequest("q", "q is longer than 200 characters")
	}
	st := s.deps.Store
	cat := st.Catalog()
	f.IncludeHidden = true // browsing shows the whole catalogue, not a list
	m := cat.Compile(f)
	page := productPage{Products: []productReply{}}
	n := st.NumProducts()
	for p := 0; p < n && !m.Empty(); p++ {
		if !f.IsZero() && !m.Allows(uint32(p)) {
			continue
		}
		id := st.ProductName(uint32(p))
		rec := cat.Product(uint32(p))
		if q != "" && !productMatches(q, id, rec) {
			continue
		}
		page.Total++
		if page.Total <= off || len(page.Products) >= limit {
			continue
		}
		// As GET /v1/products/{id} reads it (deleted ones the matcher
		// left out): a product known only from its events is available.
		rp := features.EventOnlyProduct()
		if rec != nil {
			rp = *rec
		}
		if rp.Tags == nil {
			rp.Tags = []string{}
		}
		if rp.Attributes == nil {
			rp.Attributes = map[string]any{}
		}
		page.Products = append(page.Products, newProductReply(id, rp))
	}
	return c.JSON(page)
}

func productMatches(q, id string, p *features.Product) bool {
	if strings.Contains(strings.ToLower(id), q) {
		return true
	}
	if p == nil {
		return false
	}
	if d, ok := p.Attributes["description"].(string); ok && strings.Contains(strings.ToLower(d), q) {
		return true
	}
	if strings.Contains(strings.ToLower(p.Category), q) || strings.Contains(strings.ToLower(p.Brand), q) {
		return true
	}
	for _, t := range p.Tags {
		if strings.Contains(strings.ToLower(t), q) {
			return true
		}
	}
	return false
}

func (s *Server) customerEvents(c *fiber.Ctx) error {
	id, cid, err := s.knownCustomer(c)
	if err != nil {
		return err
	}
	limit, off, err := pageParams(c, 100, 1000)
	if err != nil {
		return err
	}
	st := s.deps.Store
	hist := st.HistoryView(cid) // oldest first
	types := st.Types()
	page := historyPage{CustomerID: id, Events: []historyEvent{}, Total: len(hist)}
	for i := len(hist) - 1 - off; i >= 0 && len(page.Events) < limit; i-- {
		h := hist[i]
		page.Events = append(page.Events, historyEvent{
			ProductID: st.ProductName(h.Product),
			Type:      types.Name(h.Type),
			Timestamp: time.Unix(int64(h.TS), 0).UTC(),
		})
	}
	return c.JSON(page)
}

// queryCursor reads the opaque cursor a previous page gave: the internal
// id to go on from. Members are walked in id order, so a cursor stays valid
// while the segment changes: nobody who stays a member is skipped or shown
// twice.
func queryCursor(c *fiber.Ctx) (uint32, bool, error) {
	v := c.Query("cursor")
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v, 36, 32)
	if err != nil {
		return 0, false, badRequest("cursor", "cursor must be a next_cursor from a previous page")
	}
	return uint32(n), true, nil
}

// segmentMembers answers a page of members, or with
// Accept: application/x-ndjson streams them all (export_members.go).
func (s *Server) segmentMembers(c *fiber.Ctx) error {
	name, err := segmentName(c)
	if err != nil {
		return err
	}
	stream := wantsNDJSON(c)
	def, max := 50, 1000
	if stream {
		def, max = 0, maxStreamLimit
	}
	limit, off, err := pageParams(c, def, max)
	if err != nil {
		return err
	}
	cursor, hasCursor, err := queryCursor(c)
	if err != nil {
		return err
	}
	bm, err := s.deps.CRM.SegmentMembers(name)
	if err != nil {
		return err
	}
	total := int(bm.GetCardinality())
	switch {
	case hasCursor || off == 0 || total == 0:
	case off >= total:
		cursor = bm.Maximum() + 1 // past the last member (ids are dense: no overflow)
	default:
		if cursor, err = bm.Select(uint32(off)); err != nil {
			return err
		}
	}
	if stream {
		return s.streamMembers(c, name, cursor, limit)
	}
	var ids []uint32
	it := bm.Iterator()
	it.AdvanceIfNeeded(cursor)
	for it.HasNext() && len(ids) < limit {
		ids = append(ids, it.Next())
	}
	page := memberPage{Segment: name, Total: total}
	if page.Members, err = s.memberLines(c, ids); err != nil {
		return err
	}
	if it.HasNext() {
		page.NextCursor = strconv.FormatUint(uint64(it.PeekNext()), 36)
	}
	return c.JSON(page)
}
