package experiment

import "github.com/affinity-rec/affinity/features"

// Records is where the service keeps its definitions ("experiment"
// records), its exposure and outcome logs and its erasure journal.
// features.Records (store.Records()) provides it; implementations must be
// safe for concurrent use.
type Records interface {
	Put(kind, id string, value []byte) error
	Delete(kind, id string) error
	List(kind string, fn func(id string, value []byte) error) error
	Append(kind string, entries [][]byte) (uint64, error)
	Scan(kind string, after uint64, fn func(seq uint64, value []byte) error) error
	DeleteEntries(kind string, seqs []uint64) error
	AddJournal(name string)
	Pending(name string) ([]string, error)
	Done(name, ext string) error
	// Erased reports whether a customer id was erased (and not written
	// since): no exposure is logged under it.
	Erased(ext string) bool
}

var _ Records = (*features.Records)(nil)

// Store is what the service follows in the feature store: its committed
// events (outcomes) and erasures through hooks, and the internal ids
// exposures are logged under. features.Store provides it; hooks must run
// after the events they report are committed.
type Store interface {
	AddHooks(h features.Hooks)
	ProductID(ext string) (uint32, bool)
}

var _ Store = (*features.Store)(nil)

// experimentJournal is the experiments' erasure journal (features/erasure.go).
const experimentJournal = "experiments"
