package features

import (
	"fmt"
	"time"

	"github.com/affinity-rec/affinity/features/similarity"
)

// Basis says which events define "customers of a product" for
// product-to-product associations.
type Basis uint8

const (
	BasisBought Basis = iota
	BasisViewed
	BasisAny
	NumBases
)

func (b Basis) String() string {
	switch b {
	case BasisBought:
		return "bought"
	case BasisViewed:
		return "viewed"
	case BasisAny:
		return "any"
	}
	return fmt.Sprintf("basis(%d)", b)
}

// ParseBasis reads "bought", "viewed" or "any".
func ParseBasis(s string) (Basis, error) {
	switch s {
	case "bought":
		return BasisBought, nil
	case "viewed":
		return BasisViewed, nil
	case "any":
		return BasisAny, nil
	}
	return 0, &FieldError{Field: "basis", Msg: fmt.Sprintf("must be bought, viewed or any, not %q", s)}
}

func (b Basis) has(c Class) bool {
	// Negative classes are on no basis (negative.go).
	return b == BasisAny && c.positive() || (b == BasisBought && c == ClassBought) || (b == BasisViewed && c == ClassViewed)
}

// Model is the derived, read-only association state: product neighbour
// lists and popularity per basis. A published Model is never changed, so it
// is safe for concurrent use without locks; a refresh publishes a new one.
type Model struct {
	// Neighbours[b][p] is product p's list, best first. With SimEASE the
	// list ends with negative weights (products that go with p less than
	// chance): a ranking sums them, a "related" list stops before them.
	Neighbours [NumBases][][]similarity.Neighbour
	// Popular[b] is every product with customers on basis b, most customers first.
	Popular [NumBases][]similarity.Neighbour
	// Support[b][p] is how many distinct customers product p has on basis b.
	Support [NumBases][]uint32
	// Customers[b] is how many distinct customers have any event on basis b.
	Customers [NumBases]int
	Options   NeighbourOptions
	// Tuned is what the self-tuner chose (tune.go), nil when it is off or
	// has not run; Options stay the configured ones.
	Tuned *Tuning
	// Seq is the log sequence whose changes the lists include.
	Seq   uint64
	Built time.Time
	// BuildDuration is how long the last (partial or full) build took.
	BuildDuration time.Duration
	// dense[b] says basis b's lists are EASE's (SimEASE under its cap).
	dense [NumBases]bool
	// anyAlias says the "any" lists are the "bought" lists (no views or
	// carts): one copy in memory and in the snapshot.
	anyAlias bool
}

// NeighboursOf returns p's neighbour list on basis b (nil when none).
func (m *Model) NeighboursOf(b Basis, p uint32) []similarity.Neighbour {
	if int(p) < len(m.Neighbours[b]) {
		return m.Neighbours[b][p]
	}
	return nil
}

// SupportOf returns how many customers product p has on basis b.
func (m *Model) SupportOf(b Basis, p uint32) uint32 {
	if int(p) < len(m.Support[b]) {
		return m.Support[b][p]
	}
	return 0
}
