package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// The receiving node's side of products, customers and erasure in cluster
// mode: it has validated the input as in single-node mode (the callers in
// products.go, customers.go, patch.go, erase.go), publishes the op and
// answers with what its own apply did.

// maxOpProducts bounds the products of one op message, so a catalogue
// import stays well under the log's message size (NATS: 1 MB by default).
const maxOpProducts = 200

func (s *Store) putProductsViaLog(ps map[string]Product) error {
	ids := make([]string, 0, len(ps))
	for ext := range ps {
		ids = append(ids, ext)
	}
	sort.Strings(ids) // the same import splits the same way
	for len(ids) > 0 {
		part := ids[:min(len(ids), maxOpProducts)]
		ids = ids[len(part):]
		m := make(map[string]Product, len(part))
		for _, ext := range part {
			m[ext] = ps[ext]
		}
		body, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("cannot encode products: %w", err)
		}
		if _, err := s.submitOp(OpProductsPut, "", [][]byte{body}, nil); err != nil {
			return err
		}
	}
	return nil
}

// patchProductViaLog refuses a patch that would make the product invalid
// as it is here now (the same 4xx as single-node mode), then publishes
// the patch itself: the apply merges it into the product as it is at its
// point of the stream.
func (s *Store) patchProductViaLog(ext string, pp ProductPatch) (Product, error) {
	cur, _, err := s.GetProduct(ext)
	if err != nil {
		return Product{}, err
	}
	p := pp.apply(cur)
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if err := ValidateProduct(&p); err != nil {
		return Product{}, err
	}
	body, err := json.Marshal(pp)
	if err != nil {
		return Product{}, fmt.Errorf("cannot encode the patch: %w", err)
	}
	r, err := s.submitOp(OpProductPatch, "", [][]byte{[]byte(ext), body}, nil)
	return r.product, err
}

// putCustomersViaLog publishes one op per customer, on the customer's
// subject: an erasure purges their attributes from the log with their
// events.
func (s *Store) putCustomersViaLog(bodies map[string][]byte) error {
	ids := make([]string, 0, len(bodies))
	for ext := range bodies {
		ids = append(ids, ext)
	}
	sort.Strings(ids)
	for _, ext := range ids {
		if _, err := s.submitOp(OpCustomerPut, ext, [][]byte{[]byte(ext), bodies[ext]}, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) patchCustomerViaLog(ext string, attrs map[string]any) (map[string]any, error) {
	id, ok := s.cust.lookup(ext)
	if !ok || s.Erased(ext) {
		return nil, errUnknown("customer", ext)
	}
	if err := ValidateAttributes(mergeAttributes(s.CustomerAttributes(id), attrs)); err != nil {
		return nil, err
	}
	body, err := json.Marshal(attrs)
	if err != nil {
		return nil, &FieldError{Field: "attributes", Msg: "cannot be encoded: " + err.Error()}
	}
	r, err := s.submitOp(OpCustomerPatch, ext, [][]byte{[]byte(ext), body}, nil)
	return r.attrs, err
}

// eraseViaLog publishes the erasure on the erasure subject (never purged:
// a node that was down learns of it when it catches up), then purges the
// customer's messages before it from the log, with those of every id
// merged into them (clusterops_merge.go), then waits for its own apply. A
// customer already erased here is erased again (a retry after a failed
// purge purges again); an unknown one is 404 as in single-node mode, and
// so is one merged into another customer (its messages are the other's).
func (s *Store) eraseViaLog(ext string) error {
	if _, ok := s.cust.lookup(ext); !ok && (!s.Erased(ext) || s.mergedAway(ext)) {
		return errUnknown("customer", ext)
	}
	merged, err := s.mergedInto(ext)
	if err != nil {
		return err
	}
	fields := [][]byte{[]byte(ext)}
	for _, m := range merged {
		fields = append(fields, []byte(m))
	}
	purge := func(ctx context.Context, seq uint64) error {
		if err := s.ops.log.PurgeCustomer(ctx, ext, seq); err != nil {
			return fmt.Errorf("customer %q: the erasure is at stream sequence %d and every node applies it, but purging their messages from the stream failed (repeat the DELETE): %w", ext, seq, err)
		}
		return s.purgeMerged(ext, merged, nil, seq)
	}
	r, err := s.submitOp(OpCustomerErase, "", fields, purge)
	if err == nil || errors.Is(err, ErrNotFound) {
		// Merges the apply knew of and this node did not when it published.
		if perr := s.purgeMerged(ext, r.merged, merged, r.seq); perr != nil {
			return perr
		}
	}
	if errors.Is(err, ErrNotFound) {
		return nil // erased again: nothing left here, the purge was done
	}
	return err
}
