package features

import (
	"encoding/json"
	"errors"
	"fmt"
)

// applyOpLocked performs op on this node: writer goroutine only, inside
// ApplyOp's do. It returns the op's result (whose err is the op's own
// refusal, the same on every node), the record changes to tell watchers,
// and an error only for a failure of this node (storage), which stops the
// apply. Fields were counted by DecodeOp; their content is checked here,
// and a body that does not decode is a refusal of the op, not a stop: the
// receiving node validated it, so only a bug or a hand-written message
// gets there, and every node refuses it alike.
func (s *Store) applyOpLocked(op Op) (opResult, []Change, error) {
	f := op.Fields
	switch op.Kind {
	case OpProductsPut:
		var ps map[string]Product
		if err := json.Unmarshal(f[0], &ps); err != nil {
			return refused("products", err), nil, nil
		}
		return opResult{}, nil, s.writeProducts(ps)
	case OpProductPatch:
		var pp ProductPatch
		if err := json.Unmarshal(f[1], &pp); err != nil {
			return refused("product patch", err), nil, nil
		}
		return s.applyProductPatch(string(f[0]), pp)
	case OpProductDelete:
		return s.applyProductDelete(string(f[0]))
	case OpCustomerPut:
		var c Customer
		if err := json.Unmarshal(f[1], &c); err != nil {
			return refused("customer", err), nil, nil
		}
		ext := string(f[0])
		return opResult{}, nil, s.writeCustomers(map[string]Customer{ext: c}, map[string][]byte{ext: f[1]})
	case OpCustomerPatch:
		var attrs map[string]any
		if err := json.Unmarshal(f[1], &attrs); err != nil {
			return refused("customer patch", err), nil, nil
		}
		return s.applyCustomerPatch(string(f[0]), attrs)
	case OpCustomerErase:
		return s.applyEraseOp(f) // with the ids merged into them (clusterops_merge.go)
	case OpCustomerMerge:
		return s.applyMergeOp(string(f[0]), string(f[1]))
	case OpRecordPut, OpRecordDelete, OpRecordAppend:
		return s.applyRecordOp(op)
	}
	// DecodeOp knows no other kind; one added there must be added here.
	return opResult{}, nil, fmt.Errorf("op kind %s has no apply", op.Kind)
}

func refused(what string, err error) opResult {
	return opResult{err: &FieldError{Field: what, Msg: "the log message's body does not decode: " + err.Error()}}
}

// applyProductPatch merges pp into the product as it is at this point of
// the stream: two PATCHes through different nodes both land, in order.
func (s *Store) applyProductPatch(ext string, pp ProductPatch) (opResult, []Change, error) {
	cur, _, err := s.GetProduct(ext)
	if err != nil {
		return opResult{err: err}, nil, nil
	}
	p := pp.apply(cur)
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if err := ValidateProduct(&p); err != nil {
		return opResult{err: err}, nil, nil
	}
	if err := s.writeProducts(map[string]Product{ext: p}); err != nil {
		return opResult{}, nil, err
	}
	return opResult{product: p}, nil, nil
}

func (s *Store) applyProductDelete(ext string) (opResult, []Change, error) {
	id, err := s.deletableProduct(ext)
	if err != nil {
		return opResult{err: err}, nil, nil
	}
	return opResult{}, nil, s.deleteProductLocked(id)
}

func (s *Store) applyCustomerPatch(ext string, attrs map[string]any) (opResult, []Change, error) {
	id, ok := s.cust.lookup(ext)
	if !ok || s.Erased(ext) {
		return opResult{err: errUnknown("customer", ext)}, nil, nil
	}
	merged := mergeAttributes(s.CustomerAttributes(id), attrs)
	if err := ValidateAttributes(merged); err != nil {
		return opResult{err: err}, nil, nil
	}
	c := Customer{Attributes: merged}
	body, err := json.Marshal(c)
	if err != nil {
		return opResult{err: &FieldError{Field: "attributes", Msg: "cannot be encoded: " + err.Error()}}, nil, nil
	}
	if err := s.writeCustomers(map[string]Customer{ext: c}, map[string][]byte{ext: body}); err != nil {
		return opResult{}, nil, err
	}
	return opResult{attrs: merged}, nil, nil
}

// applyRecordOp writes a record op through the local record writes and
// names the change for the watchers.
func (s *Store) applyRecordOp(op Op) (opResult, []Change, error) {
	r := &Records{s: s}
	f := op.Fields
	kind := string(f[0])
	switch op.Kind {
	case OpRecordPut:
		ch := Change{Kind: kind, ID: string(f[1]), Seq: s.ops.applying}
		return opResult{}, []Change{ch}, r.putLocked(kind, ch.ID, f[2])
	case OpRecordDelete:
		ch := Change{Kind: kind, ID: string(f[1]), Deleted: true, Seq: s.ops.applying}
		err := r.deleteLocked(kind, ch.ID)
		if errors.Is(err, ErrNotFound) {
			return opResult{err: err}, nil, nil
		}
		return opResult{}, []Change{ch}, err
	default: // OpRecordAppend
		entries := make([][]byte, len(f)-1)
		for i := range entries {
			entries[i] = append([]byte(nil), f[i+1]...)
		}
		first, err := r.appendLocked(kind, entries)
		if err != nil {
			return opResult{}, nil, err
		}
		return opResult{first: first}, []Change{{Kind: kind, First: first, Entries: entries, Seq: s.ops.applying}}, nil
	}
}
