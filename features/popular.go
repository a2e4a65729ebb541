package features

import (
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features/similarity"
)

// windowCache memoises windowed popularity: counting it scans every
// history, so one computation serves all requests for a few seconds.
type windowCache struct {
	mu      sync.Mutex
	entries map[windowKey]windowEntry
}

type windowKey struct {
	since int64
	basis Basis
}

type windowEntry struct {
	at   time.Time
	seq  uint64 // the index's log sequence when counted
	list []similarity.Neighbour
}

const windowCacheTTL = 10 * time.Second

// PopularSince returns the products with the most distinct customers on
// basis b among events at or after since, most first. since is rounded down
// to the minute so that requests a few seconds apart share one computation.
// The returned slice must not be changed.
func (s *Store) PopularSince(since time.Time, b Basis) []similarity.Neighbour {
	key := windowKey{since: since.Unix() / 60 * 60, basis: b}
	now := time.Now()
	// In stream-tick mode (cluster) an entry serves only the state it was
	// counted from: a list a few seconds stale would differ between nodes
	// that applied the same events at different moments.
	exact := s.tick.on.Load()
	seq := s.idx.seqNow()
	s.windows.mu.Lock()
	if s.windows.entries == nil {
		s.windows.entries = map[windowKey]windowEntry{}
	}
	if e, ok := s.windows.entries[key]; ok && (exact && e.seq == seq || !exact && now.Sub(e.at) < windowCacheTTL) {
		s.windows.mu.Unlock()
		return e.list
	}
	s.windows.mu.Unlock()

	var want [NumBases]bool
	want[b] = true
	counts, _ := countCustomers(s.idx, s.prod.len(), key.since, want)
	list := popularOf(counts[b])
	if exact && s.idx.seqNow() != seq {
		return list // events came while counting: the list is of no one state
	}
	s.windows.mu.Lock()
	for k, e := range s.windows.entries {
		if now.Sub(e.at) >= windowCacheTTL {
			delete(s.windows.entries, k)
		}
	}
	s.windows.entries[key] = windowEntry{at: now, seq: seq, list: list}
	s.windows.mu.Unlock()
	return list
}
