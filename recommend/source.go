package recommend

import (
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Source is what ranking needs from the feature store. Implementations must
// be safe for concurrent use; the returned Model and Catalog are immutable.
type Source interface {
	Model() *features.Model
	Catalog() *features.Catalog
	Types() *features.TypeTable
	CustomerID(ext string) (uint32, bool)
	ProductID(ext string) (uint32, bool)
	ProductNames(ids []uint32, out []string) []string
	// HistoryView is c's interactions, oldest first; read-only.
	HistoryView(c uint32) []features.Interaction
	PopularSince(since time.Time, b features.Basis) []similarity.Neighbour
	Now() time.Time
}

var _ Source = (*features.Store)(nil)
