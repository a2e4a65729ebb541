package recommend

import (
	"slices"
	"sync"

	"github.com/affinity-rec/affinity/features"
)

// exclusionCache keeps, for customers with long histories, the distinct
// products markExcluded marks for a prefix of their history, so that a
// request walks only the events since instead of the whole history. Under
// the mixed load the customers asked for most are the ones that get the
// most events: after 30 s at 5.5k req/s the hottest had 17,762 events (and
// ~100 distinct products), walked on each of their personal requests.
//
// It is exact: a history only grows at its end (features' index appends;
// erasing and merging give the customer a new slice), so an entry is used
// only while the history is the same array (its first element's address)
// and at least as long; otherwise the whole history is walked and the entry
// replaced. An entry holds that address as a pointer, so the array cannot
// be freed and reused while the entry names it. Safe for concurrent use:
// entries are never changed, only replaced.
type exclusionCache struct {
	shards [16]exclShard
	per    int
}

type exclShard struct {
	mu sync.Mutex
	m  map[exclKey]*exclEntry
}

type exclKey struct {
	cust        uint32
	includeSeen bool
}

type exclEntry struct {
	base  *features.Interaction // &hist[0] of the history it was taken from
	n     int                   // how many leading events it covers
	prods []uint32              // what they mark, in first-marked order; clipped
}

// exclMinHistory is the history length from which the distinct products
// are cached: shorter histories are walked faster than a cache lookup.
const exclMinHistory = 256

// exclCacheEntries bounds the cache: ~100 distinct products a customer,
// so about 4 MB.
const exclCacheEntries = 10000

func newExclusionCache(entries int) *exclusionCache {
	c := &exclusionCache{per: max(1, entries/16)}
	for i := range c.shards {
		c.shards[i].m = make(map[exclKey]*exclEntry)
	}
	return c
}

func (c *exclusionCache) get(k exclKey) *exclEntry {
	sh := &c.shards[k.cust%16]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[k]
}

func (c *exclusionCache) put(k exclKey, en *exclEntry) {
	sh := &c.shards[k.cust%16]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= c.per {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = en
}

// markCustomerExcluded is markExcluded(sc, hist, includeSeen) for customer
// cust, walking only the events an exclusionCache entry does not cover.
func (e *Engine) markCustomerExcluded(sc *scratch, cust uint32, hist []features.Interaction, includeSeen bool) {
	if e.excl == nil || len(hist) < exclMinHistory {
		e.markExcluded(sc, hist, includeSeen)
		return
	}
	key := exclKey{cust: cust, includeSeen: includeSeen}
	en := e.excl.get(key)
	if en == nil || en.base != &hist[0] || en.n > len(hist) {
		en = &exclEntry{base: &hist[0]}
	}
	for _, p := range en.prods {
		e.markOne(sc, p)
	}
	if en.n == len(hist) {
		return
	}
	prods := en.prods
	for i := en.n; i < len(hist); i++ {
		in := &hist[i]
		if includeSeen && !alwaysExcluded(in) {
			continue
		}
		if !sc.excluded(in.Product) && (int(in.Product) < len(sc.mark) || !slices.Contains(prods, in.Product)) {
			// Appending to a clipped slice copies: readers of the
			// old entry keep theirs.
			prods = append(prods, in.Product)
		}
		e.markOne(sc, in.Product)
	}
	e.excl.put(key, &exclEntry{base: en.base, n: len(hist), prods: slices.Clip(prods)})
}
