package features

import (
	"encoding/json"
	"maps"
)

// Partial updates (PATCH): the record is read, changed and written on the
// writer goroutine in one step, so a concurrent PUT or PATCH of the same
// record lands wholly before or wholly after, never in between.

// ProductPatch is a partial product update: nil fields stay as they are.
type ProductPatch struct {
	Category      *string
	Brand         *string
	Price         *float64
	Tags          *[]string // replaces the tags when given
	Available     *bool
	Recommendable *bool
	// Attributes merge key by key; a key whose value is nil (JSON null)
	// removes that attribute.
	Attributes map[string]any
}

// apply returns p with the patch's fields changed; p is not modified.
func (pp ProductPatch) apply(p Product) Product {
	if pp.Category != nil {
		p.Category = *pp.Category
	}
	if pp.Brand != nil {
		p.Brand = *pp.Brand
	}
	if pp.Price != nil {
		p.Price = *pp.Price
	}
	if pp.Tags != nil {
		p.Tags = append([]string{}, (*pp.Tags)...)
	}
	if pp.Available != nil {
		p.Available = *pp.Available
	}
	if pp.Recommendable != nil {
		v := *pp.Recommendable
		p.Recommendable = &v
	}
	p.Attributes = mergeAttributes(p.Attributes, pp.Attributes)
	return p
}

// mergeAttributes returns a new map: old with patch's keys set, and its
// null keys removed. old is shared with readers, so it is never changed.
func mergeAttributes(old, patch map[string]any) map[string]any {
	out := make(map[string]any, len(old)+len(patch))
	maps.Copy(out, old)
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// PatchProduct changes the given fields of product ext and returns the
// result. A product the store has never seen is ErrNotFound: a patch does
// not create. A product known only from its events is patched over the
// defaults GET shows for it.
func (s *Store) PatchProduct(ext string, pp ProductPatch) (Product, error) {
	if err := ValidateID("product_id", ext); err != nil {
		return Product{}, err
	}
	if s.ops != nil {
		return s.patchProductViaLog(ext, pp)
	}
	var out Product
	err := s.do(func() error {
		cur, _, err := s.GetProduct(ext)
		if err != nil {
			return err
		}
		p := pp.apply(cur)
		if p.Tags == nil {
			p.Tags = []string{}
		}
		if err := ValidateProduct(&p); err != nil {
			return err
		}
		if err := s.writeProducts(map[string]Product{ext: p}); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// PatchCustomer merges attrs into customer ext's attributes (a nil value
// removes that key) and returns the result. An unknown or erased customer
// is ErrNotFound: a patch does not create.
func (s *Store) PatchCustomer(ext string, attrs map[string]any) (map[string]any, error) {
	if err := ValidateID("customer_id", ext); err != nil {
		return nil, err
	}
	if s.ops != nil {
		return s.patchCustomerViaLog(ext, attrs)
	}
	var out map[string]any
	err := s.do(func() error {
		id, ok := s.cust.lookup(ext)
		if !ok || s.Erased(ext) {
			return errUnknown("customer", ext)
		}
		merged := mergeAttributes(s.CustomerAttributes(id), attrs)
		if err := ValidateAttributes(merged); err != nil {
			return err
		}
		c := Customer{Attributes: merged}
		body, err := json.Marshal(c)
		if err != nil {
			return &FieldError{Field: "attributes", Msg: "cannot be encoded: " + err.Error()}
		}
		if err := s.writeCustomers(map[string]Customer{ext: c}, map[string][]byte{ext: body}); err != nil {
			return err
		}
		out = merged
		return nil
	})
	return out, err
}
