package features

// CoBought returns how many customers bought both products a and b, and
// how many bought a: the conditional purchase rate P(b | a) behind
// potential value. Bitmap intersections are the cheap way to count one
// specific pair.
func (s *Store) CoBought(a, b uint32) (both, ofA int) {
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	bm := x.prodCust[ClassBought]
	if int(a) >= len(bm) || bm[a] == nil {
		return 0, 0
	}
	ofA = int(bm[a].GetCardinality())
	if int(b) >= len(bm) || bm[b] == nil {
		return 0, ofA
	}
	return int(bm[a].AndCardinality(bm[b])), ofA
}
