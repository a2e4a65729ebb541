package features

import (
	"fmt"
	"maps"
	"math"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// Catalog is the read-only product catalogue with its attribute indexes
// (attribute value -> products). A published Catalog is never changed, so it
// is safe for concurrent use; an update publishes a copy that shares every
// untouched bitmap.
type Catalog struct {
	products    []*Product // by product id; nil when there is no record
	byCategory  map[string]*roaring.Bitmap
	byBrand     map[string]*roaring.Bitmap
	byTag       map[string]*roaring.Bitmap
	unavailable *roaring.Bitmap
	// hidden are the products not recommendable (Product.Recommendable);
	// blocked is hidden ∪ unavailable, what a list leaves out by default,
	// kept whole so that a request costs one Contains, not a union.
	hidden, blocked *roaring.Bitmap
	// gone are the products deleted (DELETE /v1/products/{id}) and not
	// put again since: never listed, not even by catalogue browsing. They
	// are in unavailable and hidden as well, so that every filter's block
	// bitmap holds them and a list still costs one Contains.
	gone *roaring.Bitmap
}

func newCatalog() *Catalog {
	return &Catalog{
		byCategory:  map[string]*roaring.Bitmap{},
		byBrand:     map[string]*roaring.Bitmap{},
		byTag:       map[string]*roaring.Bitmap{},
		unavailable: roaring.New(),
		hidden:      roaring.New(),
		blocked:     roaring.New(),
		gone:        roaring.New(),
	}
}

// Product returns product p's record, or nil. The record must not be changed.
func (c *Catalog) Product(p uint32) *Product {
	if int(p) < len(c.products) {
		return c.products[p]
	}
	return nil
}

// Gone reports whether product p was deleted (and not put again since).
func (c *Catalog) Gone(p uint32) bool { return c.gone.Contains(p) }

// Category returns the products of category name (nil when none). The bitmap
// must not be changed.
func (c *Catalog) Category(name string) *roaring.Bitmap { return c.byCategory[normAttr(name)] }

// Len returns how many product ids the catalogue has room for.
func (c *Catalog) Len() int { return len(c.products) }

func normAttr(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// with returns a copy of c with the given records set; nil deletes the
// product: gone until a record is set again.
func (c *Catalog) with(updates map[uint32]*Product) *Catalog {
	n := c.shallowCopy(updates)
	ed := indexEditor{cloned: map[*roaring.Bitmap]*roaring.Bitmap{}}
	for id, p := range updates {
		if old := n.products[id]; old != nil {
			ed.product(n, old, id, false)
		}
		n.products[id] = p
		n.unavailable.Remove(id)
		n.hidden.Remove(id)
		n.gone.Remove(id)
		if p == nil {
			n.gone.Add(id)
			n.unavailable.Add(id)
			n.hidden.Add(id)
			continue
		}
		ed.product(n, p, id, true)
		if !p.Available {
			n.unavailable.Add(id)
		}
		if !p.IsRecommendable() {
			n.hidden.Add(id)
		}
	}
	n.blocked = roaring.Or(n.unavailable, n.hidden)
	return n
}

// shallowCopy is c with room for updates' ids: new maps and product slice
// sharing c's bitmaps, which indexEditor clones before changing.
func (c *Catalog) shallowCopy(updates map[uint32]*Product) *Catalog {
	n := &Catalog{
		byCategory:  maps.Clone(c.byCategory),
		byBrand:     maps.Clone(c.byBrand),
		byTag:       maps.Clone(c.byTag),
		unavailable: c.unavailable.Clone(),
		hidden:      c.hidden.Clone(),
		gone:        c.gone.Clone(),
	}
	if n.byCategory == nil {
		n.byCategory = map[string]*roaring.Bitmap{}
	}
	if n.byBrand == nil {
		n.byBrand = map[string]*roaring.Bitmap{}
	}
	if n.byTag == nil {
		n.byTag = map[string]*roaring.Bitmap{}
	}
	size := len(c.products)
	for id := range updates {
		if int(id) >= size {
			size = int(id) + 1
		}
	}
	n.products = make([]*Product, size)
	copy(n.products, c.products)
	return n
}

// indexEditor adds and removes ids in a new Catalog's attribute indexes,
// cloning each shared bitmap once before its first change: the old Catalog
// may be serving readers.
type indexEditor struct {
	cloned map[*roaring.Bitmap]*roaring.Bitmap
}

// product adds (or removes) id under p's category, brand and tags.
func (ed indexEditor) product(n *Catalog, p *Product, id uint32, add bool) {
	ed.edit(n.byCategory, p.Category, id, add)
	ed.edit(n.byBrand, p.Brand, id, add)
	for _, t := range p.Tags {
		ed.edit(n.byTag, t, id, add)
	}
}

func (ed indexEditor) edit(m map[string]*roaring.Bitmap, key string, id uint32, add bool) {
	key = normAttr(key)
	if key == "" {
		return
	}
	bm := m[key]
	if bm == nil {
		if !add {
			return
		}
		bm = roaring.New()
		ed.cloned[bm] = bm
	} else if _, own := ed.cloned[bm]; !own {
		bm = bm.Clone()
		ed.cloned[bm] = bm
	}
	if add {
		bm.Add(id)
	} else {
		bm.Remove(id)
	}
	if bm.IsEmpty() {
		delete(m, key)
	} else {
		m[key] = bm
	}
}

// Filter restricts a recommendation list to products matching every set
// field. A zero Filter matches everything.
type Filter struct {
	Category string
	Brand    string
	Tag      string
	// PriceMin and PriceMax bound the price when set (HasPriceMin/Max);
	// a product without a catalogue record has no price and fails them.
	PriceMin, PriceMax       float64
	HasPriceMin, HasPriceMax bool
	InStock                  bool
	// Lists leave out unavailable and not-recommendable products unless
	// IncludeUnavailable (which keeps unavailable ones; InStock still
	// drops them) or IncludeHidden (catalogue browsing: both kept).
	// Deleted products are left out whatever the flags.
	IncludeUnavailable, IncludeHidden bool
	// Exclude are products never to list (a request's exclude= and
	// context products, a filter rule's matches); nil: none. It must not
	// be changed once compiled.
	Exclude *roaring.Bitmap
}

// IsZero reports whether f matches everything.
func (f Filter) IsZero() bool { return f == Filter{} }

// Matcher is a Filter compiled against one Catalog: the attribute filters are
// intersected into one bitmap once, then each candidate costs a Contains.
// Safe for concurrent use.
type Matcher struct {
	cat     *Catalog
	allowed *roaring.Bitmap // nil: no attribute restriction
	block   *roaring.Bitmap // left out by default (see Filter); nil: none
	f       Filter
	none    bool
}

// Compile builds the Matcher for f.
func (c *Catalog) Compile(f Filter) *Matcher {
	m := &Matcher{cat: c, f: f, block: c.defaultBlock(f)}
	var parts []*roaring.Bitmap
	for _, kv := range []struct {
		idx map[string]*roaring.Bitmap
		v   string
	}{{c.byCategory, f.Category}, {c.byBrand, f.Brand}, {c.byTag, f.Tag}} {
		if kv.v == "" {
			continue
		}
		bm := kv.idx[normAttr(kv.v)]
		if bm == nil {
			m.none = true
			return m
		}
		parts = append(parts, bm)
	}
	switch len(parts) {
	case 0:
	case 1:
		m.allowed = parts[0]
	default:
		m.allowed = roaring.FastAnd(parts...)
	}
	if m.allowed != nil && m.allowed.IsEmpty() {
		m.none = true
	}
	return m
}

// defaultBlock is what f leaves out besides its attribute filters: nil
// when nothing (so a catalogue without such products costs no lookup).
// Deleted products are in every case's bitmap (see Catalog.gone).
func (c *Catalog) defaultBlock(f Filter) *roaring.Bitmap {
	var bm *roaring.Bitmap
	switch {
	case f.IncludeHidden && !f.InStock:
		bm = c.gone
	case f.IncludeHidden:
		bm = c.unavailable
	case f.IncludeUnavailable && !f.InStock:
		bm = c.hidden
	default:
		bm = c.blocked
	}
	if bm == nil || bm.IsEmpty() {
		return nil
	}
	return bm
}

// Allows reports whether product p passes the filter.
func (m *Matcher) Allows(p uint32) bool {
	if m.none {
		return false
	}
	if m.allowed != nil && !m.allowed.Contains(p) {
		return false
	}
	if m.block != nil && m.block.Contains(p) {
		return false
	}
	if m.f.Exclude != nil && m.f.Exclude.Contains(p) {
		return false
	}
	if m.f.HasPriceMin || m.f.HasPriceMax {
		pr := m.cat.Product(p)
		if pr == nil {
			return false
		}
		if m.f.HasPriceMin && !(pr.Price >= m.f.PriceMin) {
			return false
		}
		if m.f.HasPriceMax && !(pr.Price <= m.f.PriceMax) {
			return false
		}
	}
	return true
}

// Candidates returns the attribute-filtered product set when it is
// restricted (nil means any product may pass). The bitmap must not be changed.
func (m *Matcher) Candidates() *roaring.Bitmap {
	if m.none {
		return roaring.New()
	}
	return m.allowed
}

// Empty reports whether nothing can pass.
func (m *Matcher) Empty() bool { return m.none }

// ValidateProduct checks a product record from outside.
func ValidateProduct(p *Product) error {
	if math.IsNaN(p.Price) || math.IsInf(p.Price, 0) || p.Price < 0 || p.Price > MaxEventValue {
		return &FieldError{Field: "price", Msg: fmt.Sprintf("must be a finite number between 0 and %g", float64(MaxEventValue))}
	}
	for name, v := range map[string]string{"category": p.Category, "brand": p.Brand} {
		if len(v) > MaxIDLen {
			return &FieldError{Field: name, Msg: "is longer than 256 bytes"}
		}
	}
	if len(p.Tags) > 100 {
		return &FieldError{Field: "tags", Msg: "at most 100 tags"}
	}
	for _, t := range p.Tags {
		if err := ValidateID("tags", t); err != nil {
			return err
		}
	}
	return ValidateAttributes(p.Attributes)
}
