package features

import "github.com/RoaringBitmap/roaring/v2"

// ProductCustomers returns a copy of product p's customers on basis b
// (empty when it has none). Audiences (recommend/audience.go) start from
// the customers of a product's neighbours; the copy is theirs to combine,
// since the index's own bitmaps change under the writer.
func (s *Store) ProductCustomers(b Basis, p uint32) *roaring.Bitmap {
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	bm := customersOf(x, b, p)
	if bm == nil {
		return roaring.New()
	}
	return bm.Clone()
}
