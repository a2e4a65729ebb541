package recommend

import (
	"sync"

	"github.com/affinity-rec/affinity/features"
)

// personalCache keeps recent personal lists of customers with long
// histories, whose scoring is most of a personal request's cost (tens of
// thousands of neighbour pairs). A storefront asks for the same customer on
// every page of a visit, and between two of their events and two model
// refreshes the answer cannot change, so an entry is valid exactly while
// the model, the catalogue and the customer's history length are the ones
// it was computed from: a new event, a refresh or a catalogue change makes
// it miss. Requests with experiment params or a time window are not cached.
// Safe for concurrent use.
type personalCache struct {
	shards [16]cacheShard
	per    int
}

type cacheShard struct {
	mu sync.Mutex
	m  map[personalKey]personalEntry
}

type personalKey struct {
	cust        uint32
	limit       int
	filter      features.Filter
	ctx         string
	includeSeen bool
}

type personalEntry struct {
	model   *features.Model
	cat     *features.Catalog
	histLen int
	list    List
}

// cacheMinHistory is the history length from which lists are cached, and
// then only when the history is not thin (blendSegments): a thin one's list
// mixes in segment products, which change without the history changing.
// Eight events, not the 32 it was: at 10M events and 100k products a
// customer's 14 events cost 20 µs of scoring, and most customers have
// fewer than 32.
const cacheMinHistory = 8

// cacheable reports whether q's list may be cached (see personalCache and
// cacheMinHistory), and its key.
func (e *Engine) cacheable(q personalQuery) (personalKey, bool) {
	r := q.r
	if e.cache == nil || len(r.Params) != 0 || r.Window != 0 || r.depth != 0 || !r.Merch.isZero() || r.Filter.Exclude != nil || len(q.hist) < cacheMinHistory || q.distinct <= thinHistory {
		return personalKey{}, false
	}
	return personalKey{cust: q.cust, limit: q.k, filter: r.Filter, ctx: r.ContextProduct, includeSeen: r.IncludeSeen}, true
}

// cachedPersonal is q's list as last computed, if still valid.
func (e *Engine) cachedPersonal(q personalQuery) (List, bool) {
	key, ok := e.cacheable(q)
	if !ok {
		return List{}, false
	}
	return e.cache.get(key, q.m, q.cat, len(q.hist))
}

// cachePersonal keeps l, computed for q, when q is cacheable.
func (e *Engine) cachePersonal(q personalQuery, l List) {
	if key, ok := e.cacheable(q); ok {
		e.cache.put(key, q.m, q.cat, len(q.hist), l)
	}
}

func newPersonalCache(entries int) *personalCache {
	c := &personalCache{per: max(1, entries/16)}
	for i := range c.shards {
		c.shards[i].m = make(map[personalKey]personalEntry)
	}
	return c
}

func (c *personalCache) get(k personalKey, m *features.Model, cat *features.Catalog, histLen int) (List, bool) {
	sh := &c.shards[k.cust%16]
	sh.mu.Lock()
	e, ok := sh.m[k]
	sh.mu.Unlock()
	if !ok || e.model != m || e.cat != cat || e.histLen != histLen {
		return List{}, false
	}
	return e.list, true
}

func (c *personalCache) put(k personalKey, m *features.Model, cat *features.Catalog, histLen int, l List) {
	sh := &c.shards[k.cust%16]
	sh.mu.Lock()
	if len(sh.m) >= c.per {
		// Evict an arbitrary entry: map order is random enough for a cache
		// whose entries all expire at the next refresh anyway.
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = personalEntry{model: m, cat: cat, histLen: histLen, list: l}
	sh.mu.Unlock()
}
