package merch

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
)

// recordKind is the records kind rules are stored under.
const recordKind = "merch_rule"

// Records is the storage rules need; features.Records (store.Records())
// provides it.
type Records interface {
	Put(kind, id string, value []byte) error
	Get(kind, id string) ([]byte, error)
	Delete(kind, id string) error
	List(kind string, fn func(id string, value []byte) error) error
}

// Catalogue gives the catalogue a new rule's cost is measured on.
type Catalogue interface{ Catalog() *features.Catalog }

// Rules are the stored merchandising rules. Every lookup reads the record,
// so that a rule written on another node (cluster mode) or just deleted is
// what the next request sees; compiled rules are kept while their source is
// unchanged. Safe for concurrent use.
type Rules struct {
	rec Records
	cat Catalogue
	mu  sync.Mutex
	cmp map[string]*Compiled
}

// New returns the rules stored in rec.
func New(rec Records, cat Catalogue) *Rules {
	return &Rules{rec: rec, cat: cat, cmp: map[string]*Compiled{}}
}

// Named is a rule and its name.
type Named struct {
	Name string `json:"name"`
	Rule
}

// Put validates d (the bounds of profile rules, and its cost measured on
// the catalogue) and stores it under name.
func (s *Rules) Put(name string, d Rule) (Rule, error) {
	if err := crm.ValidateSegmentName(name); err != nil {
		return d, err
	}
	r, err := d.Compile()
	if err != nil {
		return d, err
	}
	if err := crm.CheckProductRuleCost(s.cat.Catalog(), "when", r); err != nil {
		return d, err
	}
	body, err := json.Marshal(d)
	if err != nil {
		return d, fmt.Errorf("cannot encode rule: %w", err)
	}
	return d, s.rec.Put(recordKind, name, body)
}

// Get returns rule name; an error wrapping features.ErrNotFound when absent.
func (s *Rules) Get(name string) (Rule, error) {
	body, err := s.rec.Get(recordKind, name)
	if err != nil {
		return Rule{}, notFound(name, err)
	}
	var d Rule
	if err := json.Unmarshal(body, &d); err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", name, err)
	}
	return d, nil
}

// notFound words a missing rule as every 404 is worded (unknown rule
// "x"); other errors of the record set pass as they are.
func notFound(name string, err error) error {
	if errors.Is(err, features.ErrNotFound) {
		return features.Unknown("rule", name)
	}
	return err
}

// Delete removes rule name.
func (s *Rules) Delete(name string) error {
	if err := s.rec.Delete(recordKind, name); err != nil {
		return notFound(name, err)
	}
	s.mu.Lock()
	delete(s.cmp, name)
	s.mu.Unlock()
	return nil
}

// List returns every rule, by name.
func (s *Rules) List() ([]Named, error) {
	out := []Named{}
	err := s.rec.List(recordKind, func(id string, v []byte) error {
		var d Rule
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("rule %q: %w", id, err)
		}
		out = append(out, Named{Name: id, Rule: d})
		return nil
	})
	return out, err
}

// Compiled is a stored rule ready to apply. Safe for concurrent use.
type Compiled struct {
	Name string
	Rule
	rule *crm.Rule
	mu   sync.Mutex
	cat  *features.Catalog
	n    int
	hits *roaring.Bitmap
}

// Compiled returns rule name compiled; an error wrapping
// features.ErrNotFound when there is none.
func (s *Rules) Compiled(name string) (*Compiled, error) {
	d, err := s.Get(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c := s.cmp[name]
	s.mu.Unlock()
	if c != nil && c.Rule == d {
		return c, nil
	}
	r, err := d.Compile()
	if err != nil {
		return nil, fmt.Errorf("stored rule %q: %w", name, err)
	}
	c = &Compiled{Name: name, Rule: d, rule: r}
	s.mu.Lock()
	s.cmp[name] = c
	s.mu.Unlock()
	return c, nil
}

// Matches is the set of the n products of cat the rule matches; names
// gives the external ids by internal id and is only called when cat or n
// is new to the rule (one evaluation per product per catalogue version or
// new product). The bitmap must not be changed.
func (c *Compiled) Matches(cat *features.Catalog, n int, names func() []string) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat != cat || c.n != n || c.hits == nil {
		c.hits, c.cat, c.n = crm.MatchProducts(cat, c.rule, names()), cat, n
	}
	return c.hits
}
