package offer

import (
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// Records is where the service keeps its definitions ("offer" records), its
// shown and response logs and its erasure journal. features.Records
// (store.Records()) provides it; implementations must be safe for
// concurrent use.
type Records interface {
	Put(kind, id string, value []byte) error
	Delete(kind, id string) error
	List(kind string, fn func(id string, value []byte) error) error
	Append(kind string, entries [][]byte) (uint64, error)
	Scan(kind string, after uint64, fn func(seq uint64, value []byte) error) error
	DeleteEntries(kind string, seqs []uint64) error
	ReplaceEntries(kind string, entries map[uint64][]byte) error
	AddJournal(name string)
	Pending(name string) ([]string, error)
	Done(name, ext string) error
	// Erased reports whether a customer id was erased (and not written
	// since): such a customer is neither shown nor logged.
	Erased(ext string) bool
}

var _ Records = (*features.Records)(nil)

// Store is what the service reads and follows in the feature store: the
// model and catalog offers are targeted with, ids and the clock, and hooks
// to follow purchases and erasures. features.Store provides it; every
// method must be safe for concurrent use.
type Store interface {
	Model() *features.Model
	Catalog() *features.Catalog
	CustomerID(ext string) (uint32, bool)
	ProductID(ext string) (uint32, bool)
	ProductNames(ids []uint32, out []string) []string
	Now() time.Time
	AddHooks(h features.Hooks)
}

var _ Store = (*features.Store)(nil)

// Profiles is what the service reads of customer value and segments: the
// profile eligibility rules are evaluated on, the segments answers are
// counted on, and the rule-cost check. crm.Service provides it; every
// method must be safe for concurrent use.
type Profiles interface {
	RuleEnv(c uint32) map[string]any
	CheckRuleCost(field string, r *crm.Rule) error
	SegmentsOf(c uint32) []string
}

var _ Profiles = (*crm.Service)(nil)

// Ranker is what the service needs from ranking: recommendation ids (one
// sequence with the lists'), the association prior and audiences
// (audience.go). recommend.Engine provides it.
type Ranker interface {
	NewRecommendationID() string
	Associations(m *features.Model, c uint32, isTarget []bool, groups [][]uint32, maxHistory, maxNeighbours int, out []float64) []float64
	Audience(q recommend.AudienceQuery) (recommend.Audience, error)
}

var _ Ranker = (*recommend.Engine)(nil)

// offerJournal is the offers' erasure journal (features/erasure.go).
const offerJournal = "offers"
