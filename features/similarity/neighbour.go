package similarity

import "sort"

// Neighbour is one scored association: a product and its score.
type Neighbour struct {
	Product uint32
	Score   float32
}

// TopK is a min-heap on Score bounded by k, keeping the k best of a stream
// (ties: the lower product id wins). Not safe for concurrent use.
type TopK []Neighbour

func less(a, b Neighbour) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Product > b.Product
}

// Push offers n, keeping at most the k best seen.
func (h *TopK) Push(n Neighbour, k int) {
	s := *h
	if len(s) < k {
		s = append(s, n)
		i := len(s) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !less(s[i], s[p]) {
				break
			}
			s[i], s[p] = s[p], s[i]
			i = p
		}
		*h = s
		return
	}
	if !less(s[0], n) {
		return
	}
	s[0] = n
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && less(s[l], s[m]) {
			m = l
		}
		if r < len(s) && less(s[r], s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}

// Sorted orders the kept items best first, in place, and returns them.
func (h TopK) Sorted() []Neighbour {
	sort.Slice(h, func(i, j int) bool { return less(h[j], h[i]) })
	return h
}
