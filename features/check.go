package features

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"
)

// CheckReport says what Check found. A consistent store has no problem:
// every event's customer and product resolve in the id dictionaries, the
// two directions of each dictionary agree, and (Store.Check) every
// customer's history in memory has as many events as the log.
type CheckReport struct {
	Events    int `json:"events"`
	Customers int `json:"customers"`
	Products  int `json:"products"`
	// OrphanEvents are events whose customer or product id has no
	// dictionary entry: the next new customer (product) would be given
	// that id and inherit them.
	OrphanEvents int `json:"orphan_events"`
	// DictMismatches are dictionary entries without their reverse entry
	// (or with another one).
	DictMismatches int `json:"dict_mismatches"`
	// CountMismatches are customers whose history in memory does not
	// have the log's number of events.
	CountMismatches int `json:"count_mismatches"`
	// Examples describe the first few problems.
	Examples []string `json:"examples,omitempty"`
}

const maxCheckExamples = 5

func (r *CheckReport) problem(format string, args ...any) {
	if len(r.Examples) < maxCheckExamples {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

// Err is nil for a consistent store, else an error naming the problems.
func (r *CheckReport) Err() error {
	if r.OrphanEvents == 0 && r.DictMismatches == 0 && r.CountMismatches == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d events with an unknown customer or product, %d dictionary entries without their reverse, %d customers whose history differs from the log (%s)",
		errBackupInconsistent, r.OrphanEvents, r.DictMismatches, r.CountMismatches, strings.Join(r.Examples, "; "))
}

// Check reads the whole store at one moment between two commits and
// reports whether it is consistent (see CheckReport). It reads every key
// once and holds up writes only while it opens its transaction.
func (s *Store) Check() (CheckReport, error) {
	var rep CheckReport
	var txn *badger.Txn
	var hist []int
	if err := s.do(func() error {
		txn = s.db.NewTransaction(false)
		s.idx.mu.RLock()
		hist = make([]int, len(s.idx.hist))
		for c, h := range s.idx.hist {
			hist[c] = len(h)
		}
		s.idx.mu.RUnlock()
		return nil
	}); err != nil {
		return rep, err
	}
	defer txn.Discard()
	tt := s.types.Load()
	logged := make([]int, len(hist))
	err := checkDB(txn, func(c uint32, typ uint8) {
		if !tt.known[typ] {
			return // not in the index (a type no longer configured)
		}
		for int(c) >= len(logged) {
			logged = append(logged, 0)
		}
		logged[c]++
	}, &rep)
	if err != nil {
		return rep, fmt.Errorf("cannot check the store: %w", err)
	}
	for c := range max(len(hist), len(logged)) {
		var h, l int
		if c < len(hist) {
			h = hist[c]
		}
		if c < len(logged) {
			l = logged[c]
		}
		if h != l {
			rep.CountMismatches++
			rep.problem("customer %d (%q) has %d events in memory, %d in the log", c, s.cust.name(uint32(c)), h, l)
		}
	}
	return rep, nil
}

// checkDB reads the dictionaries and the log in txn into rep and calls
// count (when not nil) with each logged event's customer and type.
func checkDB(txn *badger.Txn, count func(cust uint32, typ uint8), rep *CheckReport) error {
	custs, err := checkDict(txn, prefixCustDict, prefixCustRev, "customer", rep)
	if err != nil {
		return err
	}
	prods, err := checkDict(txn, prefixProdDict, prefixProdRev, "product", rep)
	if err != nil {
		return err
	}
	rep.Customers, rep.Products = int(custs.GetCardinality()), int(prods.GetCardinality())
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLog), PrefetchValues: true, PrefetchSize: 1000})
	defer it.Close()
	var le logEvent
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		key := binary.BigEndian.Uint64(item.Key()[len(prefixLog):])
		err := item.Value(func(v []byte) error {
			if len(v) > 0 && (v[0] == recErase || v[0] == recMerge) {
				return nil
			}
			return eachLogEvent(v, key, &le, func(seq uint64, e *logEvent) error {
				rep.Events++
				if !custs.Contains(e.Cust) || !prods.Contains(e.Prod) {
					rep.OrphanEvents++
					rep.problem("event %d: customer %d or product %d has no dictionary entry", seq, e.Cust, e.Prod)
				}
				if count != nil {
					count(e.Cust, e.Type)
				}
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("log record %d: %w", key, err)
		}
	}
	return nil
}

// checkDict returns the ids whose forward (external -> id) and reverse
// entries agree, and counts the entries that do not.
func checkDict(txn *badger.Txn, fwd, rev, what string, rep *CheckReport) (*roaring.Bitmap, error) {
	byID := map[uint32]string{}
	err := eachKV(txn, fwd, func(k, v []byte) {
		id, ok := u32be(v)
		if !ok {
			rep.DictMismatches++
			rep.problem("%s %q: malformed id", what, k)
			return
		}
		byID[id] = string(k)
	})
	if err != nil {
		return nil, err
	}
	ok := roaring.New()
	err = eachKV(txn, rev, func(k, v []byte) {
		id, good := u32be(k)
		ext, has := byID[id]
		if !good || !has || ext != string(v) {
			rep.DictMismatches++
			rep.problem("%s %x: reverse entry %q has no matching forward entry", what, k, v)
			return
		}
		delete(byID, id)
		ok.Add(id)
	})
	for id, ext := range byID {
		rep.DictMismatches++
		rep.problem("%s %q (id %d) has no reverse entry", what, ext, id)
	}
	return ok, err
}

// eachKV calls fn with the key (without prefix) and value of every key
// under prefix; both are valid only during the call.
func eachKV(txn *badger.Txn, prefix string, fn func(k, v []byte)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true, PrefetchSize: 1000})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := bytes.TrimPrefix(it.Item().Key(), []byte(prefix))
		if err := it.Item().Value(func(v []byte) error { fn(k, v); return nil }); err != nil {
			return err
		}
	}
	return nil
}
