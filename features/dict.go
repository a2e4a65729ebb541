package features

import "sync"

// dict maps external string ids to dense uint32 ids (roaring needs them) and
// back. Ids are assigned only by the store's single writer; lookups come
// from any goroutine. Safe for concurrent use.
type dict struct {
	mu  sync.RWMutex
	ids map[string]uint32
	ext []string // "" for an erased id
}

func newDict() *dict { return &dict{ids: make(map[string]uint32)} }

func (d *dict) lookup(s string) (uint32, bool) {
	d.mu.RLock()
	id, ok := d.ids[s]
	d.mu.RUnlock()
	return id, ok
}

func (d *dict) name(id uint32) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if int(id) < len(d.ext) {
		return d.ext[id]
	}
	return ""
}

func (d *dict) len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.ext)
}

// live returns how many ids map to an external id: those assigned, less
// those forgotten (erased, merged away).
func (d *dict) live() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.ids)
}

// assign returns s's id, creating it if needed; created tells the caller to
// persist the new mapping.
func (d *dict) assign(s string) (id uint32, created bool) {
	if id, ok := d.lookup(s); ok {
		return id, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.ids[s]; ok {
		return id, false
	}
	id = uint32(len(d.ext))
	d.ext = append(d.ext, s)
	d.ids[s] = id
	return id, true
}

// set restores a mapping read from the store.
func (d *dict) set(s string, id uint32) {
	d.mu.Lock()
	for int(id) >= len(d.ext) {
		d.ext = append(d.ext, "")
	}
	d.ext[id] = s
	d.ids[s] = id
	d.mu.Unlock()
}

// forget erases s's mapping (its id is never reused, so old log records
// cannot be attributed to a new customer with the same external id).
func (d *dict) forget(id uint32) {
	d.mu.Lock()
	if int(id) < len(d.ext) {
		delete(d.ids, d.ext[id])
		d.ext[id] = ""
	}
	d.mu.Unlock()
}

// names copies out the external ids of ids.
func (d *dict) names(ids []uint32, out []string) []string {
	d.mu.RLock()
	for _, id := range ids {
		if int(id) < len(d.ext) {
			out = append(out, d.ext[id])
		} else {
			out = append(out, "")
		}
	}
	d.mu.RUnlock()
	return out
}

// truncate drops ids >= n (a failed commit's assignments).
func (d *dict) truncate(n int) {
	d.mu.Lock()
	for i := n; i < len(d.ext); i++ {
		delete(d.ids, d.ext[i])
	}
	if n < len(d.ext) {
		d.ext = d.ext[:n]
	}
	d.mu.Unlock()
}
