package features

import "github.com/affinity-rec/affinity/features/similarity"

// popularOf lists the products with a positive count, most first (ties:
// the lower product id).
func popularOf(counts []uint32) []similarity.Neighbour {
	k := 0
	for _, n := range counts {
		if n > 0 {
			k++
		}
	}
	pop := make([]similarity.Neighbour, 0, k) // cached lists keep no slack
	for p, n := range counts {
		if n > 0 {
			pop = append(pop, similarity.Neighbour{Product: uint32(p), Score: float32(n)})
		}
	}
	return similarity.TopK(pop).Sorted()
}

// finishModel fills m's supports, customer counts and popularity from x and
// returns the product count it used. It counts from the customers'
// histories (countCustomers), which hold exactly the pairs the product
// bitmaps do: one pass over the events instead of OR-ing every product's
// bitmaps (3 s of a 17 s restart at 10M events).
func finishModel(x *index, m *Model, nprod int) int {
	x.mu.RLock()
	if n := len(x.prodCust[0]); n > nprod {
		nprod = n
	}
	x.mu.RUnlock()
	sup, customers := countCustomers(x, nprod, 0, [NumBases]bool{BasisBought: true, BasisViewed: true, BasisAny: true})
	for b := Basis(0); b < NumBases; b++ {
		m.Support[b] = sup[b]
		m.Customers[b] = customers[b]
		m.Popular[b] = popularOf(sup[b])
		if len(m.Neighbours[b]) < nprod {
			l := make([][]similarity.Neighbour, nprod)
			copy(l, m.Neighbours[b])
			m.Neighbours[b] = l
		}
	}
	return nprod
}

// countCustomers counts, for each basis in want, every product's distinct
// customers among the events at or after since (unix seconds), and the
// customers with any such event. It holds x.mu for reading only to copy one
// slice of customers' history headers at a time, and counts without it: a
// history only grows by append or is replaced whole (historyView), so the
// entries below a copied length do not change. Counting under the lock held
// the writer, and every request queued behind it, for as long as 512
// customers' events took: tens of milliseconds when they are the long
// histories of a storefront's most active customers (docs/performance.md,
// "Session 8: tail latency"). The counts of different slices may be a few
// events apart, as those of a partial refresh are.
func countCustomers(x *index, nprod int, since int64, want [NumBases]bool) (sup [NumBases][]uint32, customers [NumBases]int) {
	var seen [NumBases][]uint32
	for b := range sup {
		if want[b] {
			sup[b] = make([]uint32, nprod)
			// seen[b][p] is 1 + the last customer counted for p, so a
			// product the customer has several events for counts once.
			seen[b] = make([]uint32, nprod)
		}
	}
	x.mu.RLock()
	ncust := len(x.hist)
	x.mu.RUnlock()
	const slice = lockSpan
	hs := make([][]Interaction, 0, slice)
	for lo := 0; lo < ncust; lo += slice {
		hs = hs[:0]
		x.mu.RLock()
		hs = appendHeaders(hs, x, lo, min(lo+slice, len(x.hist)), true, nil)
		x.mu.RUnlock()
		for i, h := range hs {
			mark := uint32(lo+i) + 1
			var has [NumBases]bool
			for _, in := range h {
				p := in.Product
				if int(p) >= nprod || int64(in.TS) < since {
					continue
				}
				for b := Basis(0); b < NumBases; b++ {
					if want[b] && b.has(in.Class) && seen[b][p] != mark {
						seen[b][p] = mark
						sup[b][p]++
						has[b] = true
					}
				}
			}
			for b, ok := range has {
				if ok {
					customers[b]++
				}
			}
		}
	}
	return sup, customers
}
