package features

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// TypeTable maps event type codes (as stored in the log) to their names and
// configured weights. Immutable once published; safe for concurrent use.
type TypeTable struct {
	byName map[string]uint8
	names  [256]string
	conf   [256]EventType
	known  [256]bool
}

// Code returns the code of a configured type.
func (t *TypeTable) Code(name string) (uint8, bool) {
	c, ok := t.byName[name]
	return c, ok && t.known[c]
}

// Name returns the name of code c.
func (t *TypeTable) Name(c uint8) string { return t.names[c] }

// Weight returns the configured weight of code c for an event of value v
// (0 for a type no longer configured), negative for a negative signal
// (negative.go).
func (t *TypeTable) Weight(c uint8, v float64) float64 {
	if !t.known[c] {
		return 0
	}
	return weightOf(&t.conf[c], v)
}

// IsPurchase reports whether code c is a purchase: a configured type of
// class bought whose value is revenue, not a weight (a rating is not
// revenue). Customer value counts these.
func (t *TypeTable) IsPurchase(c uint8) bool {
	return t.known[c] && t.conf[c].Class == ClassBought && !t.conf[c].UseValue
}

// Configured returns the configured type names, sorted.
func (t *TypeTable) Configured() []string {
	m := map[string]EventType{}
	for n, c := range t.byName {
		if t.known[c] {
			m[n] = t.conf[c]
		}
	}
	return sortedTypeNames(m)
}

func (s *Store) loadTypes() error {
	tt := &TypeTable{byName: map[string]uint8{}}
	err := s.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixType), PrefetchValues: true})
		used := [256]bool{}
		for it.Rewind(); it.Valid(); it.Next() {
			name := string(it.Item().Key()[len(prefixType):])
			v, err := it.Item().ValueCopy(nil)
			if err != nil || len(v) != 1 {
				it.Close()
				return fmt.Errorf("cannot read event type %q: %w", name, errCorrupt)
			}
			tt.byName[name] = v[0]
			tt.names[v[0]] = name
			used[v[0]] = true
		}
		it.Close()
		for _, name := range sortedTypeNames(s.opts.EventTypes) {
			if _, ok := tt.byName[name]; ok {
				continue
			}
			code := -1
			for c := 1; c < 256; c++ {
				if !used[c] {
					code = c
					break
				}
			}
			if code < 0 {
				return fmt.Errorf("%w: too many event types", ErrInvalid)
			}
			used[code] = true
			tt.byName[name] = uint8(code)
			tt.names[code] = name
			if err := txn.Set(keyStr(prefixType, name), []byte{uint8(code)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load event types: %w", classifyErr(err))
	}
	for name, et := range s.opts.EventTypes {
		c := tt.byName[name]
		tt.conf[c] = et
		tt.known[c] = true
	}
	s.types.Store(tt)
	return nil
}
